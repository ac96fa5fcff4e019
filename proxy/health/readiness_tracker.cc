// ReadinessTracker implementation.
#include "proxy/health/readiness_tracker.h"

namespace readygate {

const char* toString(BackendHealth health) {
  switch (health) {
    case BackendHealth::Starting:
      return "starting";
    case BackendHealth::Ready:
      return "ready";
    case BackendHealth::NotReady:
      return "not_ready";
  }
  return "starting";
}

const char* toString(ProbeVerdict verdict) {
  switch (verdict) {
    case ProbeVerdict::Unknown:
      return "unknown";
    case ProbeVerdict::Success:
      return "success";
    case ProbeVerdict::Failure:
      return "failure";
  }
  return "unknown";
}

ReadinessTracker::ReadinessTracker(ProbeSpecs specs, double now)
    : specs_(std::move(specs)), phaseStartedAt_(now), lastTransitionAt_(now) {
  startOver(now, false);
  health_ = computeHealth();
}

void ReadinessTracker::startOver(double now, bool afterFailure) {
  phaseStartedAt_ = now;
  readySincePhaseStart_ = false;
  for (ProbeKind kind : kAllProbeKinds) {
    ProbeCounters& counters = counters_[index(kind)];
    counters.consecutiveSuccesses = 0;
    counters.consecutiveFailures = 0;
    if (spec(kind) == nullptr) {
      counters.verdict = ProbeVerdict::Success;  // not configured counts as passed
    } else if (kind == ProbeKind::Readiness) {
      counters.verdict = ProbeVerdict::Failure;
    } else if (kind == ProbeKind::Liveness) {
      // The kubelet starts liveness as Success for a new container. After a liveness
      // failure there is no new container here: the same pod must pass again.
      counters.verdict = afterFailure ? ProbeVerdict::Unknown : ProbeVerdict::Success;
    } else {
      counters.verdict = ProbeVerdict::Unknown;
    }
  }
}

bool ReadinessTracker::inStartupPhase() const {
  return counters(ProbeKind::Startup).verdict != ProbeVerdict::Success;
}

bool ReadinessTracker::isActive(ProbeKind kind, double now) const {
  const ProbeSpec* probe = spec(kind);
  if (probe == nullptr) return false;
  if (inStartupPhase() != (kind == ProbeKind::Startup)) return false;
  return now - phaseStartedAt_ >= probe->initialDelaySeconds;
}

BackendHealth ReadinessTracker::computeHealth() const {
  if (inStartupPhase()) return BackendHealth::Starting;
  bool live = counters(ProbeKind::Liveness).verdict == ProbeVerdict::Success;
  if (live && counters(ProbeKind::Readiness).verdict == ProbeVerdict::Success) {
    return BackendHealth::Ready;
  }
  return readySincePhaseStart_ ? BackendHealth::NotReady : BackendHealth::Starting;
}

std::optional<HealthChange> ReadinessTracker::record(ProbeKind kind, const ProbeResult& result,
                                                     double now) {
  if (!isActive(kind, now)) return std::nullopt;
  const ProbeSpec& probe = *spec(kind);
  ProbeCounters& counters = counters_[index(kind)];
  counters.last = result;
  // Our own shortage (no fd for the probe's socket) says nothing of the backend: shown, not
  // counted, so an fd exhaustion does not take every backend out at once.
  if (result.localFailure) return std::nullopt;
  if (result.success) {
    ++counters.consecutiveSuccesses;
    counters.consecutiveFailures = 0;
    if (counters.consecutiveSuccesses >= probe.successThreshold) {
      counters.verdict = ProbeVerdict::Success;
    }
  } else {
    ++counters.consecutiveFailures;
    counters.consecutiveSuccesses = 0;
    if (counters.consecutiveFailures >= probe.failureThreshold) {
      counters.verdict = ProbeVerdict::Failure;
    }
  }

  bool restarted = false;
  if (counters.verdict == ProbeVerdict::Failure &&
      (kind == ProbeKind::Liveness || kind == ProbeKind::Startup)) {
    // Where the kubelet kills the container: the backend has to prove itself again.
    startOver(now, true);
    ++restarts_;
    restarted = true;
  }
  return settle(kind, result.reason, restarted, now);
}

std::optional<HealthChange> ReadinessTracker::replaceProbe(ProbeKind kind,
                                                           std::shared_ptr<const ProbeSpec> spec,
                                                           double now) {
  ProbeCounters& counters = counters_[index(kind)];
  specs_[index(kind)] = std::move(spec);
  counters.consecutiveSuccesses = 0;
  counters.consecutiveFailures = 0;
  counters.last.reset();
  if (specs_[index(kind)] == nullptr) counters.verdict = ProbeVerdict::Success;
  return settle(kind, "probe_changed", false, now);
}

std::optional<HealthChange> ReadinessTracker::settle(ProbeKind kind, const std::string& reason,
                                                     bool restarted, double now) {
  BackendHealth before = health_;
  health_ = computeHealth();
  if (health_ == BackendHealth::Ready) readySincePhaseStart_ = true;
  if (health_ == before && !restarted) return std::nullopt;
  lastTransitionAt_ = now;
  lastTransitionReason_ = reason;
  return HealthChange{before, health_, kind, reason, restarted};
}

std::string ReadinessTracker::currentReason() const {
  for (ProbeKind kind : {ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness}) {
    if (!configured(kind)) continue;
    bool relevant = kind == ProbeKind::Startup ? inStartupPhase() : !inStartupPhase();
    const auto& last = counters(kind).last;
    if (relevant && last && !last->success) return last->reason;
  }
  if (ready()) return "ok";
  if (!lastTransitionReason_.empty() && lastTransitionReason_ != "ok") return lastTransitionReason_;
  return "awaiting_probe";
}

}  // namespace readygate
