// Renders /status: every service and backend with state, reason and last probes, as JSON or a
// table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/health/service_members.h"
#include "proxy/probe/probe_scheduler.h"

namespace readygate {

/// The reason token that explains a backend's state now ("http_503", "ok", ...).
std::string currentReason(const ReadinessTracker& tracker);

/// Control loop only: reads trackers, which live there.
std::string renderStatusJson(const std::vector<std::unique_ptr<ServiceHealth>>& services,
                             const ProbeTimingStats& timing, double now);

/// The same, as a table for a terminal (what `readygate status` prints), like
/// `kubectl get pods`: SERVICE BACKEND STATE REASON LAST-PROBE LATENCY CONNS RESTARTS.
std::string renderStatusTable(const std::vector<std::unique_ptr<ServiceHealth>>& services,
                              double now);

}  // namespace readygate
