// The head of an HTTP/1.x request or response as the proxy sees it, parsed and checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace readygate {

struct HeaderField {
  std::string name;
  std::string value;
};

/// Request line or status line plus headers, and what they say about framing.
struct MessageHead {
  // Requests.
  std::string method;
  std::string target;
  // Responses.
  int status = 0;
  std::string reason;

  int versionMajor = 1;
  int versionMinor = 1;
  std::vector<HeaderField> headers;
  bool keepAlive = true;                  // what the peer asked for (version + Connection)
  bool chunked = false;                   // Transfer-Encoding: chunked
  std::optional<uint64_t> contentLength;  // Content-Length, when given
  bool upgrade = false;         // Connection: upgrade + Upgrade (requests), 101 (responses)
  bool expectContinue = false;  // Expect: 100-continue
  /// Emptied fields kept with their buffers for the next head parsed into this one
  /// (MessageReader); never part of the message.
  std::vector<HeaderField> spareFields;

  /// The first header of that name (case-insensitive), if any.
  const std::string* find(std::string_view name) const;
  bool http10() const { return versionMajor == 1 && versionMinor == 0; }
};

/// Case-insensitive ASCII comparison for header names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
/// Each comma-separated token of `list` (a header value), trimmed, empty ones skipped, to
/// `visit`.
template <typename Visit>
void forEachToken(std::string_view list, Visit visit) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) visit(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

/// Whether `list` (a comma-separated header value) holds `token`, case-insensitively.
bool hasToken(std::string_view list, std::string_view token);

/// Methods that may be sent again to another backend when the first attempt failed
/// before any response byte (RFC 9110 9.2.2): GET, HEAD, OPTIONS, PUT, DELETE, TRACE.
bool isIdempotent(std::string_view method);

}  // namespace readygate
