// Renders /metrics in the Prometheus text format from the live state, at scrape time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/health/service_members.h"

namespace readygate {

/// Process-wide counters the Server keeps.
struct ServerCounters {
  uint64_t reloadsSucceeded = 0;
  uint64_t reloadsFailed = 0;
  double lastReloadSuccessUnixSeconds = 0;  // the start counts as the first load
  bool shuttingDown = false;
};

/// Control loop only. Series come from what exists now, so a removed backend's series
/// are gone at the next scrape: no ghosts on dashboards.
std::string renderMetrics(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                          const ServerCounters& counters);

}  // namespace readygate
