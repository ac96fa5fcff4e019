// Reading an endpoints file: a YAML or JSON list of "host:port" addresses; no I/O.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "proxy/core/socket_address.h"

namespace readygate {

/// `text` as a list of endpoints: a YAML/JSON sequence of numeric "host:port" strings,
/// or a mapping whose `endpoints` key holds one. Duplicates are dropped. On any problem
/// (syntax, a bad address) the whole file is refused with a message saying where.
std::variant<std::vector<SocketAddress>, std::string> parseEndpointList(const std::string& text);

}  // namespace readygate
