// PROXY protocol v1/v2 parsing and writing, as haproxy.org's proxy-protocol.txt specifies.
#include "proxy/transport/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <vector>

namespace readygate {
namespace {

constexpr char kV2Signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                   '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr size_t kV1MaxBytes = 107;  // "PROXY TCP6 " + two full IPv6 + ports + CRLF

ProxyHeaderParse invalid(std::string error) {
  ProxyHeaderParse parse;
  parse.status = ProxyHeaderParse::Status::Invalid;
  parse.error = std::move(error);
  return parse;
}

bool parsePort(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool parseAddress(std::string_view text, uint16_t port, int family, SocketAddress& out) {
  std::string host(text);
  sockaddr_storage storage{};
  if (family == AF_INET) {
    auto* address = reinterpret_cast<sockaddr_in*>(&storage);
    if (inet_pton(AF_INET, host.c_str(), &address->sin_addr) != 1) return false;
    address->sin_family = AF_INET;
    address->sin_port = htons(port);
    out = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), sizeof(sockaddr_in));
  } else {
    auto* address = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET6, host.c_str(), &address->sin6_addr) != 1) return false;
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(port);
    out = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage), sizeof(sockaddr_in6));
  }
  return true;
}

ProxyHeaderParse parseV1(std::string_view bytes) {
  size_t end = bytes.find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kV1MaxBytes) return invalid("v1 header longer than 107 bytes");
    for (char c : bytes) {
      if (c == '\n' || static_cast<unsigned char>(c) < 0x20) {
        if (c != '\r') return invalid("v1 header with a control character");
      }
    }
    return {};
  }
  if (end + 2 > kV1MaxBytes) return invalid("v1 header longer than 107 bytes");
  std::string_view line = bytes.substr(0, end);
  std::vector<std::string_view> words;
  for (size_t at = 0; at <= line.size();) {
    size_t space = line.find(' ', at);
    if (space == std::string_view::npos) space = line.size();
    words.push_back(line.substr(at, space - at));
    at = space + 1;
  }
  ProxyHeaderParse parse;
  parse.status = ProxyHeaderParse::Status::Done;
  parse.length = end + 2;
  if (words.size() >= 2 && words[1] == "UNKNOWN") return parse;  // the rest is ignored
  if (words.size() != 6) return invalid("v1 header needs 6 fields");
  int family;
  if (words[1] == "TCP4") {
    family = AF_INET;
  } else if (words[1] == "TCP6") {
    family = AF_INET6;
  } else {
    return invalid("v1 header with unknown protocol");
  }
  uint16_t sourcePort = 0;
  uint16_t destinationPort = 0;
  if (!parsePort(words[4], sourcePort) || !parsePort(words[5], destinationPort)) {
    return invalid("v1 header with a bad port");
  }
  if (!parseAddress(words[2], sourcePort, family, parse.header.source) ||
      !parseAddress(words[3], destinationPort, family, parse.header.destination)) {
    return invalid("v1 header with a bad address");
  }
  parse.header.hasAddresses = true;
  return parse;
}

