// A small streaming JSON writer: enough for /status, with correct string escaping.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace readygate {

/// Writes JSON in order; commas and nesting are tracked so callers only say what comes.
class JsonWriter {
 public:
  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }

  JsonWriter& key(std::string_view name) {
    separate();
    appendString(name);
    out_.push_back(':');
    afterKey_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view text) {
    separate();
    appendString(text);
    return *this;
  }
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
    return *this;
  }
  JsonWriter& value(double number) {
    separate();
    char text[32];
    snprintf(text, sizeof text, "%.6g", number);
    out_ += text;
    return *this;
  }
  JsonWriter& value(long long number) {
    separate();
    out_ += std::to_string(number);
    return *this;
  }
  JsonWriter& value(int number) { return value(static_cast<long long>(number)); }
  JsonWriter& value(size_t number) { return value(static_cast<long long>(number)); }
  JsonWriter& value(unsigned long long number) { return value(static_cast<long long>(number)); }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }

  const std::string& str() const { return out_; }

 private:
  JsonWriter& open(char bracket) {
    separate();
    out_.push_back(bracket);
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_.push_back(bracket);
    first_.pop_back();
    return *this;
  }
  void separate() {
    if (afterKey_) {
      afterKey_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
    }
  }
  void appendString(std::string_view text) {
    out_.push_back('"');
    for (unsigned char c : text) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            char escaped[8];
            snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out_ += escaped;
          } else {
            out_.push_back(static_cast<char>(c));
          }
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;
  bool afterKey_ = false;
};

}  // namespace readygate
