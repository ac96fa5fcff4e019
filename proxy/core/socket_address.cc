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
  auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
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
  length = std::min<socklen_t>(length, sizeof result.storage_);
  std::memcpy(&result.storage_, address, length);
  result.length_ = length;
  return result;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

bool SocketAddress::isWildcard() const {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return false;
}

bool SocketAddress::overlapsListener(const SocketAddress& other) const {
  if (family() != other.family() || port() != other.port()) return false;
  return *this == other || isWildcard() || other.isWildcard();
}

SocketAddress SocketAddress::withPort(uint16_t port) const {
  SocketAddress copy = *this;
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&copy.storage_)->sin_port = htons(port);
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&copy.storage_)->sin6_port = htons(port);
  }
  return copy;
}

std::string SocketAddress::host() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buffer,
              sizeof buffer);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buffer,
              sizeof buffer);
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
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(&other.storage_)->sin_addr,
                       sizeof(in_addr)) == 0;
  }
  if (family() == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&other.storage_)->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return length_ == other.length_ && std::memcmp(&storage_, &other.storage_, length_) == 0;
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
    mix(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, sizeof(in_addr));
  } else if (family == AF_INET6) {
    mix(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, sizeof(in6_addr));
  }
  return value;
}

}  // namespace readygate
