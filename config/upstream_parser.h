// Parses how a service reaches its backends beyond TCP: upstreamProtocol, upstreamTls.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace readygate {

/// Reads `upstreamProtocol`, `retryUnprocessedStreams` and `upstreamTls` of one service
/// from `map` into `service` (its mode and sendProxyProtocol already read).
void parseUpstreamOptions(MapReader& map, ConfigErrors& errors, ServiceConfig& service);
/// `upstreamTls` alone.
void parseUpstreamTls(MapReader& map, ConfigErrors& errors, ServiceConfig& service);

}  // namespace readygate
