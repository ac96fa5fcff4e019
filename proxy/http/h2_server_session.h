// The server side of one HTTP/2 client connection on nghttp2, without I/O: requests come out
// translated to HTTP/1.1 heads, responses go in; unit tests and a fuzzer drive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config_types.h"
#include "proxy/http/http_message.h"
#include "proxy/http/nghttp2_session.h"


namespace readygate {

/// What HTTP/2 says of a stream or connection ending (RFC 9113 §7), the codes used here.
enum H2ErrorCode : uint32_t {
  kH2NoError = 0x0,
  kH2ProtocolError = 0x1,
  kH2InternalError = 0x2,
  kH2FlowControlError = 0x3,
  kH2SettingsTimeout = 0x4,
  kH2StreamClosed = 0x5,
  kH2RefusedStream = 0x7,
  kH2Cancel = 0x8,
  kH2EnhanceYourCalm = 0xb,
};

/// Bytes received go into receive(), bytes to send come out of nextOutput(); the owner
/// has the socket and the clock. Requests reach Events as checked HTTP/1.1 heads
/// (translateH2Request); a stream whose request breaks a rule is reset here and never
/// reaches Events. Response bodies wait per stream until the client's flow-control
/// window lets them go, so what a slow client costs is what the owner let queue.
///
/// Misbehaviour is counted as glitches (invalid frames, resets either way, empty DATA,
/// PING and SETTINGS beyond a budget, requests refused); past the threshold the
/// connection gets GOAWAY (ENHANCE_YOUR_CALM). nghttp2's own flood limits are on
/// (RST_STREAM rate, CONTINUATION count, queued ACKs, SETTINGS entries).
///
/// Submitting from inside Events is allowed (nghttp2 queues it); calling receive() or
/// nextOutput() from inside Events is not.
class H2ServerSession {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    /// A request's head; `endStream`: no body follows. `head` may be moved from.
    virtual void onRequestHead(int32_t stream, MessageHead& head, bool endStream) = 0;
    /// Body bytes (valid during the call only). Give them back with consume() once they
    /// are on their way: until then they hold the client's window.
    virtual void onRequestData(int32_t stream, std::string_view data) = 0;
    /// The request is complete; `trailers` ("name: value\r\n" lines, possibly empty)
    /// came after the body.
    virtual void onRequestEnd(int32_t stream, std::string_view trailers) = 0;
    /// The stream is over (done, or reset by either side: `errorCode` the reset's).
    virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
    /// The response body queued on `stream` came down to its drain mark.
    virtual void onResponseDrained(int32_t stream) = 0;
    /// `stream` was reset for breaking a rule (`reason`: a short token). `delivered`: its
    /// head had reached onRequestHead (onStreamClosed follows).
    virtual void onStreamRefused(int32_t, std::string_view, bool) {}
    /// The response bytes queued on all streams came down to the connection's drain mark.
    virtual void onConnectionDrained() {}
  };

  /// What happened, for the metrics (read and reset by the owner).
  struct Counters {
    uint64_t glitches = 0;
    uint64_t framesRefused = 0;  // invalid frames, and requests reset before any exchange
    uint64_t goawaysSent = 0;
    uint64_t goawaysReceived = 0;
    std::unordered_map<uint32_t, uint64_t> resetsSent;      // by error code
    std::unordered_map<uint32_t, uint64_t> resetsReceived;  // by error code
  };

  /// `maxHeaderListBytes` resolved (never 0).
  H2ServerSession(const Http2Settings& settings, uint32_t maxHeaderListBytes, Events& events);
  ~H2ServerSession();
  H2ServerSession(const H2ServerSession&) = delete;
  H2ServerSession& operator=(const H2ServerSession&) = delete;

  /// Queues the server's SETTINGS and opens the connection window. False: nghttp2 could
  /// not be set up (out of memory).
  bool start();
  /// Feeds what the client sent; `now` (seconds, monotonic) paces the PING and SETTINGS
  /// budget. False: the connection is over (what is queued says why: send it, then close).
  bool receive(std::string_view bytes, double now);
  /// The next bytes to send, valid until the next call into the session; empty when there
  /// is nothing to send now.
  std::string_view nextOutput();
  /// Nothing more will be read or sent (GOAWAY done, no stream open): close.
  bool finished() const;
  /// Our SETTINGS are still unacknowledged.
  bool settingsAckPending() const { return !settingsAcked_; }
  /// Streams whose request has been seen and that are not closed.
  size_t openStreams() const { return streams_.size(); }
  uint64_t streamsBegun() const { return streamsBegun_; }
  Counters& counters() { return counters_; }
  /// Why receive() last returned false, in nghttp2's or readygate's words ("" when not).
  std::string_view failure() const { return failure_; }