ProxyHeaderParse parseV2(std::string_view bytes) {
  if (bytes.size() < 16) return {};
  auto byte = [&](size_t at) { return static_cast<unsigned char>(bytes[at]); };
  unsigned versionCommand = byte(12);
  if ((versionCommand >> 4) != 2) return invalid("v2 header with a version other than 2");
  unsigned command = versionCommand & 0x0f;
  if (command > 1) return invalid("v2 header with an unknown command");
  size_t length = (static_cast<size_t>(byte(14)) << 8) | byte(15);
  if (16 + length > kMaxProxyHeaderBytes) return invalid("v2 header too long");
  if (bytes.size() < 16 + length) return {};
  ProxyHeaderParse parse;
  parse.status = ProxyHeaderParse::Status::Done;
  parse.length = 16 + length;
  if (command == 0) return parse;  // LOCAL: the balancer's own connection
  unsigned family = byte(13) >> 4;
  unsigned transport = byte(13) & 0x0f;
  if (transport > 2) return invalid("v2 header with an unknown transport");
  if (family > 3) return invalid("v2 header with an unknown family");
  const char* body = bytes.data() + 16;
  auto port = [&](size_t at) {
    return static_cast<uint16_t>((static_cast<unsigned char>(body[at]) << 8) |
                                 static_cast<unsigned char>(body[at + 1]));
  };
  sockaddr_storage source{};
  sockaddr_storage destination{};
  if (family == 1 && transport == 1) {  // TCP over IPv4
    if (length < 12) return invalid("v2 header too short for IPv4 addresses");
    auto* from = reinterpret_cast<sockaddr_in*>(&source);
    auto* to = reinterpret_cast<sockaddr_in*>(&destination);
    from->sin_family = to->sin_family = AF_INET;
    std::memcpy(&from->sin_addr, body, 4);
    std::memcpy(&to->sin_addr, body + 4, 4);
    from->sin_port = htons(port(8));
    to->sin_port = htons(port(10));
    parse.header.source =
        SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&source), sizeof(sockaddr_in));
    parse.header.destination =
        SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&destination), sizeof(sockaddr_in));
    parse.header.hasAddresses = true;
  } else if (family == 2 && transport == 1) {  // TCP over IPv6
    if (length < 36) return invalid("v2 header too short for IPv6 addresses");
    auto* from = reinterpret_cast<sockaddr_in6*>(&source);
    auto* to = reinterpret_cast<sockaddr_in6*>(&destination);
    from->sin6_family = to->sin6_family = AF_INET6;
    std::memcpy(&from->sin6_addr, body, 16);
    std::memcpy(&to->sin6_addr, body + 16, 16);
    from->sin6_port = htons(port(32));
    to->sin6_port = htons(port(34));
    parse.header.source =
        SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&source), sizeof(sockaddr_in6));
    parse.header.destination = SocketAddress::fromSockaddr(
        reinterpret_cast<sockaddr*>(&destination), sizeof(sockaddr_in6));
    parse.header.hasAddresses = true;
  }
  // Anything else (UNSPEC, UDP, unix sockets): the socket's addresses stand; TLVs skipped.
  return parse;
}

bool sameFamilyInet(const SocketAddress& a, const SocketAddress& b) {
  return a.family() == b.family() && (a.family() == AF_INET || a.family() == AF_INET6);
}

}  // namespace

ProxyHeaderParse parseProxyHeader(std::string_view bytes, ProxyProtocolVersions accept) {
  bool v1 = accept != ProxyProtocolVersions::V2;
  bool v2 = accept != ProxyProtocolVersions::V1;
  // Decide by the first bytes, as soon as they rule a version in or out.
  std::string_view v1Magic = "PROXY ";
  size_t v1Seen = std::min(bytes.size(), v1Magic.size());
  size_t v2Seen = std::min(bytes.size(), sizeof kV2Signature);
  bool couldBeV1 = v1 && bytes.substr(0, v1Seen) == v1Magic.substr(0, v1Seen);
  bool couldBeV2 = v2 && std::memcmp(bytes.data(), kV2Signature, v2Seen) == 0;
  if (!couldBeV1 && !couldBeV2) return invalid("no PROXY protocol header");
  if (couldBeV1 && bytes.size() >= v1Magic.size()) return parseV1(bytes);
  if (couldBeV2 && bytes.size() >= sizeof kV2Signature) return parseV2(bytes);
  return {};
}

std::string proxyHeaderV1(const SocketAddress& source, const SocketAddress& destination) {
  if (!sameFamilyInet(source, destination)) return "PROXY UNKNOWN\r\n";
  std::string header = source.family() == AF_INET ? "PROXY TCP4 " : "PROXY TCP6 ";
  header += source.host();
  header += ' ';
  header += destination.host();
  header += ' ';
  header += std::to_string(source.port());
  header += ' ';
  header += std::to_string(destination.port());
  header += "\r\n";
  return header;
}

std::string proxyHeaderV2(const SocketAddress& source, const SocketAddress& destination) {
  std::string header(kV2Signature, sizeof kV2Signature);
  if (!sameFamilyInet(source, destination)) {
    header += '\x20';  // version 2, LOCAL
    header += '\x00';
    header.append(2, '\0');
    return header;
  }
  bool v4 = source.family() == AF_INET;
  header += '\x21';                  // version 2, PROXY
  header += v4 ? '\x11' : '\x21';    // TCP over IPv4 / IPv6
  uint16_t length = v4 ? 12 : 36;
  header += static_cast<char>(length >> 8);
  header += static_cast<char>(length & 0xff);
  auto appendAddress = [&](const SocketAddress& address) {
    if (v4) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(address.sockaddrPtr());
      header.append(reinterpret_cast<const char*>(&in->sin_addr), 4);
    } else {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddrPtr());
      header.append(reinterpret_cast<const char*>(&in6->sin6_addr), 16);
    }
  };
  appendAddress(source);
  appendAddress(destination);
  for (uint16_t port : {source.port(), destination.port()}) {
    header += static_cast<char>(port >> 8);
    header += static_cast<char>(port & 0xff);
  }
  return header;
}

}  // namespace readygate
