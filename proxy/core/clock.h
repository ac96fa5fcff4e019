// Monotonic time in seconds, injectable so state machines and schedulers can be tested.
#pragma once

#include <atomic>
#include <chrono>

namespace readygate {

/// Wall-clock seconds since the Unix epoch: for timestamps people and Prometheus read,
/// never for measuring intervals (Clock is for those).
inline double unixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Seconds on a monotonic clock; only differences mean anything.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual double now() const = 0;
};

class SteadyClock : public Clock {
 public:
  double now() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock that moves only when told to; for tests. Atomic, because a test may move it
/// while a thread it drives (the log writer) reads it.
class ManualClock : public Clock {
 public:
  explicit ManualClock(double start = 1000) : now_(start) {}
  double now() const override { return now_.load(std::memory_order_relaxed); }
  void advance(double seconds) { set(now() + seconds); }
  void set(double seconds) { now_.store(seconds, std::memory_order_relaxed); }

 private:
  std::atomic<double> now_;
};

}  // namespace readygate