  // Responses.
  /// The response head for `stream`; `extra` fields (lowercase names) follow the
  /// backend's. `hasBody` false: the stream ends with the head.
  void submitResponse(int32_t stream, const MessageHead& response, bool hasBody,
                      const std::vector<HeaderField>& extra = {}, bool via = false);
  /// An interim 1xx head (100 Continue, 103 Early Hints).
  void submitInterim(int32_t stream, int status);
  void sendBody(int32_t stream, std::string_view data);
  /// The body is complete: END_STREAM once what is queued has gone, on a HEADERS frame
  /// of `trailers` (lowercase names; gRPC's status) when there are any.
  void endBody(int32_t stream, const std::vector<HeaderField>& trailers = {});
  /// Response bytes queued on `stream`, not yet given to nghttp2.
  size_t queuedBody(int32_t stream) const;
  /// onResponseDrained once the queue of `stream` is at or below `bytes`.
  void setDrainMark(int32_t stream, size_t bytes);
  /// Response bytes queued on all streams together.
  size_t queuedBodyTotal() const { return queuedTotal_; }
  /// onConnectionDrained once queuedBodyTotal() is at or below `bytes`.
  void setConnectionDrainMark(size_t bytes) { connectionDrainMark_ = bytes; }
  /// RST_STREAM. `clientsFault`: the client's behaviour caused it (counted a glitch).
  void resetStream(int32_t stream, uint32_t code, bool clientsFault);
  /// `bytes` of the request body of `stream` are on their way: the window reopens.
  void consume(int32_t stream, size_t bytes);

  // Endings.
  /// The first step of a graceful close: a GOAWAY that only announces it, and a PING
  /// whose answer (finishGracefulClose) measures the round trip. Once.
  void beginGracefulClose();
  bool closing() const { return gracefulBegun_; }
  /// The second step: GOAWAY with the last stream taken; streams above it were never
  /// begun and the client may send them again elsewhere. Open streams finish.
  void finishGracefulClose();
  bool gracefulFinished() const { return gracefulFinished_; }
  /// GOAWAY with `code` now; open streams are dropped once it is sent.
  void terminate(uint32_t code);

 private:
  struct Stream {
    std::vector<HeaderField> fields;  // of the head (or the trailers) being received
    size_t headerBytes = 0;
    bool headSeen = false;       // the request head was delivered
    bool refused = false;        // reset before it reached Events; its fields are ignored
    bool requestEnded = false;   // END_STREAM came from the client
    bool localReset = false;     // a reset that is not the client's fault
    bool hasContentLength = false;
    uint64_t contentLength = 0;
    uint64_t received = 0;    // DATA bytes of the body
    uint64_t unconsumed = 0;  // of them, not yet given back with consume()
    PendingBytes body;  // response bytes not yet taken by nghttp2
    size_t drainMark = SIZE_MAX;  // SIZE_MAX: nobody waits
    bool bodyEnded = false;
    bool bodyDeferred = false;  // nghttp2 was told to wait for bytes
    std::vector<HeaderField> trailers;  // of the response, after its body
  };

  Stream* find(int32_t stream);
  const Stream* find(int32_t stream) const;
  void glitch(uint64_t count = 1);
  /// PING and SETTINGS: free within a small budget that refills with time.
  void controlFrame();
  /// RST_STREAM for what the client sent (a glitch when it goes out).
  void refuse(int32_t stream, Stream& state, std::string_view reason,
              uint32_t code = kH2ProtocolError);
  void headersDone(int32_t stream, Stream& state, bool endStream);
  void resume(int32_t stream, Stream& state);
  /// The body's last DATA: EOF, and the trailers submitted to end the stream instead.
  void endWithTrailers(int32_t stream, Stream& state, uint32_t* flags);

  friend struct H2ServerCallbacks;
  Http2Settings settings_;
  uint32_t maxHeaderListBytes_;
  Events& events_;
  Nghttp2SessionPtr session_;
  std::unordered_map<int32_t, Stream> streams_;
  Counters counters_;
  uint64_t streamsBegun_ = 0;
  uint64_t glitchesSeen_ = 0;
  size_t queuedTotal_ = 0;
  size_t connectionDrainMark_ = SIZE_MAX;  // SIZE_MAX: nobody waits
  void bodyTaken(size_t bytes);
  int32_t lastRequestId_ = 0;  // the highest stream id a request has used
  // The last streams reset, whose frames already on the wire are no error.
  int32_t recentResets_[16] = {};
  size_t nextRecentReset_ = 0;  // counters_.glitches is the owner's to reset
  double now_ = 0;
  double controlBudget_;      // PING/SETTINGS frames allowed now
  double controlBudgetAt_ = -1;  // when it was last refilled (-1: not yet)
  bool settingsAcked_ = false;
  bool gracefulBegun_ = false;
  bool gracefulFinished_ = false;
  bool terminated_ = false;
  const char* failure_ = "";
};

}  // namespace readygate
