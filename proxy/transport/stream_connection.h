// One stream socket with its read buffer and write queue: the connection every proxied session
// and upstream uses, with speculative writes and reads that never ask the kernel how much waits.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/socket_address.h"
#include "proxy/transport/input_buffer.h"
#include "proxy/transport/output_queue.h"
#include "proxy/transport/transport.h"

namespace readygate {

/// Owns a non-blocking socket. Reads: one recv per readiness into a pooled block (no
/// FIONREAD); the read event stays registered while reading is wanted and there is room,
/// so a keep-alive connection costs no epoll_ctl per request. Writes: speculative, as
/// HAProxy and nginx write: write()/writeParts() call the kernel at once, and only what it
/// leaves is queued and the write event armed until the queue is empty.
///
/// Every callback is the last thing the connection does in its event handler, so a
/// handler may destroy the connection (or close it) from inside any callback.
class StreamConnection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    /// New bytes in input(); consume() what was used. Bytes left stay for later (once the
    /// block is full, reading pauses until some are consumed).
    virtual void onInput(StreamConnection& connection) = 0;
    /// After a wait for the socket, the write queue came down to the drain mark.
    virtual void onDrained(StreamConnection& connection) = 0;
    /// The peer ended its stream (error 0: FIN; bytes before it stay in input()) or the
    /// connection failed (errno value). Reading has stopped.
    virtual void onClosed(StreamConnection& connection, int error) = 0;
    /// connect() finished: error 0, or why it failed.
    virtual void onConnected(StreamConnection&, int) {}
    /// startHandshake() finished: error 0, or why it failed (EPROTO: the transport
    /// refused the peer; it knows the details).
    virtual void onHandshake(StreamConnection&, int) {}
    /// Nothing came for the read timeout (setReadTimeout) while reading was wanted.
    virtual void onReadTimeout(StreamConnection&) {}
  };

  /// Takes ownership of `fd` (non-blocking, close-on-exec).
  StreamConnection(event_base* base, BufferPool& pool, int fd);
  ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  /// A new socket connecting to `address`; the outcome arrives through onConnected of
  /// `handler`, never inside this call. Null (and `error` set) when no attempt could start.
  static std::unique_ptr<StreamConnection> connectTo(event_base* base, BufferPool& pool,
                                                     const SocketAddress& address, Handler& handler,
                                                     int& error);

  /// Replaces plain TCP (TLS); before anything is read or written.
  void useTransport(std::unique_ptr<Transport> transport) {
    ownedTransport_ = std::move(transport);
    transport_ = ownedTransport_.get();
  }
  Transport& transport() const { return *transport_; }
  /// Runs the transport's handshake as the socket allows; onHandshake tells the end.
  /// Reading and writing wait until then.
  void startHandshake();

  /// Not owned. Every callback goes to the handler set last.
  void setHandler(Handler* handler) { handler_ = handler; }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }

  // Reading.
  std::string_view input() const { return input_.view(); }
  void consume(size_t bytes);
  /// Starts (or resumes) reading; until then bytes stay in the kernel.
  void resumeReading();
  void pauseReading();
  bool peerClosed() const { return peerClosed_; }
  /// onReadTimeout once `seconds` pass with no readiness to read while reading is
  /// wanted; every read starts the wait again (an idle timer that moves with traffic).
  /// 0 clears it. It rides on the read event, so an idle connection (a client between
  /// keep-alive requests) carries no timer of its own.
  void setReadTimeout(double seconds);

  // Writing.
  /// Queued without a system call; sent by the next write or flush().
  void append(std::string_view data) { output_.append(data); }
  /// Sends the queue and `parts` in one system call, queueing what the kernel leaves.
  /// True when nothing is left queued.
  bool writeParts(std::span<const std::string_view> parts);
  bool write(std::string_view data) { return writeParts(std::span(&data, 1)); }
  bool flush() { return writeParts({}); }
  size_t queued() const { return output_.size(); }
  /// onDrained comes once the queue is at or below `bytes` (0: empty).
  void setDrainMark(size_t bytes) { drainMark_ = bytes; }
  /// FIN to the peer; call once the queue is empty.
  void shutdownWrite();
  /// TCP_NODELAY: proxied bytes leave at once; the peers decide how to batch.
  void setNoDelay();

  /// Closes the socket now (the peer sees it at once); the object may live on inert.
  void close();
  /// A non-owning note of whom the connection leads to (the pool's backend).
  void setPeerTag(const void* tag) { peerTag_ = tag; }
  const void* peerTag() const { return peerTag_; }

 private:
  void updateReading();
  void registerReading();  // event_add of the read event, with the read timeout if any
  void armWriting();
  void disarmWriting();
  void stepHandshake();
  /// One readiness worth of reading, then onInput or onClosed (the last act).
  void readNow();
  void failWrite(int error);
  static void onReadable(evutil_socket_t, short, void* self);
  static void onWritable(evutil_socket_t, short, void* self);
  event* writeEvent();  // writeEvent_, made the first time it is needed

  event_base* base_;
  PlainTransport plain_;
  std::unique_ptr<Transport> ownedTransport_;  // TLS, when useTransport() was called
  Transport* transport_ = &plain_;             // not owned: plain_ or ownedTransport_
  Handler* handler_ = nullptr;                 // not owned
  InputBuffer input_;
  OutputQueue output_;
  EventPtr readEvent_;
  EventPtr writeEvent_;  // null until a write first has to wait
  size_t drainMark_ = 0;
  int fd_;
  uint32_t readTimeoutMs_ = 0;  // 0: none (milliseconds: 4 bytes, not a timeval's 16)
  int writeError_ = 0;
  const void* peerTag_ = nullptr;
  bool readWanted_ = false;
  bool readRegistered_ = false;
  bool writeRegistered_ = false;
  bool connecting_ = false;
  bool handshaking_ = false;
  bool readWaitsForWritable_ = false;  // the transport's read must send first (TLS)
  bool peerClosed_ = false;
};

}  // namespace readygate
