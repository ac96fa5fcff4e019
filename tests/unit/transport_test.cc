// The transport layer on real sockets (a socketpair): pooled reads, speculative writes, what the
// kernel leaves queued, half-close and errors, and the buffers going back to the pool.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "proxy/core/event_loop.h"
#include "proxy/transport/output_queue.h"
#include "proxy/transport/stream_connection.h"

namespace readygate {
namespace {

TEST(OutputQueue, KeepsBytesInOrderAcrossBlocksAndGivesThemBack) {
  BufferPool pool(8, 4);
  OutputQueue queue(pool);
  queue.append("0123456789abcdefXYZ");  // three blocks of 8
  EXPECT_EQ(queue.size(), 19u);
  EXPECT_EQ(pool.inUse(), 3u);
  iovec vectors[4];
  ASSERT_EQ(queue.peek(vectors, 4), 3);
  std::string joined;
  for (int i = 0; i < 3; ++i) joined.append(static_cast<char*>(vectors[i].iov_base), vectors[i].iov_len);
  EXPECT_EQ(joined, "0123456789abcdefXYZ");
  queue.consume(10);  // into the second block
  ASSERT_EQ(queue.peek(vectors, 4), 2);
  EXPECT_EQ(std::string(static_cast<char*>(vectors[0].iov_base), vectors[0].iov_len), "abcdef");
  EXPECT_EQ(pool.inUse(), 2u);
  queue.consume(9);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(pool.inUse(), 0u) << "an empty queue holds no block";
}

TEST(InputBuffer, HoldsABlockOnlyWhileBytesWait) {
  BufferPool pool(16, 4);
  InputBuffer input(pool);
  auto [into, room] = input.space();
  ASSERT_EQ(room, 16u);
  std::memcpy(into, "hello world", 11);
  input.commit(11);
  EXPECT_EQ(input.view(), "hello world");
  input.consume(6);
  EXPECT_EQ(input.view(), "world");
  EXPECT_EQ(pool.inUse(), 1u);
  input.consume(5);
  EXPECT_EQ(pool.inUse(), 0u);
  auto [again, space] = input.space();
  (void)again;
  input.commit(0);  // a read that brought nothing gives the block back
  EXPECT_EQ(pool.inUse(), 0u);
  EXPECT_EQ(space, 16u);
}

/// Records what a connection reports.
struct Recorder : StreamConnection::Handler {
  std::string input;
  int drained = 0;
  int closed = -1;  // the error, once closed
  bool consume = true;
  void onInput(StreamConnection& connection) override {
    input.append(connection.input());
    if (consume) connection.consume(connection.input().size());
  }
  void onDrained(StreamConnection&) override { ++drained; }
  void onClosed(StreamConnection&, int error) override { closed = error; }
  void onConnected(StreamConnection&, int error) override { connected = error; }
  void onReadTimeout(StreamConnection&) override { ++timeouts; }
  int connected = -1;  // the connect's error, once it finished
  int timeouts = 0;
};

class StreamConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = fds[1];
    connection_ = std::make_unique<StreamConnection>(loop_.base(), pool_, fds[0]);
    connection_->setHandler(&recorder_);
  }
  void TearDown() override {
    connection_.reset();
    if (peer_ >= 0) ::close(peer_);
  }
  /// Runs the loop until `done` or 200 passes.
  template <typename Done>
  bool runUntil(Done done) {
    for (int i = 0; i < 200 && !done(); ++i) event_base_loop(loop_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
    return done();
  }
  /// Runs the loop for `seconds` of real time (the read timeout is libevent's own timer).
  void runFor(double seconds) {
    timeval limit = toTimeval(seconds);
    event_base_loopexit(loop_.base(), &limit);
    event_base_dispatch(loop_.base());
  }
  /// Runs the loop until `done`, for at most `seconds`.
  template <typename Done>
  bool runFor(double seconds, Done done) {
    for (int i = 0; i < seconds / 0.05 && !done(); ++i) runFor(0.05);
    return done();
  }
  std::string readPeer() {
    std::string got;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(peer_, buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<size_t>(n));
    return got;
  }

  EventLoop loop_;
  BufferPool pool_{1024, 8};
  Recorder recorder_;
  std::unique_ptr<StreamConnection> connection_;
  int peer_ = -1;
};

TEST_F(StreamConnectionTest, AWriteGoesOutAtOnceWithoutTheLoop) {
  std::string_view parts[] = {"HTTP/1.1 200 OK\r\n", "\r\n", "ok"};
  connection_->append("");
  EXPECT_TRUE(connection_->writeParts(parts));
  EXPECT_EQ(readPeer(), "HTTP/1.1 200 OK\r\n\r\nok");
  EXPECT_EQ(pool_.inUse(), 0u);
}

TEST_F(StreamConnectionTest, AppendedBytesLeaveWithTheNextWriteInOrder) {
  connection_->append("head;");
  EXPECT_EQ(readPeer(), "") << "append makes no system call";
  EXPECT_TRUE(connection_->write("body"));
  EXPECT_EQ(readPeer(), "head;body");
}

TEST_F(StreamConnectionTest, WhatTheKernelLeavesIsQueuedAndDrainedByTheLoop) {
  int small = 4096;
  setsockopt(peer_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  setsockopt(connection_->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string big(1 << 20, 'x');
  EXPECT_FALSE(connection_->write(big));
  EXPECT_GT(connection_->queued(), 0u);
  connection_->append("end");  // behind what waits
  std::string got;
  ASSERT_TRUE(runUntil([&] {
    got += readPeer();
    return connection_->queued() == 0 && got.size() == big.size() + 3;
  }));
  EXPECT_EQ(got.substr(got.size() - 3), "end");
  EXPECT_GE(recorder_.drained, 1);
  EXPECT_EQ(pool_.inUse(), 0u);
}

TEST_F(StreamConnectionTest, ReadsGoToTheHandlerAndAFinClosesReading) {
  connection_->resumeReading();
  ASSERT_EQ(::write(peer_, "ping", 4), 4);
  ASSERT_TRUE(runUntil([&] { return recorder_.input == "ping"; }));
  ::shutdown(peer_, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return recorder_.closed == 0; }));
  EXPECT_TRUE(connection_->peerClosed());
  EXPECT_TRUE(connection_->write("still writable")) << "a half-close leaves our direction open";
  EXPECT_EQ(readPeer(), "still writable");
}

TEST_F(StreamConnectionTest, UnconsumedBytesStopReadingOnceTheBlockIsFull) {
  recorder_.consume = false;
  connection_->resumeReading();
  std::string lots(4096, 'y');
  ASSERT_EQ(::write(peer_, lots.data(), lots.size()), static_cast<ssize_t>(lots.size()));
  runUntil([] { return false; });
  EXPECT_EQ(connection_->input().size(), pool_.blockBytes()) << "one block, then no more reads";
  connection_->consume(connection_->input().size());
  ASSERT_TRUE(runUntil([&] { return connection_->input().size() == pool_.blockBytes(); }));
}

TEST_F(StreamConnectionTest, TheReadTimeoutFiresAfterSilenceAndEveryReadStartsItAgain) {
  connection_->resumeReading();
  connection_->setReadTimeout(0.5);
  for (int i = 0; i < 8; ++i) {  // 0.8 s of traffic, a byte every 0.1 s
    ASSERT_EQ(::write(peer_, "x", 1), 1);
    runFor(0.1);
    ASSERT_EQ(recorder_.timeouts, 0) << "a read moves the timeout (pass " << i << ")";
  }
  EXPECT_EQ(recorder_.input, "xxxxxxxx");
  ASSERT_TRUE(runFor(5, [&] { return recorder_.timeouts > 0; })) << "silence: it fires";
  EXPECT_EQ(recorder_.closed, -1) << "a timeout is the handler's to act on, not a close";
}

TEST_F(StreamConnectionTest, AClearedReadTimeoutOrOneWhileNotReadingNeverFires) {
  connection_->resumeReading();
  connection_->setReadTimeout(0.05);
  connection_->setReadTimeout(0);
  runFor(0.3);
  EXPECT_EQ(recorder_.timeouts, 0) << "cleared";
  connection_->setReadTimeout(0.05);
  connection_->pauseReading();
  runFor(0.3);
  EXPECT_EQ(recorder_.timeouts, 0) << "not reading: nothing to time";
  connection_->resumeReading();  // the wait starts again with reading
  ASSERT_TRUE(runFor(5, [&] { return recorder_.timeouts > 0; }));
}

TEST_F(StreamConnectionTest, AWriteErrorIsReportedFromTheLoopNotInsideTheWrite) {
  ::close(peer_);
  peer_ = -1;
  EXPECT_FALSE(connection_->write("into the void"));
  EXPECT_EQ(recorder_.closed, -1) << "never inside the caller's write";
  ASSERT_TRUE(runUntil([&] { return recorder_.closed > 0; }));
  EXPECT_EQ(recorder_.closed, EPIPE);
}

TEST_F(StreamConnectionTest, ASocketItConnectsIsCloseOnExecAndARefusalComesFromTheLoop) {
  int flags = fcntl(connection_->fd(), F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC);
  int error = 0;
  Recorder other;
  auto connecting = StreamConnection::connectTo(loop_.base(), pool_,
                                                std::get<SocketAddress>(SocketAddress::parse("127.0.0.1:1")),
                                                other, error);
  ASSERT_NE(connecting, nullptr) << "a loopback connect is in progress or refused later";
  EXPECT_TRUE(fcntl(connecting->fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(other.connected, -1) << "a connect's outcome never comes inside connectTo";
  ASSERT_TRUE(runUntil([&] { return other.connected != -1; }));
  EXPECT_EQ(other.connected, ECONNREFUSED);
}

}  // namespace
}  // namespace readygate
