// What operators see of a backend: probe health combined with admin state, in one place.
#pragma once

#include "proxy/health/readiness_tracker.h"

namespace readygate {

/// Set by operators through the admin API, kept apart from probe health (as HAProxy
/// keeps check state apart from READY/DRAIN/MAINT).
enum class AdminState {
  Enabled,   // rotation follows the probes
  Draining,  // no new connections; open ones finish
  Disabled,  // maintenance: no new connections
};

enum class BackendState {
  Starting,  // not ready since it appeared or restarted
  Ready,     // in rotation
  NotReady,  // was ready, readiness failed
  Draining,  // admin drain
  Disabled,  // admin disable
};

inline constexpr BackendState kAllBackendStates[] = {BackendState::Starting, BackendState::Ready,
                                                     BackendState::NotReady, BackendState::Draining,
                                                     BackendState::Disabled};

/// Admin state wins over probes; probes decide among the rest.
inline BackendState effectiveState(BackendHealth health, AdminState admin) {
  if (admin == AdminState::Disabled) return BackendState::Disabled;
  if (admin == AdminState::Draining) return BackendState::Draining;
  switch (health) {
    case BackendHealth::Starting:
      return BackendState::Starting;
    case BackendHealth::Ready:
      return BackendState::Ready;
    case BackendHealth::NotReady:
      return BackendState::NotReady;
  }
  return BackendState::Starting;
}

inline const char* toString(BackendState state) {
  switch (state) {
    case BackendState::Starting:
      return "starting";
    case BackendState::Ready:
      return "ready";
    case BackendState::NotReady:
      return "not_ready";
    case BackendState::Draining:
      return "draining";
    case BackendState::Disabled:
      return "disabled";
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
