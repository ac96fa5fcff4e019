// The admin API's routes: /metrics, /healthz, /readyz, /status, backend drain/disable/enable,
// /reload.
#pragma once

#include <functional>

#include "config/config_types.h"
#include "proxy/admin/admin_server.h"
#include "proxy/app/reloader.h"
#include "proxy/app/service_set.h"
#include "proxy/core/clock.h"
#include "proxy/metrics/metrics_report.h"
#include "proxy/probe/probe_scheduler.h"

namespace readygate {

/// What the routes read; owned by the Server, all on the control loop. `config` is the
/// running configuration, replaced by reloads (so admin.readyRequiresBackends follows).
struct AdminApiState {
  const Config& config;
  const ServiceSet& services;
  const ServerCounters& counters;
  const ProbeTimingStats& probeTiming;
  const Clock& clock;
  std::function<ReloadOutcome()> reload;
};

void installAdminRoutes(AdminServer& server, AdminApiState state);

}  // namespace readygate
