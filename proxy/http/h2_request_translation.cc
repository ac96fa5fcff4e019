// translateH2Request: RFC 9113 §8 checks, then an HTTP/1.1 head.
#include "proxy/http/h2_request_translation.h"

#include <string_view>

namespace readygate {
namespace {

H2StreamError malformed(std::string reason) { return H2StreamError{1, std::move(reason)}; }

/// RFC 9110 token characters; field names lowercase only (RFC 9113 §8.2.1: uppercase
/// is malformed), methods any case.
bool isToken(std::string_view text, bool upperAllowed) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (upperAllowed && c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool hasForbiddenCharacter(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool isConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

/// An authority as a Host header carries it: no userinfo, no whitespace, not empty.
bool isAuthority(std::string_view authority) {
  return !authority.empty() && authority.find_first_of("@ \t/") == std::string_view::npos;
}

}  // namespace

std::variant<MessageHead, H2StreamError> translateH2Request(std::vector<HeaderField> fields,
                                                           bool endStream) {
  MessageHead head;
  head.headers.reserve(fields.size() + 2);
  const std::string* method = nullptr;
  const std::string* scheme = nullptr;
  const std::string* path = nullptr;
  const std::string* authority = nullptr;
  const std::string* host = nullptr;
  std::string cookies;
  bool regularSeen = false;
  for (HeaderField& field : fields) {
    if (hasForbiddenCharacter(field.value)) return malformed("field_value_character");
    if (!field.name.empty() && field.name.front() == ':') {
      if (regularSeen) return malformed("pseudo_header_after_field");
      const std::string** slot = field.name == ":method"      ? &method
                                 : field.name == ":scheme"    ? &scheme
                                 : field.name == ":path"      ? &path
                                 : field.name == ":authority" ? &authority
                                                              : nullptr;
      if (slot == nullptr) return malformed("unknown_pseudo_header");
      if (*slot != nullptr) return malformed("repeated_pseudo_header");
      *slot = &field.value;
      continue;
    }
    regularSeen = true;
    if (!isToken(field.name, false)) return malformed("field_name");
    if (isConnectionSpecific(field.name)) return malformed("connection_specific_field");
    if (field.name == "te") {
      // Kept in the head: hop-by-hop for an HTTP/1 backend (never written), and what an
      // HTTP/2 backend is told (gRPC needs it).
      if (field.value != "trailers") return malformed("te_not_trailers");
    }
    if (field.name == "host") {
      if (host != nullptr) return malformed("repeated_host");
      host = &field.value;
      continue;
    }
    if (field.name == "cookie") {
      if (!cookies.empty()) cookies += "; ";
      cookies += field.value;
      continue;
    }
    if (field.name == "content-length") {
      if (head.contentLength) return malformed("repeated_content_length");
      if (field.value.empty() || field.value.size() > 18 ||
          field.value.find_first_not_of("0123456789") != std::string::npos) {
        return malformed("content_length");
      }
      head.contentLength = std::stoull(field.value);
    }
    head.headers.push_back(std::move(field));  // nothing below looks at it again
  }
  if (method == nullptr || scheme == nullptr || path == nullptr) {
    // CONNECT has neither :scheme nor :path; it is not proxied either way.
    if (method != nullptr && *method == "CONNECT") return malformed("connect");
    return malformed("missing_pseudo_header");
  }
  if (*method == "CONNECT") return malformed("connect");
  if (!isToken(*method, true)) return malformed("method");
  if (*scheme != "http" && *scheme != "https") return malformed("scheme");
  bool asterisk = *path == "*" && *method == "OPTIONS";
  if (path->empty() || (path->front() != '/' && !asterisk) ||
      path->find_first_of(" \t") != std::string::npos) {
    return malformed("path");
  }
  if (authority != nullptr && !isAuthority(*authority)) return malformed("authority");
  if (host != nullptr && !isAuthority(*host)) return malformed("host");
  if (authority != nullptr && host != nullptr && !equalsIgnoreCase(*authority, *host)) {
    return malformed("host_authority_mismatch");
  }
  const std::string* hostValue = authority != nullptr ? authority : host;
  if (hostValue == nullptr) return malformed("no_authority");

  head.method = *method;
  head.target = *path;
  head.versionMajor = 1;
  head.versionMinor = 1;
  head.headers.insert(head.headers.begin(), HeaderField{"host", *hostValue});
  if (!cookies.empty()) head.headers.push_back(HeaderField{"cookie", std::move(cookies)});
  if (!endStream && !head.contentLength) {
    head.chunked = true;  // a body of unknown length: framed for the backend
    head.headers.push_back(HeaderField{"transfer-encoding", "chunked"});
  }
  return head;
}

}  // namespace readygate
