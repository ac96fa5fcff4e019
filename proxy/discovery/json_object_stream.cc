// JsonObjectStream: object boundaries by nesting, strings and escapes.
#include "proxy/discovery/json_object_stream.h"

#include <utility>

namespace readygate {

std::vector<std::string> JsonObjectStream::feed(std::string_view bytes) {
  std::vector<std::string> complete;
  if (failed()) return complete;
  size_t objectStart = 0;  // where the current object's bytes in `bytes` begin
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
      if (c != '{') {
        fail("a watch event must be a JSON object, not one starting with byte " +
             std::to_string(static_cast<unsigned char>(c)));
        return {};
      }
      depth_ = 1;
      objectStart = i;
      continue;
    }
    if (inString_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        inString_ = false;
      }
      continue;
    }
    if (c == '"') {
      inString_ = true;
    } else if (c == '{' || c == '[') {
      if (++depth_ > kMaxDepth) {
        fail("a watch event nested deeper than " + std::to_string(kMaxDepth));
        return {};
      }
    } else if (c == '}' || c == ']') {
      // Which closer matches is the parser's business: a mismatch makes an object
      // it refuses, and the boundary found here is still where that object ends.
      if (--depth_ == 0) {
        current_.append(bytes.substr(objectStart, i + 1 - objectStart));
        if (current_.size() > maxObjectBytes_) {
          fail("a watch event of " + std::to_string(current_.size()) + " bytes is over " +
               std::to_string(maxObjectBytes_));
          return {};
        }
        complete.push_back(std::move(current_));
        current_.clear();
      }
    }
  }
  if (depth_ > 0) {
    current_.append(bytes.substr(objectStart));
    if (current_.size() > maxObjectBytes_) {
      fail("a watch event over " + std::to_string(maxObjectBytes_) + " bytes");
      return {};
    }
  }
  return complete;
}

void JsonObjectStream::fail(std::string why) {
  error_ = std::move(why);
  current_.clear();
  current_.shrink_to_fit();
  depth_ = 0;
}

}  // namespace readygate
