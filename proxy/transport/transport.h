// How bytes cross a connection's socket: the interface, and plain TCP (TLS: tls_transport.h).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <string_view>

namespace readygate {

/// What one read or write did: `bytes` moved (>0), or the end of the stream (a read of 0
/// with no error), or `error` (EAGAIN: try again when the socket is ready).
struct IoResult {
  ssize_t bytes = 0;
  int error = 0;
  /// With EAGAIN: the transport waits for the socket to turn writable, not readable (a
  /// TLS read that must send first, or a handshake step).
  bool wantWrite = false;
};

/// The byte layer under StreamConnection. StreamConnection owns the socket, its events
/// and buffers; a Transport only moves bytes (and, for TLS, runs a handshake first), so
/// sessions above see the same connection either way.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual IoResult read(int fd, char* into, size_t size) = 0;
  virtual IoResult write(int fd, const iovec* vectors, int count) = 0;
  /// One step of the handshake: bytes 1 when it is done, EAGAIN (with wantWrite) while it
  /// waits for the socket, or an error. Plain TCP has none.
  virtual IoResult handshake(int) { return {1, 0}; }
  /// Bytes already read from the socket and not yet returned by read(): the socket will
  /// not turn readable for them, so the reader must ask again.
  virtual bool hasBuffered() const { return false; }
  /// The stream's orderly end in the transport's own terms (TLS close_notify), before
  /// shutdown(SHUT_WR) or close(). Never blocks.
  virtual void sayGoodbye(int) {}
  /// The name the client asked for (TLS SNI); "" when none, and for plain TCP.
  virtual std::string_view serverName() const { return {}; }
  /// The protocol agreed by TLS ALPN ("h2"); "" when none, and for plain TCP.
  virtual std::string_view alpn() const { return {}; }
};

/// Plain TCP: recv, and send or sendmsg, nothing else (no FIONREAD, no SIGPIPE).
class PlainTransport final : public Transport {
 public:
  IoResult read(int fd, char* into, size_t size) override {
    ssize_t got = ::recv(fd, into, size, 0);
    return got >= 0 ? IoResult{got, 0} : IoResult{0, errno};
  }
  IoResult write(int fd, const iovec* vectors, int count) override {
    if (count == 1) {  // the kernel's shorter path: no msghdr or iovec array to import
      ssize_t sent = ::send(fd, vectors[0].iov_base, vectors[0].iov_len, MSG_NOSIGNAL);
      return sent >= 0 ? IoResult{sent, 0} : IoResult{0, errno};
    }
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(vectors);
    message.msg_iovlen = static_cast<size_t>(count);
    ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    return sent >= 0 ? IoResult{sent, 0} : IoResult{0, errno};
  }
};

}  // namespace readygate
