// ProbeResponseParser implementation on http-parser.
#include "proxy/probe/probe_response_parser.h"

#include <algorithm>

namespace readygate {
namespace {

std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find_first_of("\r\n"));
  if (line.size() > 200) line.resize(200);
  return line;
}

}  // namespace

ProbeResponseParser::ProbeResponseParser() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_headers_complete = [](http_parser* parser) {
    static_cast<ProbeResponseParser*>(parser->data)->headersComplete_ = true;
    return 0;
  };
  settings_.on_body = [](http_parser* parser, const char* data, size_t length) {
    auto* self = static_cast<ProbeResponseParser*>(parser->data);
    size_t room = kMaxBodyBytes - std::min(self->body_.size(), kMaxBodyBytes);
    self->body_.append(data, std::min(room, length));
    return 0;
  };
  settings_.on_message_complete = [](http_parser* parser) {
    static_cast<ProbeResponseParser*>(parser->data)->messageComplete_ = true;
    return 0;
  };
}

std::optional<ProbeResult> ProbeResponseParser::feed(std::string_view data) {
  if (data.empty()) return std::nullopt;  // an empty feed would mean EOF to http-parser
  return parse(data.data(), data.size());
}

ProbeResult ProbeResponseParser::endOfStream() {
  if (auto verdict = parse(nullptr, 0)) return *verdict;
  return conclude();
}

std::optional<ProbeResult> ProbeResponseParser::connectionFailed() const {
  if (headersComplete_) return conclude();
  return std::nullopt;
}

std::optional<ProbeResult> ProbeResponseParser::parse(const char* data, size_t length) {
  size_t parsed = http_parser_execute(&parser_, &settings_, data, length);
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || parsed != length) {
    if (headersComplete_) return conclude();
    return ProbeResult::failed("http_malformed",
                               http_errno_description(HTTP_PARSER_ERRNO(&parser_)));
  }
  if (messageComplete_ || body_.size() >= kMaxBodyBytes) return conclude();
  return std::nullopt;
}

ProbeResult ProbeResponseParser::conclude() const {
  if (!headersComplete_)
    return ProbeResult::failed("connection_closed", "closed before a status line");
  int status = static_cast<int>(parser_.status_code);
  if (status >= 200 && status < 400) return ProbeResult::passed(firstLine(body_));
  return ProbeResult::failed("http_" + std::to_string(status), firstLine(body_));
}

}  // namespace readygate
