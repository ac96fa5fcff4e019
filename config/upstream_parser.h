// Parses how a service reaches its backends beyond TCP: upstreamTls.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace readygate {

/// Reads `upstreamTls` of one service from `map` into `service`.
void parseUpstreamOptions(MapReader& map, ConfigErrors& errors, ServiceConfig& service);

}  // namespace readygate
