// LogSink: a reader that stops reading never blocks the writer's callers; bursts are summed up.
#include "proxy/core/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace readygate {
namespace {

/// A pipe whose read end the test drains when it chooses to.
struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  std::string drain() {
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    std::string all;
    char buffer[65536];
    ssize_t got;
    while ((got = read(fds[0], buffer, sizeof buffer)) > 0)
      all.append(buffer, static_cast<size_t>(got));
    return all;
  }
  int fds[2] = {-1, -1};
};

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(LogSink, AFullPipeDropsLinesInsteadOfBlockingTheCaller) {
  Pipe pipe;
  ManualClock clock;
  LogSink sink(pipe.fds[1], LogSink::Limits{64 * 1024, 0}, clock);
  std::string line(99, 'x');
  line += '\n';
  // 20 MB into a 64 KiB pipe nobody reads, plus a 64 KiB queue: the calls return,
  // the excess is counted.
  for (int i = 0; i < 200000; ++i) sink.write("flood", line);
  EXPECT_GT(sink.dropped(), 150000u);
  EXPECT_LT(sink.dropped(), 200000u);
  // Once the reader reads again, new lines get through.
  sink.write("after", "after\n");
  std::string rest;
  bool flushed = false;
  for (int i = 0; i < 200 && !flushed; ++i) {
    rest += pipe.drain();
    flushed = sink.flush(0.05);
  }
  rest += pipe.drain();
  ASSERT_TRUE(flushed);  // (the sink's destructor waits for its writer: the pipe is empty)
  EXPECT_NE(rest.find("after\n"), std::string::npos);
}

TEST(LogSink, EachEventIsRateLimitedAndTheRestSummedUp) {
  Pipe pipe;
  ManualClock clock;
  LogSink sink(pipe.fds[1], LogSink::Limits{1 << 20, 10}, clock);
  for (int i = 0; i < 1000; ++i)
    sink.write("upstream_connect_failed", "event=upstream_connect_failed\n");
  sink.write("other", "event=other\n");  // another event has its own budget
  EXPECT_EQ(sink.suppressed(), 990u);
  clock.advance(1.5);
  sink.write("upstream_connect_failed", "event=upstream_connect_failed\n");
  ASSERT_TRUE(sink.flush(5));
  std::string out = pipe.drain();
  EXPECT_EQ(count(out, "event=upstream_connect_failed\n"), 11u);
  EXPECT_EQ(count(out, "event=other\n"), 1u);
  EXPECT_NE(
      out.find("event=log_suppressed suppressed_event=upstream_connect_failed suppressed=990"),
      std::string::npos);
  EXPECT_EQ(sink.dropped(), 0u);
}

}  // namespace
}  // namespace readygate
