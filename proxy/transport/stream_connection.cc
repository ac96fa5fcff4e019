// StreamConnection implementation.
#include "proxy/transport/stream_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace readygate {
namespace {

/// iovecs per system call: a queue of a few blocks and the pieces of one response.
constexpr int kMaxVectors = 16;

}  // namespace

StreamConnection::StreamConnection(event_base* base, BufferPool& pool, int fd)
    : base_(base), input_(pool), output_(pool), fd_(fd) {
  readEvent_.reset(
      event_new(base_, fd_, EV_READ | EV_PERSIST, &StreamConnection::onReadable, this));
}

event* StreamConnection::writeEvent() {
  // Made on first need: most connections never wait to write, and an idle one is
  // 144 bytes smaller without it.
  if (!writeEvent_) {
    writeEvent_.reset(
        event_new(base_, fd_, EV_WRITE | EV_PERSIST, &StreamConnection::onWritable, this));
  }
  return writeEvent_.get();
}

StreamConnection::~StreamConnection() { close(); }

std::unique_ptr<StreamConnection> StreamConnection::connectTo(event_base* base, BufferPool& pool,
                                                              const SocketAddress& address,
                                                              Handler& handler, int& error) {
  int fd = newStreamSocket(address.family());
  if (fd < 0) {
    error = errno;
    return nullptr;
  }
  auto connection = std::make_unique<StreamConnection>(base, pool, fd);
  connection->setHandler(&handler);
  if (::connect(fd, address.sockaddrPtr(), address.length()) != 0 && errno != EINPROGRESS) {
    error = errno;
    return nullptr;  // closes fd
  }
  // Done or in progress, the result is read from the socket when it turns writable.
  connection->connecting_ = true;
  connection->armWriting();
  return connection;
}

void StreamConnection::close() {
  if (fd_ < 0) return;
  if (!handshaking_ && !connecting_ && writeError_ == 0) transport_->sayGoodbye(fd_);
  readEvent_.reset();
  writeEvent_.reset();
  ::close(fd_);
  fd_ = -1;
  readRegistered_ = writeRegistered_ = false;
  input_.consume(input_.size());
  output_.clear();
}

void StreamConnection::consume(size_t bytes) {
  bool wasFull = input_.full();
  input_.consume(bytes);
  if (wasFull) updateReading();
}

void StreamConnection::resumeReading() {
  readWanted_ = true;
  updateReading();
}

void StreamConnection::pauseReading() {
  readWanted_ = false;
  updateReading();
}

void StreamConnection::setReadTimeout(double seconds) {
  // Rounded up to a whole millisecond, and at most about 49 days (the config's limits
  // are far below either end).
  double milliseconds = seconds > 0 ? std::ceil(std::min(seconds * 1000.0, 4.29e9)) : 0.0;
  readTimeoutMs_ = static_cast<uint32_t>(milliseconds);
  if (!readRegistered_ || !readEvent_) return;
  if (seconds > 0) {
    registerReading();  // a pending event only has its timeout replaced: no epoll_ctl
  } else {
    event_remove_timer(readEvent_.get());
  }
}

void StreamConnection::registerReading() {
  if (readTimeoutMs_ == 0) {
    event_add(readEvent_.get(), nullptr);
    return;
  }
  timeval timeout{static_cast<time_t>(readTimeoutMs_ / 1000),
                  static_cast<suseconds_t>(readTimeoutMs_ % 1000) * 1000};
  event_add(readEvent_.get(), &timeout);
}

void StreamConnection::startHandshake() {
  handshaking_ = true;
  readRegistered_ = true;
  registerReading();
  // The first step runs on the next pass, whatever the socket says: a client must send
  // its hello first, and a server's peer has often sent its hello already.
  event_active(readEvent_.get(), EV_READ, 0);
}

