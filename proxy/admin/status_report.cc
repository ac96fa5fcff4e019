// renderStatusJson and renderStatusTable implementation.
#include "proxy/admin/status_report.h"

#include <algorithm>
#include <chrono>

#include "proxy/core/json_writer.h"
#include "proxy/core/time_format.h"

namespace readygate {
namespace {

/// `key`: the time, or null for 0 (never).
void writeTimeOrNull(JsonWriter& json, const char* key, double unixSeconds) {
  json.key(key);
  if (unixSeconds > 0) {
    json.value(formatUtcMillis(unixSeconds));
  } else {
    json.null();
  }
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

void writeBackendJson(JsonWriter& json, const ServiceMembers& service,
                      const ServiceMembers::Member& member, double now, bool withHistory) {
  const BackendView& view = member.view;
  const Backend& backend = *member.backend;
  const ReadinessTracker& tracker = member.tracker;
  json.beginObject();
  // address and state first: the order `readygate status` and tests rely on.
  json.key("address").value(backend.name());
  json.key("state").value(toString(view.state));
  json.key("reason").value(view.reason);
  json.key("cause").value(view.cause);
  json.key("in_rotation").value(view.inRotation);
  json.key("failing_open").value(view.failingOpen);
  json.key("held_by_min_ready").value(view.heldByMinReady);
  json.key("terminating_fallback").value(view.terminatingFallback);
  json.key("counts_as_ready").value(view.countsAsReady);
  // Slow start: the share of new traffic it may take now (1 outside a ramp).
  double slowStart = service.config().slowStartSeconds;
  double weight = 1;
  if (view.state == EffectiveState::Ready && slowStart > 0) {
    RotationSnapshot ramp;
    ramp.readySince = {member.stateSince};
    ramp.slowStartSeconds = slowStart;
    weight = ramp.weight(0, now);
  }
  json.key("weight").value(view.inRotation ? weight : 0.0);
  json.key("ready").value(tracker.ready());
  json.key("admin_state").value(toString(member.admin));
  json.key("leaving").value(member.membership == Membership::Leaving);
  json.key("since").value(formatUtcMillis(member.stateSinceUnix));
  json.key("seconds_since_transition").value(now - member.stateSince);
  json.key("restarts").value(tracker.restarts());
  json.key("active_connections").value(backend.activeConnections());
  json.key("connections_total").value(static_cast<unsigned long long>(backend.connectionsTotal()));
  json.key("connect_failures").value(static_cast<unsigned long long>(backend.connectFailures()));
  json.key("connections_close_at");
  if (member.membership == Membership::Removed) {
    json.value(formatUtcMillis(service.unixTime(member.closeDeadline)));
  } else {
    json.null();
  }
  // What the cluster says beside what the probes say (the Kubernetes source only).
  json.key("kubernetes");
  if (member.cluster) {
    const ClusterConditions& cluster = *member.cluster;
    json.beginObject();
    json.key("ready").value(cluster.ready);
    json.key("serving").value(cluster.serving);
    json.key("terminating").value(cluster.terminating);
    json.key("pod").value(cluster.pod);
    json.key("node").value(cluster.node);
    json.key("zone").value(cluster.zone);
    json.endObject();
  } else {
    json.null();
  }
  json.key("probes").beginObject();
  for (ProbeKind kind : kAllProbeKinds) {
    if (tracker.configured(kind)) writeProbe(json, tracker, kind);
  }
  json.endObject();
  // Answers by class so far: a reader that asks again computes requests/s and the 5xx share.
  uint64_t answered = 0;
  for (size_t index = 0; index < 5; ++index) answered += backend.responses(index);
  json.key("responses_total").value(static_cast<unsigned long long>(answered));
  json.key("responses_5xx_total").value(static_cast<unsigned long long>(backend.responses(4)));
  if (withHistory) {
    // Oldest first; the indexes of failed probes apart, as they are rare.
    std::vector<LatencyHistory::Sample> samples = member.latencies.samples();
    json.key("probe_latencies_ms").beginArray();
    for (const auto& sample : samples) json.value(static_cast<double>(sample.millis));
    json.endArray();
    json.key("probe_failures").beginArray();
    for (size_t i = 0; i < samples.size(); ++i) {
      if (samples[i].failed) json.value(static_cast<unsigned long long>(i));
    }
    json.endArray();
  }
  json.endObject();
}

namespace {

/// Probes this process sends each backend per second once it is past startup (readiness
/// and liveness): R replicas of readygate send R times as many.
double probesPerBackendPerSecond(const ServiceConfig& config) {
  double rate = 0;
  for (ProbeKind kind : {ProbeKind::Readiness, ProbeKind::Liveness}) {
    const std::optional<ProbeSpec>& spec = probeOf(config, kind);
    if (spec && spec->periodSeconds > 0) rate += 1 / spec->periodSeconds;
  }
  return rate;
}

}  // namespace

void writeServiceFields(JsonWriter& json, const ServiceMembers& members) {
  const ServiceConfig& config = members.config();
  json.key("name").value(config.name);
  json.key("listen").value(config.listens ? config.listen.toString() : "");
  json.key("mode").value(toString(config.mode));
  json.key("removed").value(members.retired());
  json.key("backends_total").value(members.configuredCount());
  json.key("backends_ready").value(members.readyCount());
  json.key("backends_leaving").value(members.leavingCount());
  json.key("min_ready").value(config.minReady);
  json.key("failing_open").value(members.failingOpen());
  json.key("terminating_fallback_backends").value(members.terminatingFallback());
  json.key("probes_per_backend_per_second").value(probesPerBackendPerSecond(config));
  if (members.configuredCount() == 0 && !members.retired()) {
    json.key("note").value("no endpoints: nothing to send traffic to");
  }
  json.key("sources").beginArray();
  for (const ServiceMembers::SourceStatus& source : members.sources()) {
    json.beginObject();
    json.key("source").value(source.source);
    json.key("endpoints").value(source.endpoints);
    writeTimeOrNull(json, "last_update", source.lastUpdateUnix);
    json.key("errors").value(static_cast<unsigned long long>(source.errors));
    json.key("last_error").value(source.lastError);
    if (source.kubernetes) {
      const ServiceMembers::KubernetesSourceStats& stats = *source.kubernetes;
      json.key("namespace").value(stats.namespaceName);
      json.key("service").value(stats.service);
      json.key("api_server").value(stats.apiServer);
      json.key("synced").value(stats.synced);
      writeTimeOrNull(json, "last_event", stats.lastEventUnix);
    }
    json.endObject();
  }
  json.endArray();
}

const char* rotationLabel(const BackendView& view) {
  if (view.failingOpen) return "fail-open";
  if (view.terminatingFallback) return "fallback";
  if (view.heldByMinReady) return "held";
  return view.inRotation ? "in" : "out";
}

std::string renderStatusJson(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                             const ProbeTimingStats& timing, double now) {
  JsonWriter json;
  json.beginObject();
  json.key("services").beginArray();
  for (const auto& members : services) {
    json.beginObject();
    writeServiceFields(json, *members);
    json.key("backends").beginArray();
    for (const auto& member : members->members()) {
      writeBackendJson(json, *members, *member, now, false);
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

std::string renderStatusTable(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                              double now) {
  std::vector<std::vector<std::string>> rows = {{"SERVICE", "BACKEND", "STATE", "ROTATION",
                                                 "REASON", "LAST-PROBE", "LATENCY", "CONNS",
                                                 "RESTARTS", "POD"}};
  for (const auto& members : services) {
    for (const auto& member : members->members()) {
      const ReadinessTracker& tracker = member->tracker;
      const BackendView& view = member->view;
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
      if (member->membership == Membership::Removed) {
        char closes[48];
        snprintf(closes, sizeof closes, "closes in %.1fs",
                 std::max(0.0, member->closeDeadline - now));
        lastProbe = closes;
      } else if (latest) {
        snprintf(latency, sizeof latency, "%.1fms", latest->latencySeconds * 1000);
        char ago[32];
        snprintf(ago, sizeof ago, " %.1fs ago", std::max(0.0, now - latest->finishedAt));
        lastProbe = std::string(toString(latestKind)) + " " + latest->reason + ago;
      }
      rows.push_back({members->config().name, member->backend->name(), toString(view.state),
                      rotationLabel(view), view.reason, lastProbe, latency,
                      std::to_string(member->backend->activeConnections()),
                      std::to_string(tracker.restarts()),
                      member->cluster && !member->cluster->pod.empty() ? member->cluster->pod
                                                                       : "-"});
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
