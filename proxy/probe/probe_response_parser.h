// Reads an HTTP probe's answer into a verdict: status class and the body's first line. No I/O.
#pragma once

#include <http_parser.h>

#include <optional>
#include <string>
#include <string_view>

#include "proxy/probe/probe_result.h"

namespace readygate {

/// Fed the bytes of a response as they come. A verdict is there once the message is
/// complete, the body cap is reached, the bytes are not HTTP, or the connection ends.
/// 200 <= status < 400 passes (as the kubelet); anything else is `http_<status>`.
class ProbeResponseParser {
 public:
  /// Body bytes read at most (as the kubelet's 10 KiB); the message is its first line.
  static constexpr size_t kMaxBodyBytes = 10 * 1024;

  ProbeResponseParser();
  ProbeResponseParser(const ProbeResponseParser&) = delete;
  ProbeResponseParser& operator=(const ProbeResponseParser&) = delete;

  /// The verdict, once `data` completes one.
  std::optional<ProbeResult> feed(std::string_view data);
  /// The peer closed: a response without length ends here; before a status line it is
  /// `connection_closed`.
  ProbeResult endOfStream();
  /// The connection failed: a complete head still answers the question.
  std::optional<ProbeResult> connectionFailed() const;
  /// A status line and headers have been read (the backend answered).
  bool answered() const { return headersComplete_; }

 private:
  std::optional<ProbeResult> parse(const char* data, size_t length);
  ProbeResult conclude() const;

  http_parser parser_;
  http_parser_settings settings_;
  std::string body_;
  bool headersComplete_ = false;
  bool messageComplete_ = false;
};

}  // namespace readygate
