// Renders the /status JSON: every service and backend with state, reason and last probes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/app/service_health.h"
#include "proxy/probe/probe_scheduler.h"

namespace readygate {

/// Control loop only: reads trackers, which live there.
std::string renderStatusJson(const std::vector<std::unique_ptr<ServiceHealth>>& services,
                             const ProbeTimingStats& timing, double now);

}  // namespace readygate
