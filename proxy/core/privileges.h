// Giving up root after the privileged ports are bound (the `user:` setting).
#pragma once

#include <optional>
#include <string>

namespace readygate {

/// Switches the whole process (every thread) to `user`'s uid, gid and groups for good.
/// Only as root; the error text otherwise, or when the user is unknown.
std::optional<std::string> dropPrivileges(const std::string& user);
/// True once dropPrivileges succeeded: a port below 1024 can no longer be bound.
bool privilegesDropped();
/// Ports below this need root (or CAP_NET_BIND_SERVICE) to bind.
inline constexpr int kFirstUnprivilegedPort = 1024;

}  // namespace readygate
