// Per-backend readiness state machine with the kubelet's probe semantics; no I/O.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "config/config_types.h"
#include "proxy/probe/probe_result.h"

namespace readygate {

enum class BackendHealth {
  Starting,  // startup phase, or not yet ready since it appeared or was restarted
  Ready,     // liveness and readiness pass: may receive traffic
  NotReady,  // was ready in this phase, then readiness failed failureThreshold times in a row
};

const char* toString(BackendHealth health);

/// What the tracker believes one probe says, after thresholds.
enum class ProbeVerdict {
  Unknown,  // startup before its first decision; liveness after a restart until it passes
  Success,
  Failure,
};

const char* toString(ProbeVerdict verdict);

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

/// The probe specs of one backend by ProbeKind; null where not configured. Shared
/// (immutable) between the backends of a service, owned by whoever holds them.
using ProbeSpecs = std::array<std::shared_ptr<const ProbeSpec>, 3>;

/// Feed it probe results and times; read whether the backend may get traffic.
///
/// A new backend starts as the kubelet's: liveness Success, readiness Failure, startup
/// Unknown; until startup succeeds no other probe counts; a verdict flips only after
/// successThreshold or failureThreshold identical results in a row. A liveness failure
/// (or a startup failure) is where the kubelet would restart the container. readygate
/// cannot restart it, so the pod is still the same pod: the backend leaves rotation,
/// starts over at the startup phase (initial delays counted again), and then liveness
/// must pass again (liveness Unknown) before it can be ready, and readiness too where
/// it is configured. The table is in docs/design.md ("Probe semantics").
class ReadinessTracker {
 public:
  ReadinessTracker(ProbeSpecs specs, double now);

  /// Whether a probe of `kind` should run at `now`: configured, allowed in the current
  /// phase, and past its initialDelaySeconds since the backend appeared or restarted.
  bool isActive(ProbeKind kind, double now) const;
  /// Records one result. Results of probes that are not active are ignored (a stale
  /// answer from before a restart). Returns the health change it caused, if any.
  std::optional<HealthChange> record(ProbeKind kind, const ProbeResult& result, double now);
  /// Reload: the probe of `kind` is now `spec` (null: removed). Its counters start
  /// afresh but its verdict stays, so a ready backend stays ready until the new probe
  /// fails failureThreshold times; a removed probe counts as passed.
  std::optional<HealthChange> replaceProbe(ProbeKind kind, std::shared_ptr<const ProbeSpec> spec,
                                           double now);

  BackendHealth health() const { return health_; }
  bool ready() const { return health_ == BackendHealth::Ready; }
  bool inStartupPhase() const;
  const ProbeCounters& counters(ProbeKind kind) const { return counters_[index(kind)]; }
  bool configured(ProbeKind kind) const { return spec(kind) != nullptr; }
  const ProbeSpec* spec(ProbeKind kind) const { return specs_[index(kind)].get(); }
  int restarts() const { return restarts_; }
  double lastTransitionAt() const { return lastTransitionAt_; }
  /// The reason token of the last result that changed health ("" before any change).
  const std::string& lastTransitionReason() const { return lastTransitionReason_; }
  /// The reason token that explains the health now: the last failure of the probe that
  /// matters in this phase, "ok" when ready, "awaiting_probe" before any answer.
  std::string currentReason() const;

 private:
  static size_t index(ProbeKind kind) { return static_cast<size_t>(kind); }
  void startOver(double now, bool afterFailure);
  BackendHealth computeHealth() const;
  std::optional<HealthChange> settle(ProbeKind kind, const std::string& reason, bool restarted,
                                     double now);

  ProbeSpecs specs_;
  std::array<ProbeCounters, 3> counters_;
  double phaseStartedAt_;
  bool readySincePhaseStart_ = false;
  BackendHealth health_ = BackendHealth::Starting;
  int restarts_ = 0;
  double lastTransitionAt_;
  std::string lastTransitionReason_;
};

}  // namespace readygate
