// Monotonic time in seconds, injectable so state machines and schedulers can be tested.
#pragma once

#include <chrono>

namespace readygate {

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

/// A clock that moves only when told to; for tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(double start = 1000) : now_(start) {}
  double now() const override { return now_; }
  void advance(double seconds) { now_ += seconds; }
  void set(double seconds) { now_ = seconds; }

 private:
  double now_;
};

}  // namespace readygate
