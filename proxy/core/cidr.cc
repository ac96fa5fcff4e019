// Cidr implementation.
#include "proxy/core/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace readygate {

std::variant<Cidr, std::string> Cidr::parse(std::string_view text) {
  Cidr cidr;
  std::string address(text.substr(0, text.find('/')));
  int maxLength;
  if (inet_pton(AF_INET, address.c_str(), cidr.network_.data()) == 1) {
    cidr.family_ = AF_INET;
    maxLength = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.network_.data()) == 1) {
    cidr.family_ = AF_INET6;
    maxLength = 128;
  } else {
    return std::string("not an IPv4 or IPv6 address");
  }
  cidr.prefixLength_ = maxLength;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view length = text.substr(slash + 1);
    int value = -1;
    auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (error != std::errc() || end != length.data() + length.size() || value < 0 ||
        value > maxLength) {
      return "prefix length must be 0 to " + std::to_string(maxLength);
    }
    cidr.prefixLength_ = value;
  }
  for (int bit = cidr.prefixLength_; bit < maxLength; ++bit) {
    if (cidr.network_[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) {
      return std::string("host bits are set; write the network address");
    }
  }
  cidr.text_ = std::string(text);
  return cidr;
}

bool Cidr::contains(const SocketAddress& address) const {
  const uint8_t* bytes = nullptr;
  if (address.family() == AF_INET && family_ == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(address.sockaddrPtr())->sin_addr);
  } else if (address.family() == AF_INET6 && family_ == AF_INET6) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in6*>(address.sockaddrPtr())->sin6_addr);
  } else {
    return false;
  }
  for (int bit = 0; bit < prefixLength_; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((bytes[bit / 8] & mask) != (network_[static_cast<size_t>(bit / 8)] & mask)) return false;
  }
  return true;
}

}  // namespace readygate
