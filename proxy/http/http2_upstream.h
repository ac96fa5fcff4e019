// One multiplexed HTTP/2 connection to a backend (h2 or h2c): its socket, its client session,
// and the exchanges whose streams it carries.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/core/clock.h"
#include "proxy/core/libevent_handles.h"
#include "proxy/http/h2_client_session.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/upstream/backend.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Owned by the worker's Http2UpstreamPool. Streams belong to exchanges: each opens one
/// with open() and lets it go with release(); until then its StreamHandler hears of it.
/// The session's output leaves in one send per loop pass (a deferred flush event).
///
/// A connection in doubt (a protocol error, a close, our GOAWAY sent) takes no new stream;
/// once it has none open it closes, and the pool deletes it outside its callbacks.
class Http2Upstream : private StreamConnection::Handler, private H2ClientSession::Events {
 public:
  /// What one stream's exchange hears. The calls may end the stream (release()).
  class StreamHandler {
   public:
    virtual ~StreamHandler() = default;
    virtual void onStreamHead(MessageHead& head, bool endStream) = 0;
    virtual void onStreamData(std::string_view data) = 0;
    virtual void onStreamEnd(std::vector<HeaderField>& trailers) = 0;
    /// Over before its end: `code` the reset's (kH2RefusedStream: never begun by the
    /// backend); `connectionLost` when the connection went without saying.
    virtual void onStreamFailed(uint32_t code, bool connectionLost) = 0;
    /// The request body queued came down to the drain mark.
    virtual void onStreamDrained() = 0;
  };

  /// `service` is the one whose request opened it: its metrics count the connection.
  Http2Upstream(event_base* base, std::shared_ptr<Service> service,
                std::shared_ptr<Backend> backend, std::string identity,
                std::unique_ptr<StreamConnection> connection, double idleTimeoutSeconds,
                const Clock& clock);
  ~Http2Upstream() override;
  Http2Upstream(const Http2Upstream&) = delete;
  Http2Upstream& operator=(const Http2Upstream&) = delete;

  /// Sends the preface and SETTINGS. False: the session could not be made (closed).
  bool start();

  /// A new stream for `handler` (not owned; it calls release() before it goes). 0 when
  /// the connection has no room.
  int32_t open(StreamHandler& handler, const std::vector<HeaderField>& fields, bool endStream);
  void sendBody(int32_t stream, std::string_view data);
  void endRequest(int32_t stream, std::vector<HeaderField> trailers);
  size_t queuedBody(int32_t stream) const { return session_.queuedBody(stream); }
  void setDrainMark(int32_t stream, size_t bytes) { session_.setDrainMark(stream, bytes); }
  void consume(int32_t stream, size_t bytes);
  /// The exchange is done with `stream`: reset unless it is over (H2ClientSession::
  /// release); no callback reaches the handler after this.
  void release(int32_t stream);

  bool hasRoom() const { return usable() && session_.hasRoom(); }
  /// The backend said GOAWAY on this connection: it is shutting down (or recycling it).
  bool goawayReceived() const { return session_.goawayReceived(); }
  void assumeMaxStreams(uint32_t streams) { session_.assumeMaxStreams(streams); }
  /// The backend's stream limit, once its SETTINGS came (0 before).
  uint32_t peerMaxStreams() const { return session_.settingsReceived() ? session_.peerMaxStreams() : 0; }
  /// Still fit for new streams (not closing, not failed).
  bool usable() const { return !closing_ && connection_ && connection_->open(); }
  /// Our GOAWAY (the backend left rotation, or the connection idled out): open streams
  /// finish, then it closes.
  void retire();
  /// Closed and with no stream: the pool may delete it.
  bool dead() const { return dead_; }
  size_t openStreams() const { return handlers_.size(); }
  const Backend& backend() const { return *backend_; }
  const std::string& identity() const { return identity_; }
  /// When its last stream ended (or it opened), for the idle timeout.
  double idleSince() const { return idleSince_; }
  double idleTimeoutSeconds() const { return idleTimeoutSeconds_; }

 private:
  // StreamConnection::Handler
  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection& connection, int error) override;
  // H2ClientSession::Events
  void onResponseHead(int32_t stream, MessageHead& head, bool endStream) override;
  void onResponseData(int32_t stream, std::string_view data) override;
  void onResponseEnd(int32_t stream, std::vector<HeaderField>& trailers) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onRequestDrained(int32_t stream) override;

  StreamHandler* handler(int32_t stream);
  void scheduleFlush();
  void flush();
  /// The connection is gone: every stream still open fails, the socket closes.
  void fail(bool connectionLost);
  void maybeClose();
  /// The socket is closed: counted once.
  void markDead();

  event_base* base_;
  const Clock& clock_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<Backend> backend_;
  std::string identity_;
  std::unique_ptr<StreamConnection> connection_;
  H2ClientSession session_;
  std::unordered_map<int32_t, StreamHandler*> handlers_;  // not owned: the exchanges
  EventPtr flushEvent_;
  bool flushScheduled_ = false;
  bool closing_ = false;
  bool dead_ = false;
  bool inCallback_ = false;
  uint64_t streamsCarried_ = 0;
  double idleTimeoutSeconds_;
  double idleSince_;
  uint64_t goawaysCounted_ = 0;
};

}  // namespace readygate
