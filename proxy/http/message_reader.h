// Streaming reader of HTTP/1.x messages on http-parser, with the checks that keep requests
// unambiguous.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/http/http_message.h"

namespace readygate {

/// Reads one direction of a connection: requests from a client or responses from a
/// backend. Bodies are never buffered: each piece is handed to `onBody` as it is
/// parsed, without its framing (chunk sizes are gone, so the writer re-frames).
///
/// Trailers are read and dropped (nothing readygate forwards needs them), and a trailer
/// section is limited to maxTrailerBytes on its own: past it the message fails with
/// `trailer_too_large` (431 for requests).
///
/// A request whose Upgrade offers h2c is read as a plain HTTP/1.1 request: Upgrade and
/// HTTP2-Settings are dropped from its head (see offersH2c).
///
/// Before http-parser sees a head, the raw head bytes are checked for what parsers
/// disagree on (request smuggling): a bare CR or LF, obsolete line folding, whitespace
/// before a header's colon. http-parser itself rejects Content-Length together with
/// Transfer-Encoding, a repeated Content-Length, a Transfer-Encoding that does not end
/// in chunked (requests) and bad chunk sizes. Any of these is an error: nothing of the
/// message may be forwarded.
///
/// The reader pauses after each head and after each message end, so its owner decides
/// when to go on (a pipelined request waits until the response before it is done).
class MessageReader {
 public:
  enum class Kind { Request, Response };

  class Events {
   public:
    virtual ~Events() = default;
    /// Where the next message's head is parsed (asked at its first byte): the owner's,
    /// which keeps it and its buffers (an exchange's, pooled per worker), or null for the
    /// reader's own.
    virtual MessageHead* headForNextMessage() { return nullptr; }
    virtual void onHead(MessageHead& head) = 0;
    virtual void onBody(std::string_view data) = 0;
    virtual void onMessageEnd() = 0;
  };

  struct Limits {
    size_t maxHeaderBytes = 32 * 1024;
    size_t maxUrlBytes = 8 * 1024;
    size_t maxTrailerBytes = 32 * 1024;  // a trailer section, on its own
  };

  /// What went wrong, as the status a proxy answers with and a reason token.
  struct Error {
    int status = 0;  // 400, 414, 431 (requests); 502 for a bad response
    std::string reason;
  };

  MessageReader(Kind kind, Limits limits, Events& events);
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;

  /// As new, with `limits`, for the next connection's or exchange's messages; the buffers
  /// of the heads read before are kept for reuse.
  void restart(Limits limits);

  /// Parses what it can of `data`; returns the bytes consumed. Stops early when paused
  /// (after a head or a message end) or on an error.
  size_t feed(std::string_view data);
  /// The peer closed: ends a message whose end is its close (a response without
  /// length). Returns false when a message was cut short.
  bool finish();
  /// Goes on after a pause.
  void resume();
  bool paused() const { return paused_; }
  bool failed() const { return error_.status != 0; }
  const Error& error() const { return error_; }
  /// Inside a message (its head at least begun), as opposed to between messages.
  bool midMessage() const { return midMessage_; }
  /// Past the head of a message, before its end: reading its body (or trailers).
  bool inBody() const { return midMessage_ && !inHead_; }
  /// Responses: the request being answered was HEAD, so no body follows the head.
  void expectNoBody(bool noBody) { noBody_ = noBody; }
  /// From inside onHead: the head is refused (a 101 nobody asked for, say); the reader
  /// fails with `status` and `reason` and parses nothing more.
  void reject(int status, std::string reason) { fail(status, std::move(reason)); }
  /// Whether `pieces`, the bytes that follow what was fed so far, parse without an error
  /// up to the end of the current message; nothing is consumed, no event is raised (a
  /// copy of the parser runs over them). The owner calls it before it forwards a
  /// request's head or body, so nothing of a request reaches a backend before every byte
  /// of it at hand has been checked. Sets the error when they do not parse.
  bool validateAhead(std::span<const std::string_view> pieces);

 private:
  static int onMessageBegin(http_parser* parser);
  static int onUrl(http_parser* parser, const char* at, size_t length);
  static int onStatus(http_parser* parser, const char* at, size_t length);
  static int onHeaderField(http_parser* parser, const char* at, size_t length);
  static int onHeaderValue(http_parser* parser, const char* at, size_t length);
  static int onHeadersComplete(http_parser* parser);
  static int onBody(http_parser* parser, const char* at, size_t length);
  static int onMessageComplete(http_parser* parser);

  /// Checks raw head bytes; returns how many belong to the head (up to and including
  /// its blank line), or all of `data` when the head goes on. Sets error_ on a problem.
  size_t scanHead(std::string_view data);
  void fail(int status, std::string reason);
  void setCallbacks();
  /// Empties head_ for the next message, keeping its buffers for the next fields.
  void recycleHead();
  /// Fails with http-parser's error as the reason ("malformed_invalid_chunk_size").
  void failParser(int error);
  void pause();
  /// Counts trailer bytes; -1 (and the error) past the limit.
  int countTrailer(size_t length);

  const Kind kind_;
  Limits limits_;
  Events& events_;
  http_parser parser_;
  http_parser_settings settings_;
  MessageHead ownHead_;
  MessageHead* head_ = &ownHead_;  // not owned when the events gave one (an exchange's)
  bool inHead_ = true;
  bool midMessage_ = false;
  bool paused_ = false;
  bool noBody_ = false;
  bool lastWasValue_ = false;
  Error error_;
  // Head scanning state.
  size_t headBytes_ = 0;
  char previous_ = 0;
  bool lineStart_ = true;
  bool firstLine_ = true;
  bool sawColon_ = false;
  bool sawSpaceInName_ = false;
  size_t trailerBytes_ = 0;  // of the trailer section being read, limited as a head is
};

}  // namespace readygate
