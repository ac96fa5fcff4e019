// The admin API's routes: /metrics, /healthz, /readyz, /status, backend drain/disable/enable.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/config_types.h"
#include "proxy/admin/admin_server.h"
#include "proxy/health/service_members.h"
#include "proxy/core/clock.h"
#include "proxy/metrics/metrics_report.h"
#include "proxy/probe/probe_scheduler.h"

namespace readygate {

/// What the routes read; owned by the Server, all on the control loop.
struct AdminApiState {
  const AdminConfig& admin;
  const std::vector<std::unique_ptr<ServiceHealth>>& services;
  const ServerCounters& counters;
  const ProbeTimingStats& probeTiming;
  const Clock& clock;
};

void installAdminRoutes(AdminServer& server, AdminApiState state);

}  // namespace readygate
