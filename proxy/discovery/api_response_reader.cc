// ApiResponseReader: http-parser over the API server's answers.
#include "proxy/discovery/api_response_reader.h"

#include <utility>

namespace readygate {

ApiResponseReader::ApiResponseReader(Events events) : events_(std::move(events)) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_headers_complete = &ApiResponseReader::onHeadersComplete;
  settings_.on_body = &ApiResponseReader::onBodyData;
  settings_.on_message_complete = &ApiResponseReader::onMessageComplete;
}

int ApiResponseReader::onHeadersComplete(http_parser* parser) {
  auto* self = static_cast<ApiResponseReader*>(parser->data);
  // http-parser takes any one-to-three-digit status and any version digits.
  if (parser->http_major != 1 || parser->status_code < 100 || parser->status_code > 599) {
    self->error_ = "malformed response: HTTP/" + std::to_string(parser->http_major) + "." +
                   std::to_string(parser->http_minor) + " " + std::to_string(parser->status_code);
    http_parser_pause(parser, 1);
    return 0;
  }
  self->status_ = static_cast<int>(parser->status_code);
  if (self->events_.onHead) self->events_.onHead(self->status_);
  return 0;
}

int ApiResponseReader::onBodyData(http_parser* parser, const char* at, size_t length) {
  auto* self = static_cast<ApiResponseReader*>(parser->data);
  if (self->events_.onBody) self->events_.onBody(std::string_view(at, length));
  return 0;
}

int ApiResponseReader::onMessageComplete(http_parser* parser) {
  auto* self = static_cast<ApiResponseReader*>(parser->data);
  self->complete_ = true;
  if (self->events_.onEnd) self->events_.onEnd();
  http_parser_pause(parser, 1);  // one response per request: whatever follows is not ours
  return 0;
}

bool ApiResponseReader::feed(std::string_view bytes) {
  if (failed()) return false;
  if (complete_) {
    if (!bytes.empty()) error_ = "bytes after the end of the response";
    return !failed();
  }
  size_t used = http_parser_execute(&parser_, &settings_, bytes.data(), bytes.size());
  if (failed()) return false;  // refused by a callback
  http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {
    if (used < bytes.size()) error_ = "bytes after the end of the response";
    return !failed();
  }
  if (error != HPE_OK) {
    error_ = std::string("malformed response: ") + http_errno_description(error);
    return false;
  }
  return true;
}

bool ApiResponseReader::finishAtClose() {
  if (failed()) return false;
  if (complete_) return true;
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (!complete_) {
    error_ = status_ == 0 ? "the connection closed before a response"
                          : "the connection closed inside the response";
    return false;
  }
  return true;
}

}  // namespace readygate
