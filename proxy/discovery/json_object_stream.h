// Finds where each top-level JSON object ends in a byte stream (a Kubernetes watch); no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace readygate {

/// A watch answer is a sequence of JSON objects, one per event, which the API server
/// usually ends with a newline and sends in chunks of any size. Nothing may rely on
/// either: bytes go in as they come (feed), and each complete object comes out whole,
/// found by tracking nesting, strings and escapes, not lines. Whitespace between objects
/// is skipped; anything else there, an object over `maxObjectBytes` or nested deeper than
/// kMaxDepth is an error, and the stream stays failed (a watch that went wrong is opened
/// again, not resynchronised).
class JsonObjectStream {
 public:
  /// An EndpointSlice event nests about eight deep; the bound keeps a hostile stream
  /// from costing the parser a deep recursion.
  static constexpr int kMaxDepth = 64;

  explicit JsonObjectStream(size_t maxObjectBytes) : maxObjectBytes_(maxObjectBytes) {}

  /// Appends `bytes`; returns the objects they completed, in order (each the object's
  /// exact text, for a JSON parser). Empty when failed().
  std::vector<std::string> feed(std::string_view bytes);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  /// Bytes held of an object not yet complete.
  size_t pending() const { return current_.size(); }

 private:
  void fail(std::string why);

  const size_t maxObjectBytes_;
  std::string current_;  // the object being read, from its '{'
  int depth_ = 0;        // of braces and brackets in current_
  bool inString_ = false;
  bool escaped_ = false;  // the previous byte in a string was a backslash
  std::string error_;
};

}  // namespace readygate
