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

ReadinessTracker::ReadinessTracker(const ProbeSpec* startup, const ProbeSpec* readiness,
                                   const ProbeSpec* liveness, double now)
    : phaseStartedAt_(now), lastTransitionAt_(now) {
  specs_[index(ProbeKind::Startup)] = startup;
  specs_[index(ProbeKind::Readiness)] = readiness;
  specs_[index(ProbeKind::Liveness)] = liveness;
  startOver(now);
  health_ = computeHealth();
}

void ReadinessTracker::startOver(double now) {
  phaseStartedAt_ = now;
  readySincePhaseStart_ = false;
  for (ProbeKind kind : kAllProbeKinds) {
    ProbeCounters& counters = counters_[index(kind)];
    counters.consecutiveSuccesses = 0;
    counters.consecutiveFailures = 0;
    // The kubelet's initial values. A probe that is not configured counts as passed.
    if (spec(kind) == nullptr) {
      counters.verdict = ProbeVerdict::Success;
    } else if (kind == ProbeKind::Readiness) {
      counters.verdict = ProbeVerdict::Failure;
    } else if (kind == ProbeKind::Liveness) {
      counters.verdict = ProbeVerdict::Success;
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
  if (counters(ProbeKind::Readiness).verdict == ProbeVerdict::Success) return BackendHealth::Ready;
  return readySincePhaseStart_ ? BackendHealth::NotReady : BackendHealth::Starting;
}

std::optional<HealthChange> ReadinessTracker::record(ProbeKind kind, const ProbeResult& result,
                                                     double now) {
  if (!isActive(kind, now)) return std::nullopt;
  const ProbeSpec& probe = *spec(kind);
  ProbeCounters& counters = counters_[index(kind)];
  counters.last = result;
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
    startOver(now);
    ++restarts_;
    restarted = true;
  }
  if (kind == ProbeKind::Readiness && counters.verdict == ProbeVerdict::Success) {
    readySincePhaseStart_ = true;
  }

  BackendHealth before = health_;
  health_ = computeHealth();
  if (health_ == before && !restarted) return std::nullopt;
  lastTransitionAt_ = now;
  lastTransitionReason_ = result.reason;
  return HealthChange{before, health_, kind, result.reason, restarted};
}

}  // namespace readygate
