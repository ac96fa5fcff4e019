// An IPv4 or IPv6 network ("10.0.0.0/8", "::1/128"), for trusting proxies by address.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "proxy/core/socket_address.h"

namespace readygate {

class Cidr {
 public:
  /// "10.0.0.0/8", "2001:db8::/32", or a single address ("127.0.0.1" = /32, "::1" = /128).
  /// Host bits must be zero. On failure a short reason.
  static std::variant<Cidr, std::string> parse(std::string_view text);

  bool contains(const SocketAddress& address) const;
  std::string toString() const { return text_; }
  bool operator==(const Cidr& other) const { return text_ == other.text_; }

 private:
  int family_ = 0;
  std::array<uint8_t, 16> network_{};
  int prefixLength_ = 0;
  std::string text_;
};

}  // namespace readygate
