// How bytes cross a connection's socket: plain TCP here; TLS is the next implementation.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>

namespace readygate {

/// What one read or write did: `bytes` moved (>0), or the end of the stream (a read of 0
/// with no error), or `error` (EAGAIN: try again when the socket is ready).
struct IoResult {
  ssize_t bytes = 0;
  int error = 0;
};

/// The byte layer under StreamConnection. StreamConnection owns the socket, its events
/// and buffers; a Transport only moves bytes. TLS plugs in here (issue 19): a
/// TlsTransport over the same fd runs the handshake inside its first read or write,
/// maps SSL_ERROR_WANT_READ/WRITE to EAGAIN and adds to IoResult which readiness it
/// waits for (SSL_read may need the socket writable during a handshake or key update),
/// and exposes the ALPN result, so sessions above see the same connection either way.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual IoResult read(int fd, char* into, size_t size) = 0;
  virtual IoResult write(int fd, const iovec* vectors, int count) = 0;
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
