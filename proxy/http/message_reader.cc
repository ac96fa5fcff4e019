// MessageReader implementation.
#include "proxy/http/message_reader.h"

#include <cstring>

#include "proxy/http/request_checks.h"

namespace readygate {
namespace {

MessageReader* self(http_parser* parser) { return static_cast<MessageReader*>(parser->data); }

constexpr size_t kExpectedHeaderFields = 16;

}  // namespace

MessageReader::MessageReader(Kind kind, Limits limits, Events& events)
    : kind_(kind), limits_(limits), events_(events) {
  // http-parser's own cap (80 KiB by default) must not come before ours.
  static const bool raised = (http_parser_set_max_header_size(2u << 20), true);
  (void)raised;
  http_parser_init(&parser_, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  setCallbacks();
}

void MessageReader::restart(Limits limits) {
  limits_ = limits;
  http_parser_init(&parser_, kind_ == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE);
  parser_.data = this;
  inHead_ = true;
  midMessage_ = false;
  paused_ = false;
  noBody_ = false;
  lastWasValue_ = false;
  error_ = Error{};
  headBytes_ = 0;
  previous_ = 0;
  lineStart_ = true;
  firstLine_ = true;
  sawColon_ = false;
  sawSpaceInName_ = false;
  trailerBytes_ = 0;
}

void MessageReader::recycleHead() {
  // Fields whose strings are not too long keep their buffers in spareFields, for the next
  // head's fields: heads are parsed without allocating once the head object is warm.
  constexpr size_t kMaxSpareCapacity = 256;
  constexpr size_t kMaxSpareFields = 32;
  MessageHead& head = *head_;
  for (HeaderField& field : head.headers) {
    if (head.spareFields.size() < kMaxSpareFields &&
        field.name.capacity() <= kMaxSpareCapacity &&
        field.value.capacity() <= kMaxSpareCapacity) {
      head.spareFields.push_back(std::move(field));
    }
  }
  head.headers.clear();
  if (head.headers.capacity() < kExpectedHeaderFields) {
    // One allocation instead of a growing vector's five; kept from head to head.
    head.headers.reserve(kExpectedHeaderFields);
  }
  head.method.clear();
  head.target.clear();
  head.reason.clear();
  head.status = 0;
  head.versionMajor = 1;
  head.versionMinor = 1;
  head.keepAlive = true;
  head.chunked = false;
  head.contentLength.reset();
  head.upgrade = false;
  head.expectContinue = false;
}

void MessageReader::setCallbacks() {
  settings_.on_message_begin = &MessageReader::onMessageBegin;
  settings_.on_url = &MessageReader::onUrl;
  settings_.on_status = &MessageReader::onStatus;
  settings_.on_header_field = &MessageReader::onHeaderField;
  settings_.on_header_value = &MessageReader::onHeaderValue;
  settings_.on_headers_complete = &MessageReader::onHeadersComplete;
  settings_.on_body = &MessageReader::onBody;
  settings_.on_message_complete = &MessageReader::onMessageComplete;
}

void MessageReader::fail(int status, std::string reason) {
  if (error_.status != 0) return;
  error_ = Error{status, std::move(reason)};
}

void MessageReader::failParser(int error) {
  if (failed()) return;  // a callback's own reason comes first
  std::string reason = http_errno_name(static_cast<http_errno>(error));
  if (reason.starts_with("HPE_")) reason = reason.substr(4);
  for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  fail(kind_ == Kind::Request ? 400 : 502, "malformed_" + reason);
}

void MessageReader::pause() {
  paused_ = true;
  http_parser_pause(&parser_, 1);
}

void MessageReader::resume() {
  if (!paused_) return;
  paused_ = false;
  http_parser_pause(&parser_, 0);
}

size_t MessageReader::scanHead(std::string_view data) {
  int badStatus = kind_ == Kind::Request ? 400 : 502;
  size_t i = 0;
  // Whole lines at a time while each is clean (the usual head): a CRLF-ended line with no
  // other CR, not folded, no blank before its colon. A line cut off by the end of the
  // data, or one with anything wrong, goes through the byte loop below, which says
  // exactly what is wrong.
  while (lineStart_ && previous_ != '\r' && i < data.size()) {
    const char* start = data.data() + i;
    const void* found = std::memchr(start, '\n', data.size() - i);
    if (found == nullptr) break;
    size_t length = static_cast<size_t>(static_cast<const char*>(found) - start) + 1;
    if (headBytes_ + length > limits_.maxHeaderBytes || length < 2 || start[length - 2] != '\r') {
      break;
    }
    if (length == 2) {  // the blank line: the head is complete
      headBytes_ += 2;
      previous_ = '\n';
      return i + 2;
    }
    std::string_view line(start, length - 2);
    if (line.find('\r') != std::string_view::npos) break;
    if (!firstLine_) {
      if (line.front() == ' ' || line.front() == '\t') break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) break;
      if (line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) break;
    }
    headBytes_ += length;
    previous_ = '\n';
    firstLine_ = false;
    sawColon_ = false;
    sawSpaceInName_ = false;
    i += length;
  }
  for (; i < data.size(); ++i) {
    char c = data[i];
    ++headBytes_;
    if (headBytes_ > limits_.maxHeaderBytes) {
      fail(kind_ == Kind::Request ? 431 : 502, "header_too_large");
      return i;
    }
    if (previous_ == '\r' && c != '\n') {
      fail(badStatus, "bare_cr");
      return i;
    }
    if (c == '\n' && previous_ != '\r') {
      fail(badStatus, "bare_lf");
      return i;
    }
    if (c == '\n') {
      previous_ = c;
      if (lineStart_) return i + 1;  // the blank line: the head is complete
      lineStart_ = true;
      firstLine_ = false;
      sawColon_ = false;
      sawSpaceInName_ = false;
      continue;
    }
    if (c != '\r') {
      if (lineStart_ && !firstLine_ && (c == ' ' || c == '\t')) {
        fail(badStatus, "obsolete_line_folding");
        return i;
      }
      if (!firstLine_ && !sawColon_) {
        if (c == ':') {
          if (sawSpaceInName_) {
            fail(badStatus, "space_before_colon");
            return i;
          }
          sawColon_ = true;
        } else if (c == ' ' || c == '\t') {
          sawSpaceInName_ = true;
        }
      }
      lineStart_ = false;
    }
    previous_ = c;
  }
  return data.size();
}

size_t MessageReader::feed(std::string_view data) {
  size_t consumed = 0;
  while (consumed < data.size() && !paused_ && !failed()) {
    std::string_view rest = data.substr(consumed);
    size_t chunk = rest.size();
    if (inHead_) {
      chunk = scanHead(rest);
      if (failed()) return consumed;
    }
    size_t parsed = http_parser_execute(&parser_, &settings_, rest.data(), chunk);
    consumed += parsed;
    http_errno error = HTTP_PARSER_ERRNO(&parser_);
    if (error == HPE_PAUSED) {
      continue;  // the loop ends on paused_
    }
    if (error != HPE_OK) {
      failParser(error);
      return consumed;
    }
    if (parser_.upgrade) {
      // The rest belongs to the upgraded protocol: the owner tunnels it.
      pause();
      return consumed;
    }
    if (parsed < chunk) return consumed;  // should not happen without an error
  }
  return consumed;
}

int MessageReader::countTrailer(size_t length) {
  trailerBytes_ += length;
  if (trailerBytes_ <= limits_.maxTrailerBytes) return 0;
  fail(kind_ == Kind::Request ? 431 : 502, "trailer_too_large");
  return -1;
}

bool MessageReader::validateAhead(std::span<const std::string_view> pieces) {
  if (failed()) return false;
  // A copy of the parser with no callbacks but the end of the message: it checks the
  // framing (chunk sizes, line ends) exactly as the real one will.
  http_parser copy = parser_;
  http_parser_pause(&copy, 0);
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_complete = [](http_parser* parser) {
    http_parser_pause(parser, 1);
    return 0;
  };
  for (std::string_view piece : pieces) {
    http_parser_execute(&copy, &settings, piece.data(), piece.size());
    http_errno error = HTTP_PARSER_ERRNO(&copy);
    if (error == HPE_PAUSED) return true;  // the message ended: what follows is the next one's
    if (error != HPE_OK) {
      failParser(error);
      return false;
    }
  }
  return true;
}

bool MessageReader::finish() {
  if (!midMessage_) return true;
  http_parser_execute(&parser_, &settings_, nullptr, 0);  // EOF ends a close-delimited body
  return !midMessage_;
}

int MessageReader::onMessageBegin(http_parser* parser) {
  MessageReader* reader = self(parser);
  MessageHead* owners = reader->events_.headForNextMessage();
  reader->head_ = owners != nullptr ? owners : &reader->ownHead_;
  reader->recycleHead();
  reader->midMessage_ = true;
  reader->lastWasValue_ = false;
  return 0;
}

int MessageReader::onUrl(http_parser* parser, const char* at, size_t length) {
  MessageReader* reader = self(parser);
  reader->head_->target.append(at, length);
  if (reader->head_->target.size() > reader->limits_.maxUrlBytes) {
    reader->fail(414, "uri_too_long");
    return -1;
  }
  return 0;
}

int MessageReader::onStatus(http_parser* parser, const char* at, size_t length) {
  self(parser)->head_->reason.append(at, length);
  return 0;
}

int MessageReader::onHeaderField(http_parser* parser, const char* at, size_t length) {
  MessageReader* reader = self(parser);
  if (!reader->inHead_) return reader->countTrailer(length);
  if (reader->lastWasValue_ || reader->head_->headers.empty()) {
    std::vector<HeaderField>& spare = reader->head_->spareFields;
    if (spare.empty()) {
      reader->head_->headers.push_back(HeaderField{});
    } else {
      HeaderField& field = reader->head_->headers.emplace_back(std::move(spare.back()));
      spare.pop_back();
      field.name.clear();
      field.value.clear();
    }
  }
  reader->head_->headers.back().name.append(at, length);
  reader->lastWasValue_ = false;
  return 0;
}

int MessageReader::onHeaderValue(http_parser* parser, const char* at, size_t length) {
  MessageReader* reader = self(parser);
  if (!reader->inHead_) return reader->countTrailer(length);
  reader->head_->headers.back().value.append(at, length);
  reader->lastWasValue_ = true;
  return 0;
}

int MessageReader::onHeadersComplete(http_parser* parser) {
  MessageReader* reader = self(parser);
  MessageHead& head = *reader->head_;
  head.versionMajor = parser->http_major;
  head.versionMinor = parser->http_minor;
  head.keepAlive = http_should_keep_alive(parser) != 0;
  head.chunked = (parser->flags & F_CHUNKED) != 0;
  if (parser->flags & F_CONTENTLENGTH) head.contentLength = parser->content_length;
  if (reader->kind_ == Kind::Request) {
    head.method = http_method_str(static_cast<http_method>(parser->method));
    head.upgrade = parser->upgrade != 0;
    if (head.upgrade && offersH2c(head)) {
      // Served as HTTP/1.1: http-parser goes on parsing this connection as HTTP/1.1.
      head.upgrade = false;
      parser->upgrade = 0;
      std::erase_if(head.headers, [](const HeaderField& field) {
        return equalsIgnoreCase(field.name, "Upgrade") ||
               equalsIgnoreCase(field.name, "HTTP2-Settings");
      });
    }
    const std::string* expect = head.find("Expect");
    head.expectContinue = expect != nullptr && equalsIgnoreCase(*expect, "100-continue");
  } else {
    head.status = static_cast<int>(parser->status_code);
    head.upgrade = head.status == 101;
  }
  reader->inHead_ = false;
  reader->trailerBytes_ = 0;
  reader->events_.onHead(head);
  if (reader->failed()) return -1;  // rejected by the owner: nothing more is parsed
  // Responses to HEAD have a head only; http-parser cannot know, so it is told.
  int skipBody = reader->kind_ == Kind::Response && reader->noBody_ ? 1 : 0;
  reader->pause();
  return skipBody;
}

int MessageReader::onBody(http_parser* parser, const char* at, size_t length) {
  self(parser)->events_.onBody(std::string_view(at, length));
  return 0;
}

int MessageReader::onMessageComplete(http_parser* parser) {
  MessageReader* reader = self(parser);
  reader->midMessage_ = false;
  reader->inHead_ = true;
  reader->headBytes_ = 0;
  reader->previous_ = 0;
  reader->lineStart_ = true;
  reader->firstLine_ = true;
  reader->sawColon_ = false;
  reader->sawSpaceInName_ = false;
  reader->events_.onMessageEnd();
  if (!reader->failed()) reader->pause();
  return 0;
}

}  // namespace readygate
