// The client side of one HTTP/2 connection to a backend on nghttp2, without I/O: requests go
// in as fields, responses come out as heads, body and trailers; unit tests and a fuzzer drive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/http/h2_server_session.h"
#include "proxy/http/http_message.h"
#include "proxy/http/nghttp2_session.h"


namespace readygate {

/// Bytes received go into receive(), bytes to send come out of nextOutput(); the owner has
/// the socket. Each request is one stream; the backend's answer reaches Events as a
/// MessageHead (lowercase names, :status as status), DATA, and trailers.
///
/// A stream the backend never began (RST_STREAM REFUSED_STREAM, or above the last stream
/// of its GOAWAY: RFC 9113 §8.7) closes with kH2RefusedStream: it may go to another
/// backend whatever its method.
///
/// Response DATA holds the backend's window until the owner gives it back with consume():
/// a slow client slows its own stream, not the connection.
class H2ClientSession {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    /// A response head (an interim 1xx too); `endStream`: nothing follows (trailers-only).
    virtual void onResponseHead(int32_t stream, MessageHead& head, bool endStream) = 0;
    /// Body bytes, valid during the call.
    virtual void onResponseData(int32_t stream, std::string_view data) = 0;
    /// The response is complete; `trailers` (lowercase names) came after the body.
    virtual void onResponseEnd(int32_t stream, std::vector<HeaderField>& trailers) = 0;
    /// The stream is over: 0 after its end, else the reset's code (kH2RefusedStream when
    /// the backend never began it). Never for a stream whose submitRequest failed.
    virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
    /// The request body queued on `stream` came down to its drain mark.
    virtual void onRequestDrained(int32_t) {}
  };

  struct Limits {
    uint32_t streamWindowBytes = 256 * 1024;      // per response
    uint32_t connectionWindowBytes = 4u << 20;    // all responses together
    uint32_t maxHeaderListBytes = 256 * 1024;     // a backend's head may be large (CSP, cookies)
  };

  H2ClientSession(const Limits& limits, Events& events);
  ~H2ClientSession();
  H2ClientSession(const H2ClientSession&) = delete;
  H2ClientSession& operator=(const H2ClientSession&) = delete;

  /// Queues the preface and SETTINGS (no push). False: nghttp2 could not be set up.
  bool start();
  /// Feeds what the backend sent. False: the connection is over (send what is queued,
  /// then close). A connection error nghttp2 answers itself (its GOAWAY queued) shows
  /// as failure() at once and as finished() once the GOAWAY is out.
  bool receive(std::string_view bytes);
  /// The next bytes to send, valid until the next call into the session; empty when none.
  std::string_view nextOutput();
  /// Nothing more to read or send: close.
  bool finished() const;
  /// Why the connection ended ("" while it has not).
  std::string_view failure() const { return failure_; }

  /// Opens a stream: `fields` are the request's, pseudo-headers first, names lowercase.
  /// `endStream`: no body. The stream id, or 0 when none can be opened now (GOAWAY came,
  /// ids ran out, or nghttp2 refused).
  int32_t submitRequest(const std::vector<HeaderField>& fields, bool endStream);
  void sendBody(int32_t stream, std::string_view data);
  /// The request is complete: END_STREAM after what is queued, with `trailers` if any.
  void endRequest(int32_t stream, std::vector<HeaderField> trailers = {});
  size_t queuedBody(int32_t stream) const;
  /// onRequestDrained once the queue of `stream` is at or below `bytes`.
  void setDrainMark(int32_t stream, size_t bytes);
  /// `bytes` of the response on `stream` are on their way to the client: its window reopens.
  void consume(int32_t stream, size_t bytes);
  /// RST_STREAM (CANCEL when the client went away). onStreamClosed follows.
  void resetStream(int32_t stream, uint32_t code);
  /// The owner is done with `stream`: CANCEL while its response is unfinished; NO_ERROR
  /// when the response came whole before the request did (the rest is not wanted, and
  /// the stream would hold a concurrency slot forever); nothing once both ends are done.
  void release(int32_t stream);

  /// Streams open (submitted and not closed).
  size_t openStreams() const { return streams_.size(); }
  /// What the backend allows at once (its SETTINGS_MAX_CONCURRENT_STREAMS; until its
  /// SETTINGS come, 100 (RFC 9113 §6.5.2 asks servers for no less) or what assumeMaxStreams
  /// said.
  uint32_t peerMaxStreams() const;
  /// Before the backend's SETTINGS: what its other connections said it allows.
  void assumeMaxStreams(uint32_t streams) { assumedMaxStreams_ = streams; }
  bool settingsReceived() const { return settingsReceived_; }
  /// One more stream may be opened now.
  bool hasRoom() const;
  /// The backend said GOAWAY: no new stream goes on this connection.
  bool goawayReceived() const { return goawayReceived_; }
  /// Our GOAWAY: open streams finish, no new one opens.
  void shutdown();

  struct Counters {
    uint64_t goawaysReceived = 0;
    uint64_t refusedStreams = 0;  // closed as never begun by the backend
  };
  Counters& counters() { return counters_; }

 private:
  struct Stream {
    std::vector<HeaderField> fields;  // of the head or trailers being received
    size_t headerBytes = 0;
    bool finalHeadSeen = false;
    bool responseEnded = false;
    bool tooLarge = false;
    PendingBytes body;  // request bytes not yet taken by nghttp2
    size_t drainMark = SIZE_MAX;
    bool bodyEnded = false;
    bool bodyDeferred = false;
    bool neverSent = false;  // its HEADERS were not sent (a GOAWAY came first)
    std::vector<HeaderField> trailers;  // of the request, sent after its body
    uint64_t unconsumed = 0;
  };
  Stream* find(int32_t stream);
  const Stream* find(int32_t stream) const;
  void resume(int32_t stream, Stream& state);
  void headersDone(int32_t stream, Stream& state, bool endStream);

  friend struct H2ClientCallbacks;
  Limits limits_;
  Events& events_;
  Nghttp2SessionPtr session_;
  std::unordered_map<int32_t, Stream> streams_;
  Counters counters_;
  bool goawayReceived_ = false;
  bool settingsReceived_ = false;
  uint32_t assumedMaxStreams_ = 100;
  bool shutdown_ = false;
  bool failed_ = false;
  std::string failure_;
};

}  // namespace readygate
