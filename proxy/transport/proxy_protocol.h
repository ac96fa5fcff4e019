// The PROXY protocol (HAProxy's, v1 text and v2 binary): the header a balancer puts before a connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/core/socket_address.h"

namespace readygate {

enum class ProxyProtocolVersions { V1, V2, Any };

/// What a header said. `hasAddresses` false: a v1 UNKNOWN, a v2 LOCAL (the balancer's
/// own health check) or a family readygate does not proxy; the socket's addresses stand.
struct ProxyHeader {
  bool hasAddresses = false;
  SocketAddress source;
  SocketAddress destination;
};

struct ProxyHeaderParse {
  enum class Status { NeedMore, Done, Invalid };
  Status status = Status::NeedMore;
  size_t length = 0;  // Done: the header's bytes, to take off the stream
  ProxyHeader header;
  std::string error;  // Invalid: why
};

/// The longest header readygate reads: v1's limit (107 bytes) and a v2 header with its
/// TLVs up to this; a longer one is invalid.
inline constexpr size_t kMaxProxyHeaderBytes = 16 + 2048;

/// Parses the header at the start of `bytes` (what has arrived so far). Pure; no I/O.
ProxyHeaderParse parseProxyHeader(std::string_view bytes, ProxyProtocolVersions accept);

/// The header that tells a backend the connection came from `source` to `destination`
/// (both of one family, IPv4 or IPv6; otherwise v1 says UNKNOWN and v2 LOCAL).
std::string proxyHeaderV1(const SocketAddress& source, const SocketAddress& destination);
std::string proxyHeaderV2(const SocketAddress& source, const SocketAddress& destination);

}  // namespace readygate
