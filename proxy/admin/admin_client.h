// A tiny blocking HTTP/1.0 client for the CLI to talk to a running readygate's admin API.
#pragma once

#include <optional>
#include <string>

#include "proxy/core/socket_address.h"

namespace readygate {

struct AdminReply {
  int status = 0;
  std::string body;
};

/// GET `path` from the admin API at `address`, within `timeoutSeconds`, with
/// `Authorization: Bearer token` when `token` is not empty. On failure returns nullopt
/// and sets `error`.
std::optional<AdminReply> adminGet(const SocketAddress& address, const std::string& path,
                                   double timeoutSeconds, std::string& error,
                                   const std::string& token = "");

}  // namespace readygate
