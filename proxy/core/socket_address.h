// An IPv4 or IPv6 socket address, parsed from and printed as "host:port" / "[v6]:port".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace readygate {

class SocketAddress {
 public:
  /// Parses "1.2.3.4:80", "[::1]:80" or "*:80" (any IPv4 address). Host must be a
  /// numeric address: names belong to DNS discovery, not to a static list.
  /// On failure returns a short reason ("invalid port", "missing port", ...).
  static std::variant<SocketAddress, std::string> parse(std::string_view text);
  /// Builds an address from a numeric host and a port; host as accepted by `parse`.
  static std::variant<SocketAddress, std::string> fromHostPort(std::string_view host, int port);
  static SocketAddress fromSockaddr(const sockaddr* address, socklen_t length);
  /// The local address of socket `fd` (getsockname); an empty address when it fails.
  static SocketAddress localOf(int fd);

  const sockaddr* sockaddrPtr() const { return &storage_.any; }
  socklen_t length() const { return length_; }
  int family() const { return storage_.any.sa_family; }
  uint16_t port() const;
  SocketAddress withPort(uint16_t port) const;
  /// Host without brackets ("::1", "127.0.0.1"), as put in a Host header or env var.
  std::string host() const;
  std::string toString() const;

  /// 0.0.0.0 or [::]: every local address of the family.
  bool isWildcard() const;
  /// Whether two listeners would take the same connections: same family and port, and
  /// the same host or one of them the wildcard (0.0.0.0:80 and 127.0.0.1:80 overlap).
  bool overlapsListener(const SocketAddress& other) const;

  /// Same family, address and port (compared as bytes: cheap enough for 10,000-endpoint diffs).
  bool operator==(const SocketAddress& other) const;
  /// A total order consistent with ==: family, then address bytes (numeric order), then
  /// port. For sorting large sets without printing them.
  bool operator<(const SocketAddress& other) const;
  size_t hash() const;

 private:
  // IPv4 or IPv6 only: 28 bytes, not sockaddr_storage's 128. Every client connection
  // holds two and every backend one (10,000 backends: a megabyte).
  union Storage {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage storage_{};
  socklen_t length_ = 0;
};

/// A non-blocking TCP socket for `family` that exec'd children never inherit
/// (libevent's own connect creates sockets without close-on-exec); -1 on failure.
int newStreamSocket(int family);

struct SocketAddressHash {
  size_t operator()(const SocketAddress& address) const { return address.hash(); }
};

}  // namespace readygate
