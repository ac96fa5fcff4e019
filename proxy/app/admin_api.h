// The admin API's routes: /metrics, /healthz, /readyz, /status, backend drain/disable/enable,
// /reload.
#pragma once

#include <functional>
#include <optional>
#include <string>

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
  /// The bearer token mutating requests need (all requests with admin.tokenForReads);
  /// "" when admin.tokenFile is not set.
  const std::string& token;
};

/// Whether `request` may do what it asks: a mutating request (`mutating`) needs the
/// token when one is set, an Origin (if any) that is the admin's own, and a Host that
/// is an address of the listener or a configured name (DNS rebinding, CSRF); reads need
/// the token only with admin.tokenForReads. The refusal (401, 403), or nullopt.
std::optional<AdminResponse> refuse(const AdminConfig& admin, const std::string& token,
                                    const AdminRequest& request, bool mutating);

/// While a /metrics answer is still being sent, scrapes share it for at most this long.
inline constexpr double kMetricsRenderSeconds = 1;

void installAdminRoutes(AdminServer& server, AdminApiState state);

}  // namespace readygate
