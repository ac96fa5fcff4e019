// The one place that decides, for every backend of a service, whether it is in rotation and why.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "proxy/health/backend_state.h"
#include "proxy/health/endpoint_conditions.h"
#include "proxy/health/readiness_tracker.h"

namespace readygate {

/// What is known of one backend, gathered by ServiceMembers; no I/O, no clock.
struct BackendFacts {
  BackendHealth health = BackendHealth::Starting;
  AdminState admin = AdminState::Enabled;
  Membership membership = Membership::Configured;
  bool ejected = false;
  /// Probe that last changed health ("" before any) and the reason token now.
  std::string healthCause;
  std::string healthReason;
  std::string ejectReason = "";  // consecutive_5xx, consecutive_connect_failures
  /// What the cluster says of it (not owned: the member's), null for a source without
  /// conditions. In rotation it needs the cluster's `ready` as well as its own probes.
  const ClusterConditions* cluster = nullptr;
  /// Terminating while it counted as ready and minReady was not met: kept as spillover.
  bool spillover = false;
  /// Has been ready since it appeared: a pod the cluster takes out is not_ready, not starting.
  bool everReady = false;
};

/// A backend as every renderer shows it: /status, /metrics, `readygate status` and the
/// state-change log line all print this, so they cannot disagree.
struct BackendView {
  EffectiveState state = EffectiveState::Starting;
  /// New connections may be sent to it (its state is ready or leaving, or the service
  /// fails open to it).
  bool inRotation = false;
  /// In rotation only because nothing is ready and `whenNoneReady: all` applies.
  bool failingOpen = false;
  /// Leaving, kept in rotation until the service has minReady ready backends.
  bool heldByMinReady = false;
  /// Terminating, in rotation only because nothing else is (kube-proxy's fallback to
  /// serving-and-terminating endpoints).
  bool terminatingFallback = false;
  /// Counts toward minReady and readygate_service_ready_backends: configured, enabled,
  /// ready, not ejected. Disabled, draining, leaving and removed backends never count.
  bool countsAsReady = false;
  /// What put it in this state: "startup", "readiness", "liveness" (a probe), "admin",
  /// "config" (leaving, removed), "outlier", "kubernetes" (the cluster's conditions); ""
  /// for a new backend no probe has spoken of.
  std::string cause;
  /// A short stable token: a probe reason (http_503, timeout, ok, ...), drain, disable,
  /// min_ready, removed, terminating, k8s_not_ready.
  std::string reason;
};

/// Every backend's view plus what the service does with them.
struct RotationDecision {
  std::vector<BackendView> views;  // in the order of the facts
  bool failOpen = false;           // nothing eligible, `whenNoneReady: all` applied
  size_t terminatingFallback = 0;  // terminating backends in rotation as the last resort
  size_t readyCount = 0;           // views with countsAsReady
};

/// The state and rotation of one backend, ignoring fail-open (which needs the service).
BackendView explainBackend(const BackendFacts& facts);

/// The whole service: each backend explained. When nothing is in rotation, the terminating
/// backends that still serve and pass their probes get traffic, as kube-proxy falls back
/// to them (`terminatingFallback`); when there are none of those either, fail-open applies:
/// every backend an operator did not take out and that is still configured gets traffic,
/// visibly (`inRotation` and `failingOpen` true).
RotationDecision decideRotation(std::span<const BackendFacts> backends,
                                WhenNoneReady whenNoneReady, bool terminatingFallback = true);

}  // namespace readygate
