// Binding listening sockets with SO_REUSEPORT, one per worker, so the kernel spreads accepts.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "proxy/core/socket_address.h"

namespace readygate {

/// Owns a listening file descriptor until `release` hands it to an evconnlistener.
class ListeningSocket {
 public:
  /// Binds and listens; on failure returns "bind 0.0.0.0:80: Permission denied".
  static std::variant<ListeningSocket, std::string> open(const SocketAddress& address);
  /// Whether another socket already listens on `address` (or on one overlapping it), even
  /// one with SO_REUSEPORT that our bind would silently share the port with: a bind
  /// without SO_REUSEPORT tells. "address in use" text, or nullopt when the port is free.
  static std::optional<std::string> checkNotListened(const SocketAddress& address);

  ListeningSocket(ListeningSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ListeningSocket& operator=(ListeningSocket&& other) noexcept;
  ListeningSocket(const ListeningSocket&) = delete;
  ~ListeningSocket();

  int fd() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  explicit ListeningSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace readygate
