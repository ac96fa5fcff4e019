// Reads one HTTP/1.1 response of the Kubernetes API server as bytes arrive: status, then
// the body de-chunked piece by piece (a watch never ends on its own); no I/O.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace readygate {

/// Feeds on the raw bytes of one response (after the request was sent). Tells the status
/// once the head is complete, then every body piece (chunk framing removed), then the end.
/// A malformed response is an error, and nothing more is told.
class ApiResponseReader {
 public:
  struct Events {
    std::function<void(int status)> onHead;
    std::function<void(std::string_view)> onBody;
    std::function<void()> onEnd;
  };

  explicit ApiResponseReader(Events events);
  ApiResponseReader(const ApiResponseReader&) = delete;
  ApiResponseReader& operator=(const ApiResponseReader&) = delete;

  /// Bytes as they came. Returns false once the response is malformed (error() says how).
  bool feed(std::string_view bytes);
  /// The connection closed: a response that runs to the close ends here; one cut short
  /// (inside a chunk, before its end) is an error.
  bool finishAtClose();
  bool failed() const { return !error_.empty(); }
  bool complete() const { return complete_; }
  const std::string& error() const { return error_; }
  int status() const { return status_; }

 private:
  static int onHeadersComplete(http_parser* parser);
  static int onBodyData(http_parser* parser, const char* at, size_t length);
  static int onMessageComplete(http_parser* parser);

  Events events_;
  http_parser parser_;
  http_parser_settings settings_;
  int status_ = 0;
  bool complete_ = false;
  std::string error_;
};

}  // namespace readygate
