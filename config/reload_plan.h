// What a reload changes: the whole new configuration diffed against the running one, by service
// name.
#pragma once

#include <string>
#include <vector>

#include "config/config_types.h"

namespace readygate {

/// What happens to one service on reload.
struct ServiceReload {
  enum class Action {
    Keep,     // nothing changed
    Update,   // applied in place: probes, endpoints, settings, listen
    Add,      // new: listeners bound, probing starts
    Remove,   // gone: listeners closed at once, connections drain
    Replace,  // mode changed: removed and added again (connections drain)
  };
  std::string name;
  Action action = Action::Keep;
  bool listenChanged = false;            // Update: bind the new address before closing the old
  std::vector<ProbeKind> probesChanged;  // Update: these restart on every backend
  bool endpointsChanged = false;
  bool settingsChanged = false;  // balance, timeouts, retries, minReady, whenNoneReady, drain
};

struct ReloadPlan {
  /// Changes a reload cannot apply (workers, admin.listen); non-empty rejects the reload.
  std::vector<std::string> errors;
  /// One entry per service of either configuration: the running ones in their order,
  /// then the added ones.
  std::vector<ServiceReload> services;
  /// Lines for the log, one per change ("service web: readinessProbe changed").
  std::vector<std::string> summary;
};

/// Keyed by service name, never by position: reordering services changes nothing.
ReloadPlan planReload(const Config& running, const Config& next);

const char* toString(ServiceReload::Action action);

}  // namespace readygate