void StreamConnection::stepHandshake() {
  IoResult step = transport_->handshake(fd_);
  if (step.error == EAGAIN) {
    // Wait for the one readiness the transport asks for.
    if (step.wantWrite) {
      armWriting();
    } else {
      disarmWriting();
    }
    if (!readRegistered_ && !step.wantWrite) {
      readRegistered_ = true;
      registerReading();
    } else if (readRegistered_ && step.wantWrite) {
      readRegistered_ = false;
      event_del(readEvent_.get());
    }
    return;
  }
  handshaking_ = false;
  disarmWriting();
  if (!output_.empty()) armWriting();
  if (readRegistered_) {
    // Reading stays registered for the session that takes over, which nearly always
    // reads at once: deregistering now and registering again would be two epoll_ctl
    // calls per connection. One that does not want to read is deregistered by the first
    // readiness (onReadable). A request that came with the client's Finished is already
    // in the transport: the socket will not signal it.
    if (transport_->hasBuffered()) event_active(readEvent_.get(), EV_READ, 0);
  } else {
    updateReading();
  }
  handler_->onHandshake(*this, step.error);
}

void StreamConnection::updateReading() {
  if (handshaking_) return;  // stepHandshake decides
  bool want = fd_ >= 0 && readWanted_ && !peerClosed_ && !input_.full() && !connecting_;
  if (want == readRegistered_) return;
  readRegistered_ = want;
  if (want) {
    registerReading();
    // Bytes the transport already holds (TLS records read with the handshake, or past a
    // full block) make the socket no more readable: read them on the next pass.
    if (transport_->hasBuffered()) event_active(readEvent_.get(), EV_READ, 0);
  } else {
    event_del(readEvent_.get());
  }
}

void StreamConnection::armWriting() {
  if (writeRegistered_ || fd_ < 0) return;
  writeRegistered_ = true;
  event_add(writeEvent(), nullptr);
}

void StreamConnection::disarmWriting() {
  if (!writeRegistered_ || fd_ < 0) return;
  writeRegistered_ = false;
  event_del(writeEvent_.get());
}

void StreamConnection::failWrite(int error) {
  // Reported from the write event, never inside the caller's write: the caller may be
  // in the middle of a callback of the other connection.
  writeError_ = error;
  output_.clear();
  armWriting();
  event_active(writeEvent(), EV_WRITE, 0);
}

bool StreamConnection::writeParts(std::span<const std::string_view> parts) {
  if (fd_ < 0 || writeError_ != 0) return false;
  size_t partBytes = 0;
  for (std::string_view part : parts) partBytes += part.size();
  if (writeRegistered_ || connecting_ || handshaking_) {
    // Waiting for the socket already: order is kept by queueing behind what waits.
    for (std::string_view part : parts) output_.append(part);
    return false;
  }
  if (output_.empty() && partBytes == 0) return true;
  iovec vectors[kMaxVectors];
  int count = output_.peek(vectors, kMaxVectors);
  size_t firstPart = 0;
  for (; firstPart < parts.size() && count < kMaxVectors; ++firstPart) {
    if (parts[firstPart].empty()) continue;
    vectors[count].iov_base = const_cast<char*>(parts[firstPart].data());
    vectors[count].iov_len = parts[firstPart].size();
    ++count;
  }
  IoResult result = transport_->write(fd_, vectors, count);
  if (result.error != 0 && result.error != EAGAIN && result.error != EWOULDBLOCK &&
      result.error != EINTR) {
    failWrite(result.error);
    return false;
  }
  size_t sent = static_cast<size_t>(std::max<ssize_t>(result.bytes, 0));
  size_t fromQueue = std::min(sent, output_.size());
  output_.consume(fromQueue);
  sent -= fromQueue;
  // What the kernel left of the parts is copied into the queue, in order.
  for (std::string_view part : parts) {
    size_t skip = std::min(sent, part.size());
    sent -= skip;
    if (skip < part.size()) output_.append(part.substr(skip));
  }
  if (output_.empty()) return true;
  armWriting();
  return false;
}

