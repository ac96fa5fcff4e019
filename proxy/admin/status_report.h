// Renders /status: every service and backend with its view (state, why, rotation), as JSON or a
// table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/health/service_members.h"
#include "proxy/probe/probe_scheduler.h"

namespace readygate {

class JsonWriter;

/// One backend's object of /status; `withHistory` adds its last probe latencies (the
/// console's paged view only: 60 numbers each would make the whole /status 3 MB larger
/// at 10,000 backends).
void writeBackendJson(JsonWriter& json, const ServiceMembers& service,
                      const ServiceMembers::Member& member, double now, bool withHistory);

/// A service's own fields of /status (name, listen, mode, counts, sources), into an open
/// object.
void writeServiceFields(JsonWriter& json, const ServiceMembers& members);

/// Control loop only: reads the members and their views, which live there.
std::string renderStatusJson(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                             const ProbeTimingStats& timing, double now);

/// The same, as a table for a terminal (what `readygate status` prints), like
/// `kubectl get pods`: SERVICE BACKEND STATE ROTATION REASON LAST-PROBE LATENCY CONNS RESTARTS.
std::string renderStatusTable(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                              double now);

/// "in", "out", "fail-open" or "held" (leaving, kept by minReady): the ROTATION column.
const char* rotationLabel(const BackendView& view);

}  // namespace readygate
