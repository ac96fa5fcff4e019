// Bytes both ways between two connections, with backpressure and half-close: TCP mode's whole
// data path, and an HTTP connection's after a 101 Upgrade.
#pragma once

#include <string_view>

#include "proxy/transport/stream_connection.h"

namespace readygate {

/// Takes over both connections' callbacks. What one side reads is written to the other
/// at once (speculatively, from the read block: no copy unless the kernel leaves some).
///
/// Backpressure: when the far side's queue passes `highWatermark`, reading from this side
/// stops until the far side has written it down to `lowWatermark`, so memory per pair stays
/// bounded whatever the speeds of the two ends.
/// Half-close: a FIN from one side is passed on as shutdown(SHUT_WR) once everything
/// before it has been written; the pump is done when both directions are shut.
class BytePump : private StreamConnection::Handler {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    /// Bytes moved (`bytes` read from the client side when `fromClient`), or a queue
    /// drained (`bytes` 0): the idle timer measures from here.
    virtual void onPumpActivity(bool fromClient, size_t bytes) = 0;
    /// Both directions are shut.
    virtual void onPumpClosed() = 0;
    /// A side failed (reset, error); whatever it had sent before is forwarded first.
    virtual void onPumpFailed(bool clientSide, int error) = 0;
  };

  struct Watermarks {
    size_t high = 64 * 1024;
    size_t low = 32 * 1024;
  };

  /// Not owned: the connections and the owner outlive the pump (the owner holds all).
  BytePump(StreamConnection& client, StreamConnection& upstream, Watermarks watermarks,
           Owner& owner);
  BytePump(const BytePump&) = delete;
  BytePump& operator=(const BytePump&) = delete;

  /// Sets the callbacks, forwards what already waits in either input, and reads on.
  /// `clientClosed`/`upstreamClosed`: that side's FIN came before the pump began.
  void start(bool clientClosed = false, bool upstreamClosed = false);

 private:
  struct Side {
    StreamConnection* connection;  // not owned
    bool eof = false;
    bool shutdownSent = false;
    bool pausedByPeer = false;
  };

  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection& connection) override;
  void onClosed(StreamConnection& connection, int error) override;

  Side& sideOf(StreamConnection& connection) {
    return &connection == client_.connection ? client_ : upstream_;
  }
  Side& peerOf(Side& side) { return &side == &client_ ? upstream_ : client_; }
  void forward(Side& from, Side& to);
  void endOfStream(Side& from, Side& to);
  /// True when the pump finished (the owner may have destroyed it).
  bool passShutdownIfFlushed(Side& from, Side& to);

  Side client_;
  Side upstream_;
  Watermarks watermarks_;
  Owner& owner_;
};

}  // namespace readygate