void StreamConnection::shutdownWrite() {
  if (fd_ < 0) return;
  transport_->sayGoodbye(fd_);
  ::shutdown(fd_, SHUT_WR);
}

void StreamConnection::setNoDelay() {
  int on = 1;
  if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void StreamConnection::onReadable(evutil_socket_t, short what, void* self) {
  auto* connection = static_cast<StreamConnection*>(self);
  if (connection->handshaking_) {
    connection->stepHandshake();
    return;
  }
  if ((what & EV_TIMEOUT) != 0 && (what & EV_READ) == 0) {
    if (connection->readWanted_) connection->handler_->onReadTimeout(*connection);
    return;
  }
  if (!connection->readWanted_) {
    connection->updateReading();  // registered past a handshake for nobody: not wanted now
    return;
  }
  connection->readNow();
}

void StreamConnection::readNow() {
  size_t got = 0;
  IoResult result;
  // One read per readiness, except that bytes a TLS transport already holds must be
  // asked for: the socket will not signal them again.
  do {
    auto [into, room] = input_.space();
    if (room == 0) break;
    result = transport_->read(fd_, into, room);
    input_.commit(static_cast<size_t>(std::max<ssize_t>(result.bytes, 0)));
    if (result.bytes <= 0) break;
    got += static_cast<size_t>(result.bytes);
  } while (transport_->hasBuffered());
  if (result.error == EAGAIN && result.wantWrite != readWaitsForWritable_) {
    readWaitsForWritable_ = result.wantWrite;
    if (readWaitsForWritable_) armWriting();
  }
  if (got > 0) {
    if (input_.full()) updateReading();  // full: wait until the handler consumes
    // The stream ended right behind the bytes (a TLS close_notify in the same read):
    // the end is read again and told on the next pass, after the bytes.
    bool ended = result.bytes <= 0 && result.error != EAGAIN && result.error != EWOULDBLOCK &&
                 result.error != EINTR;
    if (ended) event_active(readEvent_.get(), EV_READ, 0);
    handler_->onInput(*this);
    return;
  }
  if (input_.full()) {
    updateReading();
    return;
  }
  if (result.error == EAGAIN || result.error == EWOULDBLOCK || result.error == EINTR) return;
  peerClosed_ = true;
  updateReading();
  handler_->onClosed(*this, result.error);
}

void StreamConnection::onWritable(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<StreamConnection*>(self);
  if (connection->handshaking_) {
    connection->stepHandshake();
    return;
  }
  if (connection->readWaitsForWritable_) {
    // The transport's read had to send first (TLS key update): read again now, and
    // flush what waits on the next pass if reading leaves the event armed.
    connection->readWaitsForWritable_ = false;
    if (connection->output_.empty()) connection->disarmWriting();
    connection->readNow();
    return;
  }
  if (connection->connecting_) {
    connection->connecting_ = false;
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(connection->fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (connection->output_.empty()) {
      connection->writeRegistered_ = false;
      event_del(connection->writeEvent_.get());
    }
    connection->updateReading();
    connection->handler_->onConnected(*connection, error);
    return;
  }
  if (connection->writeError_ != 0) {
    connection->writeRegistered_ = false;
    event_del(connection->writeEvent_.get());
    connection->peerClosed_ = true;
    connection->updateReading();
    connection->handler_->onClosed(*connection, connection->writeError_);
    return;
  }
  connection->writeRegistered_ = false;  // writeParts writes only while not waiting
  bool drained = connection->flush();
  if (drained) {
    event_del(connection->writeEvent_.get());
  } else if (connection->writeError_ != 0) {
    return;  // failWrite re-armed the event: reported on the next pass
  } else {
    connection->writeRegistered_ = true;  // still armed (persistent)
  }
  if (connection->output_.size() <= connection->drainMark_) {
    connection->handler_->onDrained(*connection);
  }
}

}  // namespace readygate
