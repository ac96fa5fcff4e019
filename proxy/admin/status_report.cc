// renderStatusJson implementation.
#include "proxy/admin/status_report.h"

#include "proxy/core/json_writer.h"
#include "proxy/core/time_format.h"

namespace readygate {
namespace {

const char* toString(ProbeVerdict verdict) {
  switch (verdict) {
    case ProbeVerdict::Unknown:
      return "unknown";
    case ProbeVerdict::Success:
      return "success";
    case ProbeVerdict::Failure:
      return "failure";
  }
  return "unknown";
}

void writeProbe(JsonWriter& json, const ReadinessTracker& tracker, ProbeKind kind) {
  const ProbeCounters& counters = tracker.counters(kind);
  json.key(toString(kind)).beginObject();
  json.key("verdict").value(toString(counters.verdict));
  json.key("consecutive_successes").value(counters.consecutiveSuccesses);
  json.key("consecutive_failures").value(counters.consecutiveFailures);
  json.key("last");
  if (counters.last) {
    const ProbeResult& last = *counters.last;
    json.beginObject();
    json.key("success").value(last.success);
    json.key("reason").value(last.reason);
    json.key("message").value(last.message);
    json.key("latency_seconds").value(last.latencySeconds);
    json.key("time").value(formatUtcMillis(last.wallTime));
    json.endObject();
  } else {
    json.null();
  }
  json.endObject();
}

}  // namespace

/// The reason a backend is where it is: the last result of the probe that matters now.
std::string currentReason(const ReadinessTracker& tracker) {
  for (ProbeKind kind : {ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness}) {
    if (!tracker.configured(kind)) continue;
    bool relevant =
        kind == ProbeKind::Startup ? tracker.inStartupPhase() : !tracker.inStartupPhase();
    const auto& last = tracker.counters(kind).last;
    if (relevant && last && !last->success) return last->reason;
  }
  if (!tracker.lastTransitionReason().empty()) return tracker.lastTransitionReason();
  return tracker.ready() ? "ok" : "awaiting_probe";
}

std::string renderStatusJson(const std::vector<std::unique_ptr<ServiceHealth>>& services,
                             const ProbeTimingStats& timing, double now) {
  JsonWriter json;
  json.beginObject();
  json.key("services").beginArray();
  for (const auto& health : services) {
    const Service& service = health->service();
    json.beginObject();
    json.key("name").value(service.name());
    json.key("listen").value(service.config().listen.toString());
    json.key("backends_total").value(health->configuredCount());
    json.key("backends_ready").value(health->readyCount());
    json.key("backends").beginArray();
    for (const auto& member : health->members()) {
      const BackendProbes* probes = member->probes.get();
      const ReadinessTracker& tracker = probes->tracker();
      json.beginObject();
      // address and state first: the order `readygate status` and tests rely on.
      json.key("address").value(probes->backend().name());
      json.key("state").value(toString(member->state));
      json.key("reason").value(currentReason(tracker));
      json.key("ready").value(tracker.ready());
      json.key("admin_state").value(toString(member->admin));
      json.key("leaving").value(member->leaving);
      json.key("in_rotation").value(member->state == BackendState::Ready);
      json.key("restarts").value(tracker.restarts());
      json.key("seconds_since_transition").value(now - tracker.lastTransitionAt());
      json.key("active_connections").value(probes->backend().activeConnections());
      json.key("connections_total")
          .value(static_cast<unsigned long long>(probes->backend().connectionsTotal()));
      json.key("connect_failures")
          .value(static_cast<unsigned long long>(probes->backend().connectFailures()));
      json.key("probes").beginObject();
      for (ProbeKind kind : kAllProbeKinds) {
        if (tracker.configured(kind)) writeProbe(json, tracker, kind);
      }
      json.endObject();
      json.endObject();
    }
    json.endArray();
    json.endObject();
  }
  json.endArray();
  json.key("probe_timing").beginObject();
  json.key("ticks").value(static_cast<unsigned long long>(timing.ticks));
  json.key("started").value(static_cast<unsigned long long>(timing.started));
  json.key("skipped_busy").value(static_cast<unsigned long long>(timing.skippedBusy));
  json.key("skipped_late").value(static_cast<unsigned long long>(timing.skippedLate));
  json.key("mean_lateness_seconds")
      .value(timing.ticks ? timing.totalLatenessSeconds / static_cast<double>(timing.ticks) : 0.0);
  json.key("total_lateness_seconds").value(timing.totalLatenessSeconds);
  json.key("max_lateness_seconds").value(timing.maxLatenessSeconds);
  json.endObject();
  json.endObject();
  return json.str();
}

}  // namespace readygate

namespace readygate {

std::string renderStatusTable(const std::vector<std::unique_ptr<ServiceHealth>>& services,
                              double now) {
  std::vector<std::vector<std::string>> rows = {
      {"SERVICE", "BACKEND", "STATE", "REASON", "LAST-PROBE", "LATENCY", "CONNS", "RESTARTS"}};
  for (const auto& health : services) {
    for (const auto& member : health->members()) {
      const ReadinessTracker& tracker = member->probes->tracker();
      // The most recent result of any probe.
      const ProbeResult* latest = nullptr;
      ProbeKind latestKind = ProbeKind::Readiness;
      for (ProbeKind kind : kAllProbeKinds) {
        const auto& last = tracker.counters(kind).last;
        if (last && (!latest || last->finishedAt > latest->finishedAt)) {
          latest = &*last;
          latestKind = kind;
        }
      }
      char latency[32] = "-";
      std::string lastProbe = "-";
      if (latest) {
        snprintf(latency, sizeof latency, "%.1fms", latest->latencySeconds * 1000);
        char ago[32];
        snprintf(ago, sizeof ago, " %.1fs ago", std::max(0.0, now - latest->finishedAt));
        lastProbe = std::string(toString(latestKind)) + " " + latest->reason + ago;
      }
      rows.push_back({health->service().name(), member->backend->name(), toString(member->state),
                      currentReason(tracker), lastProbe, latency,
                      std::to_string(member->backend->activeConnections()),
                      std::to_string(tracker.restarts())});
    }
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace readygate
