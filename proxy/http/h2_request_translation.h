// An HTTP/2 request's header list as an HTTP/1.1 request head, with RFC 9113's rules that keep
// a translation to HTTP/1.1 backends from smuggling; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "proxy/http/http_message.h"

namespace readygate {

/// Why a request cannot be translated: a stream error (RFC 9113 §8.1.1: malformed
/// requests are PROTOCOL_ERROR) and a short stable reason for the log and the counters.
struct H2StreamError {
  uint32_t code = 1;  // PROTOCOL_ERROR
  std::string reason;
};

/// `fields` as they arrived on one stream (pseudo-headers first). nghttp2 checks much of
/// this too; checked again here, where the HTTP/1.1 bytes are made, because a rule missed
/// here is a request smuggled to a backend:
/// - the pseudo-headers :method, :scheme, :path (and optionally :authority) once each, no
///   other, none after a regular field; CONNECT is not proxied; :path is origin-form (or
///   `*` for OPTIONS);
/// - field names lowercase tokens; no CR, LF or NUL in any value;
/// - no connection-specific field (Connection, Keep-Alive, Proxy-Connection,
///   Transfer-Encoding, Upgrade); TE only `trailers`;
/// - Host, when present, agrees with :authority (§8.3.1); without :authority, Host is it;
/// - one Content-Length at most, digits only (whether DATA agrees is counted by the stream);
/// - cookies split across fields joined with "; " (§8.2.3).
/// The head is HTTP/1.1, with Host first; a request whose length is unknown and that has
/// a body (`endStream` false, no Content-Length) is sent chunked.
/// `fields` is taken by value: a caller done with its list moves it in, and its strings
/// become the head's without a copy.
std::variant<MessageHead, H2StreamError> translateH2Request(std::vector<HeaderField> fields,
                                                           bool endStream);

}  // namespace readygate
