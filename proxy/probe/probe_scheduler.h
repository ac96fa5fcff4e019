// Runs one prober on a fixed period from the control loop, and counts how well it keeps time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "proxy/core/clock.h"
#include "proxy/core/timer.h"
#include "proxy/probe/prober.h"

namespace readygate {

/// Shared by every scheduler of a process: how punctual probing is (for /status and bench).
struct ProbeTimingStats {
  uint64_t ticks = 0;
  uint64_t started = 0;
  uint64_t skippedBusy = 0;         // previous attempt still running (timeout > period)
  uint64_t skippedLate = 0;         // whole periods missed because the loop fell behind
  double totalLatenessSeconds = 0;  // sum over ticks
  double maxLatenessSeconds = 0;    // how late a tick fired after its due time
};

/// One probe of one backend. Ticks at fixed times (first + k × period, never drifting
/// with the time a probe takes); at each tick starts an attempt when `shouldRun` says so
/// and none is in flight, and hands each result, timed, to `onResult`.
class ProbeScheduler {
 public:
  using ShouldRun = std::function<bool(double now)>;
  using OnResult = std::function<void(const ProbeResult&)>;

  ProbeScheduler(event_base* base, const Clock& clock, std::unique_ptr<Prober> prober,
                 double periodSeconds, double firstDelaySeconds, ProbeTimingStats& stats,
                 ShouldRun shouldRun, OnResult onResult);
  ProbeScheduler(const ProbeScheduler&) = delete;
  ProbeScheduler& operator=(const ProbeScheduler&) = delete;

  bool inFlight() const { return inFlight_; }

 private:
  void tick();
  void arm(double now);
  void onDone(ProbeResult result);

  const Clock& clock_;
  std::unique_ptr<Prober> prober_;  // declared before attempt_: outlives it
  std::unique_ptr<ProbeAttempt> attempt_;
  const double period_;
  ProbeTimingStats& stats_;
  ShouldRun shouldRun_;
  OnResult onResult_;
  Timer timer_;
  double nextDue_;
  double startedAt_ = 0;
  bool inFlight_ = false;
};

}  // namespace readygate
