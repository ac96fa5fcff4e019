// SocketAddress parsing and formatting.
#include "proxy/core/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace readygate {

std::variant<SocketAddress, std::string> SocketAddress::fromHostPort(std::string_view host,
                                                                     int port) {
  if (port < 0 || port > 65535) return std::string("invalid port");
  SocketAddress result;
  std::string hostText(host);
  if (hostText == "*" || hostText.empty()) hostText = "0.0.0.0";
  sockaddr_in* v4 = &result.storage_.v4;
  sockaddr_in6* v6 = &result.storage_.v6;
  if (inet_pton(AF_INET, hostText.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    result.length_ = sizeof(sockaddr_in);
    return result;
  }
  if (inet_pton(AF_INET6, hostText.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    result.length_ = sizeof(sockaddr_in6);
    return result;
  }
  return std::string("host must be a numeric IPv4 or IPv6 address");
}

std::variant<SocketAddress, std::string> SocketAddress::parse(std::string_view text) {
  std::string_view host;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::string("missing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return std::string("missing port");
    portText = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::string("missing port");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return std::string("IPv6 addresses must be written in brackets, as [::1]:8080");
    }
    portText = text.substr(colon + 1);
  }
  if (portText.empty()) return std::string("missing port");
  int port = -1;
  auto [end, error] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (error != std::errc() || end != portText.data() + portText.size() || port < 0 ||
      port > 65535) {
    return std::string("invalid port");
  }
  return fromHostPort(host, port);
}

SocketAddress SocketAddress::localOf(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return SocketAddress();
  return fromSockaddr(reinterpret_cast<sockaddr*>(&local), length);
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  socklen_t wanted = address == nullptr               ? 0
                     : address->sa_family == AF_INET  ? sizeof(sockaddr_in)
                     : address->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                      : 0;  // not an address readygate uses
  if (wanted == 0 || length < wanted) return result;
  std::memcpy(&result.storage_, address, wanted);
  result.length_ = wanted;
  return result;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(storage_.v4.sin_port);
  if (family() == AF_INET6) {
    return ntohs(storage_.v6.sin6_port);
  }
  return 0;
}

bool SocketAddress::isWildcard() const {
  if (family() == AF_INET) {
    return storage_.v4.sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&storage_.v6.sin6_addr);
  }
  return false;
}

bool SocketAddress::overlapsListener(const SocketAddress& other) const {
  if (family() != other.family() || port() != other.port()) return false;
  return *this == other || isWildcard() || other.isWildcard();
}

SocketAddress SocketAddress::withPort(uint16_t port) const {
  SocketAddress copy = *this;
  if (family() == AF_INET) copy.storage_.v4.sin_port = htons(port);
  if (family() == AF_INET6) {
    copy.storage_.v6.sin6_port = htons(port);
  }
  return copy;
}

std::string SocketAddress::host() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &storage_.v4.sin_addr, buffer, sizeof buffer);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buffer, sizeof buffer);
  }
  return buffer;
}

std::string SocketAddress::toString() const {
  // Appended piece by piece: GCC 12 at -O2 reports a false -Wrestrict on
  // `"[" + host() + ...` (GCC bug 105329).
  std::string text;
  text.reserve(INET6_ADDRSTRLEN + 8);
  if (family() == AF_INET6) text.push_back('[');
  text.append(host());
  if (family() == AF_INET6) text.push_back(']');
  text.push_back(':');
  text.append(std::to_string(port()));
  return text;
}

int newStreamSocket(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (family() != other.family() || port() != other.port()) return false;
  if (family() == AF_INET) {
    return std::memcmp(&storage_.v4.sin_addr, &other.storage_.v4.sin_addr, sizeof(in_addr)) == 0;
  }
  if (family() == AF_INET6) {
    return std::memcmp(&storage_.v6.sin6_addr, &other.storage_.v6.sin6_addr, sizeof(in6_addr)) == 0;
  }
  return length_ == other.length_ && std::memcmp(&storage_, &other.storage_, length_) == 0;
}

bool SocketAddress::operator<(const SocketAddress& other) const {
  if (family() != other.family()) return family() < other.family();
  int order = 0;
  if (family() == AF_INET) {
    order = std::memcmp(&storage_.v4.sin_addr, &other.storage_.v4.sin_addr, sizeof(in_addr));
  } else if (family() == AF_INET6) {
    order = std::memcmp(&storage_.v6.sin6_addr, &other.storage_.v6.sin6_addr, sizeof(in6_addr));
  } else {
    if (length_ != other.length_) return length_ < other.length_;
    return std::memcmp(&storage_, &other.storage_, length_) < 0;
  }
  if (order != 0) return order < 0;
  return port() < other.port();
}

size_t SocketAddress::hash() const {
  // FNV-1a over family, port and address bytes: the fields operator== compares.
  size_t value = 1469598103934665603ull;
  auto mix = [&](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) value = (value ^ bytes[i]) * 1099511628211ull;
  };
  int family = this->family();
  uint16_t port = this->port();
  mix(&family, sizeof family);
  mix(&port, sizeof port);
  if (family == AF_INET) {
    mix(&storage_.v4.sin_addr, sizeof(in_addr));
  } else if (family == AF_INET6) {
    mix(&storage_.v6.sin6_addr, sizeof(in6_addr));
  }
  return value;
}

}  // namespace readygate
