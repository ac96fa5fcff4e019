// Per-backend readiness state machine with the kubelet's probe semantics; no I/O.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "config/config_types.h"
#include "proxy/probe/probe_result.h"

namespace readygate {

enum class BackendHealth {
  Starting,  // startup phase, or not yet ready since it appeared or was restarted
  Ready,     // readiness passed: may receive traffic
  NotReady,  // was ready, then readiness failed failureThreshold times in a row
};

const char* toString(BackendHealth health);

/// What the tracker believes one probe says, after thresholds.
enum class ProbeVerdict {
  Unknown,  // startup before its first decision
  Success,
  Failure,
};

/// Counters for one probe kind, for /status and metrics.
struct ProbeCounters {
  ProbeVerdict verdict = ProbeVerdict::Unknown;  // after thresholds
  int consecutiveSuccesses = 0;
  int consecutiveFailures = 0;
  std::optional<ProbeResult> last;
};

/// A change worth logging and republishing the rotation for.
struct HealthChange {
  BackendHealth from;
  BackendHealth to;
  ProbeKind probe;     // whose result caused it
  std::string reason;  // that result's reason token
  bool restarted;      // liveness or startup failed: the backend starts over
};

/// Feed it probe results and times; read whether the backend may get traffic.
///
/// As the kubelet's prober: readiness starts as Failure (a new backend is not ready
/// until its first readiness success), liveness as Success, startup as Unknown; until
/// startup succeeds no other probe counts; a verdict flips only after successThreshold
/// or failureThreshold identical results in a row. A liveness failure (or a startup
/// failure) is where the kubelet would restart the container: here the backend leaves
/// rotation and starts over at the startup phase, initial delays counted again.
class ReadinessTracker {
 public:
  /// Specs may be null (probe not configured); they must outlive the tracker.
  ReadinessTracker(const ProbeSpec* startup, const ProbeSpec* readiness, const ProbeSpec* liveness,
                   double now);

  /// Whether a probe of `kind` should run at `now`: configured, allowed in the current
  /// phase, and past its initialDelaySeconds since the backend appeared or restarted.
  bool isActive(ProbeKind kind, double now) const;
  /// Records one result. Results of probes that are not active are ignored (a stale
  /// answer from before a restart). Returns the health change it caused, if any.
  std::optional<HealthChange> record(ProbeKind kind, const ProbeResult& result, double now);

  BackendHealth health() const { return health_; }
  bool ready() const { return health_ == BackendHealth::Ready; }
  bool inStartupPhase() const;
  const ProbeCounters& counters(ProbeKind kind) const { return counters_[index(kind)]; }
  bool configured(ProbeKind kind) const { return spec(kind) != nullptr; }
  int restarts() const { return restarts_; }
  double lastTransitionAt() const { return lastTransitionAt_; }
  /// The reason token of the last result that changed health ("" before any change).
  const std::string& lastTransitionReason() const { return lastTransitionReason_; }

 private:
  static size_t index(ProbeKind kind) { return static_cast<size_t>(kind); }
  const ProbeSpec* spec(ProbeKind kind) const { return specs_[index(kind)]; }
  void startOver(double now);
  BackendHealth computeHealth() const;

  std::array<const ProbeSpec*, 3> specs_;
  std::array<ProbeCounters, 3> counters_;
  double phaseStartedAt_;
  bool readySincePhaseStart_ = false;
  BackendHealth health_ = BackendHealth::Starting;
  int restarts_ = 0;
  double lastTransitionAt_;
  std::string lastTransitionReason_;
};

}  // namespace readygate
