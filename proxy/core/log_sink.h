// Where log lines go: a bounded queue written out by one thread, so no caller ever blocks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "proxy/core/clock.h"

namespace readygate {

/// Lines handed to `write` are queued and written to `fd` by a writer thread of its own.
/// A full queue drops the line and counts it; a reader that stops reading (a full pipe)
/// stalls only the writer thread. Each event name may write `ratePerSecond` lines per
/// second; the rest are counted and summed up in one `event=log_suppressed` line.
class LogSink {
 public:
  struct Limits {
    size_t maxQueuedBytes = 4 << 20;
    int ratePerSecond = 200;  // per event name; 0 = unlimited
  };

  LogSink(int fd, Limits limits, const Clock& clock);
  ~LogSink();  // writes what is queued, then joins: only where `fd` is known to drain
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  /// Queues one complete line (ending in '\n') of event `event`. Never blocks on I/O.
  void write(std::string_view event, std::string line);
  /// Whether a line of `event` may be written now (the rate limit); counts it when
  /// not. Lets a caller skip formatting a line that would be suppressed.
  bool admit(std::string_view event);
  /// Queues a line that admit() let through.
  void enqueue(std::string line);
  /// Waits until the queue is written or `timeoutSeconds` passed; true when written.
  bool flush(double timeoutSeconds);
  /// New limits from now on (command-line flags arrive after the first line).
  void setLimits(Limits limits);

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

 private:
  struct Window {
    double startedAt = 0;
    int written = 0;
    uint64_t suppressed = 0;
  };

  void run();
  /// Under the lock: queues summaries of rate windows that ended with suppressed lines.
  void summarizeEndedWindows(double now);
  bool enqueueLocked(std::string line);
  bool admitLocked(std::string_view event);

  const int fd_;
  Limits limits_;  // under mutex_
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  size_t queuedBytes_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  std::unordered_map<std::string, Window> windows_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> suppressed_{0};
  std::thread writer_;
};

}  // namespace readygate
