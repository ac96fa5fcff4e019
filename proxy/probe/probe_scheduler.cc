// ProbeScheduler implementation.
#include "proxy/probe/probe_scheduler.h"

#include <cmath>

namespace readygate {

ProbeScheduler::ProbeScheduler(event_base* base, const Clock& clock, std::unique_ptr<Prober> prober,
                               double periodSeconds, double firstDelaySeconds,
                               ProbeTimingStats& stats, ShouldRun shouldRun, OnResult onResult)
    : clock_(clock),
      prober_(std::move(prober)),
      period_(periodSeconds),
      stats_(stats),
      shouldRun_(std::move(shouldRun)),
      onResult_(std::move(onResult)),
      timer_(Timer::calling<&ProbeScheduler::tick>(base, this)) {
  double now = clock_.now();
  nextDue_ = now + firstDelaySeconds;
  arm(now);
}

void ProbeScheduler::arm(double now) { timer_.arm(nextDue_ - now); }

void ProbeScheduler::tick() {
  double now = clock_.now();
  double lateness = std::max(0.0, now - nextDue_);
  ++stats_.ticks;
  stats_.totalLatenessSeconds += lateness;
  stats_.maxLatenessSeconds = std::max(stats_.maxLatenessSeconds, lateness);

  if (shouldRun_(now)) {
    if (inFlight_) {
      ++stats_.skippedBusy;
    } else {
      // The previous attempt finished long ago; dropping it here, outside its callback.
      attempt_.reset();
      inFlight_ = true;
      startedAt_ = now;
      ++stats_.started;
      attempt_ = prober_->start([this](ProbeResult result) { onDone(std::move(result)); });
    }
  }

  nextDue_ += period_;
  if (nextDue_ <= now) {
    // Fell behind by whole periods: skip them rather than fire a burst.
    double missed = std::ceil((now - nextDue_) / period_);
    stats_.skippedLate += static_cast<uint64_t>(missed);
    nextDue_ += missed * period_;
    if (nextDue_ <= now) nextDue_ += period_;
  }
  arm(now);
}

void ProbeScheduler::onDone(ProbeResult result) {
  inFlight_ = false;
  double now = clock_.now();
  result.latencySeconds = now - startedAt_;
  result.finishedAt = now;
  result.wallTime = std::chrono::system_clock::now();
  onResult_(result);
}

}  // namespace readygate
