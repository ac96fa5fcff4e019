// The states an operator sees of a backend, listed once: admin state, membership, effective state.
#pragma once

namespace readygate {

/// Set by operators through the admin API, kept apart from probe health (as HAProxy
/// keeps check state apart from READY/DRAIN/MAINT).
enum class AdminState {
  Enabled,   // rotation follows the probes
  Draining,  // no new connections; open ones finish
  Disabled,  // maintenance: no new connections
};

/// Whether the backend is (still) part of its service's configuration or discovery.
enum class Membership {
  Configured,  // listed now
  Leaving,     // no longer listed, kept serving by the rollout guard (minReady)
  Removed,     // no longer listed; shown until its last connection is gone
};

/// The one set of states /status, /metrics (readygate_backend_state), the CLI table and
/// the dashboard use. Decided by explainBackend() in rotation.h and nowhere else.
enum class EffectiveState {
  Starting,  // not ready since it appeared or restarted (startup phase included)
  Ready,     // passes its probes, enabled, configured
  NotReady,  // was ready, readiness failed
  Draining,  // admin drain: no new connections, open ones finish
  Disabled,  // admin disable
  Leaving,   // gone from the configuration, held in rotation by minReady
  Removed,   // gone from the configuration, its open connections finishing
  Ejected,   // taken out by passive outlier detection (not implemented yet)
};

inline constexpr EffectiveState kAllEffectiveStates[] = {
    EffectiveState::Starting, EffectiveState::Ready,    EffectiveState::NotReady,
    EffectiveState::Draining, EffectiveState::Disabled, EffectiveState::Leaving,
    EffectiveState::Removed,  EffectiveState::Ejected};

inline const char* toString(EffectiveState state) {
  switch (state) {
    case EffectiveState::Starting:
      return "starting";
    case EffectiveState::Ready:
      return "ready";
    case EffectiveState::NotReady:
      return "not_ready";
    case EffectiveState::Draining:
      return "draining";
    case EffectiveState::Disabled:
      return "disabled";
    case EffectiveState::Leaving:
      return "leaving";
    case EffectiveState::Removed:
      return "removed";
    case EffectiveState::Ejected:
      return "ejected";
  }
  return "starting";
}

inline const char* toString(AdminState state) {
  switch (state) {
    case AdminState::Enabled:
      return "enabled";
    case AdminState::Draining:
      return "draining";
    case AdminState::Disabled:
      return "disabled";
  }
  return "enabled";
}

}  // namespace readygate
