// Parses what a service's listener does before HTTP or TCP: tls, proxyProtocol, redirects, HSTS.
#pragma once

#include <string>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace readygate {

/// Reads `tls`, `proxyProtocol`, `sendProxyProtocol`, `redirectToHttps` and `hsts` of one
/// service from `map` into `service` (mode already read), with the checks that tie them
/// to the mode and to each other.
void parseListenerOptions(MapReader& map, ConfigErrors& errors, ServiceConfig& service);

}  // namespace readygate
