// renderMetrics implementation: one MetricFamily per catalogue entry, then TextSerializer.
#include "proxy/metrics/metrics_report.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "proxy/core/clock.h"
#include "proxy/core/log.h"
#include "proxy/core/process_events.h"
#include "proxy/metrics/metric_catalog.h"
#include "proxy/metrics/process_metrics.h"
#include "readygate/version.h"

namespace readygate {
namespace {

using Labels = std::vector<prometheus::ClientMetric::Label>;
using metrics::MetricInfo;
using prometheus::ClientMetric;
using prometheus::MetricFamily;

/// Families in catalogue order, filled as the state is walked once.
class FamilySet {
 public:
  void value(const MetricInfo& info, Labels labels, double value) {
    ClientMetric metric;
    metric.label = std::move(labels);
    if (info.type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family(info).metric.push_back(std::move(metric));
  }
  void histogram(const MetricInfo& info, Labels labels, const prometheus::Histogram& source) {
    ClientMetric metric = source.Collect();
    metric.label = std::move(labels);
    family(info).metric.push_back(std::move(metric));
  }
  /// Fixes a family's place in the output before any series arrives.
  void declare(const MetricInfo& info) { family(info); }
  std::vector<MetricFamily> take() { return std::move(families_); }

 private:
  MetricFamily& family(const MetricInfo& info) {
    auto found = index_.find(info.name);
    if (found != index_.end()) return families_[found->second];
    index_[info.name] = families_.size();
    families_.push_back(MetricFamily{info.name, info.help, info.type, {}});
    return families_.back();
  }
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

Labels plus(Labels labels, const char* name, std::string value) {
  labels.push_back({name, std::move(value)});
  return labels;
}

void addBackend(FamilySet& set, const ServiceMembers& service,
                const ServiceMembers::Member& member) {
  namespace m = metrics;
  const Labels labels{{"service", service.service().name()}, {"backend", member.backend->name()}};
  const ReadinessTracker& tracker = member.tracker;
  const BackendView& view = member.view;
  set.value(m::kBackendReady, labels, tracker.ready() ? 1 : 0);
  for (EffectiveState state : kAllEffectiveStates) {
    set.value(m::kBackendState, plus(labels, "state", toString(state)),
              view.state == state ? 1 : 0);
  }
  set.value(m::kBackendInRotation, labels, view.inRotation ? 1 : 0);
  set.value(m::kBackendFailingOpen, labels, view.failingOpen ? 1 : 0);
  for (const auto& [change, count] : member.transitions) {
    set.value(m::kBackendTransitions,
              plus(plus(labels, "from", toString(change.first)), "to", toString(change.second)),
              static_cast<double>(count));
  }
  set.value(m::kBackendLastTransition, labels, member.stateSinceUnix);
  set.value(m::kBackendRestarts, labels, tracker.restarts());
  if (service.config().outlierDetection) {
    set.value(m::kBackendEjections, labels, static_cast<double>(member.ejections));
  }
  for (ProbeKind kind : kAllProbeKinds) {
    if (!tracker.configured(kind)) continue;
    Labels probe = plus(labels, "probe", toString(kind));
    const ProbeCounters& counters = tracker.counters(kind);
    set.value(m::kConsecutiveFailures, probe, counters.consecutiveFailures);
    set.value(m::kConsecutiveSuccesses, probe, counters.consecutiveSuccesses);
    const ServiceMembers::ProbeStats& stats = member.probes[static_cast<size_t>(kind)];
    for (const auto& [outcome, count] : stats.outcomes) {
      set.value(m::kProbeTotal,
                plus(plus(probe, "result", outcome.success ? "success" : "failure"), "reason",
                     outcome.reason),
                static_cast<double>(count));
    }
    if (stats.durations) set.histogram(m::kProbeDuration, probe, *stats.durations);
  }
  set.value(m::kBackendConnectionsActive, labels, member.backend->activeConnections());
  set.value(m::kBackendConnectionsTotal, labels,
            static_cast<double>(member.backend->connectionsTotal()));
  set.value(m::kConnectFailures, labels, static_cast<double>(member.backend->connectFailures()));
  if (service.config().mode == ProxyMode::Http) {
    for (size_t i = 0; i < 5; ++i) {
      set.value(m::kHttpRequests, plus(labels, "code_class", std::to_string(i + 1) + "xx"),
                static_cast<double>(member.backend->responses(i)));
    }
    if (service.config().upstreamProtocol != UpstreamProtocol::Http1) {
      set.value(m::kBackendH2Connections, labels, member.backend->h2Connections());
      set.value(m::kBackendH2Goaways, labels, static_cast<double>(member.backend->h2GoawaysReceived()));
    }
  }
}

void addKubernetesSource(FamilySet& set, const Labels& labels,
                         const ServiceMembers::KubernetesSourceStats& stats) {
  namespace m = metrics;
  for (const auto& [type, count] : stats.eventsByType) {
    set.value(m::kKubernetesWatchEvents, plus(labels, "type", type), static_cast<double>(count));
  }
  for (const auto& [cause, count] : stats.relistsByCause) {
    set.value(m::kKubernetesRelists, plus(labels, "cause", cause), static_cast<double>(count));
  }
  for (const auto& [code, count] : stats.apiErrorsByCode) {
    set.value(m::kKubernetesApiErrors, plus(labels, "code", std::to_string(code)),
              static_cast<double>(count));
  }
  if (stats.lastEventUnix > 0) {
    set.value(m::kKubernetesSinceLastEvent, labels,
              std::max(0.0, unixSeconds() - stats.lastEventUnix));
  }
  set.value(m::kKubernetesSynced, labels, stats.synced ? 1 : 0);
  if (stats.eventToRotation) set.histogram(m::kKubernetesEventToRotation, labels, *stats.eventToRotation);
}

void addHttp2(FamilySet& set, const Labels& labels, const ServiceTraffic& traffic) {
  namespace m = metrics;
  auto load = [](const auto& counter) { return static_cast<double>(counter.load()); };
  set.value(m::kHttp2Connections, labels, load(traffic.http2Connections));
  set.value(m::kHttp2Streams, labels, load(traffic.http2Streams));
  set.value(m::kHttp2ActiveStreams, labels, load(traffic.http2StreamsActive));
  set.value(m::kHttp2Goaways, plus(labels, "direction", "sent"), load(traffic.http2GoawaysSent));
  set.value(m::kHttp2Goaways, plus(labels, "direction", "received"),
            load(traffic.http2GoawaysReceived));
  set.value(m::kHttp2FramesRefused, labels, load(traffic.http2FramesRefused));
  set.value(m::kHttp2Glitches, labels, load(traffic.http2Glitches));
  // The codes a client or readygate uses in practice always, the rest once seen: 15
  // codes in two directions would be 30 series per service mostly at 0.
  constexpr uint32_t kUsual[] = {0, 1, 2, 3, 5, 7, 8, 11};
  for (size_t sent = 0; sent < 2; ++sent) {
    Labels direction = plus(labels, "direction", sent ? "sent" : "received");
    for (size_t code = 0; code < std::size(ServiceTraffic::kH2ErrorCodes); ++code) {
      double count = load(traffic.http2Resets[sent][code]);
      bool usual = std::find(std::begin(kUsual), std::end(kUsual), code) != std::end(kUsual);
      if (count == 0 && !usual) continue;
      set.value(m::kHttp2Resets, plus(direction, "code", ServiceTraffic::kH2ErrorCodes[code]), count);
    }
  }
}

void addService(FamilySet& set, const ServiceMembers& members) {
  namespace m = metrics;
  const Service& service = members.service();
  const ServiceConfig& config = members.config();
  const Labels labels{{"service", service.name()}};
  set.value(m::kServiceBackends, labels, static_cast<double>(members.configuredCount()));
  set.value(m::kServiceReadyBackends, labels, static_cast<double>(members.readyCount()));
  set.value(m::kServiceMinReady, labels, config.minReady);
  set.value(m::kServiceLeavingBackends, labels, static_cast<double>(members.leavingCount()));
  for (ProbeKind kind : kAllProbeKinds) {
    const std::optional<ProbeSpec>& spec = probeOf(config, kind);
    if (spec) {
      set.value(m::kProbeTimeout, plus(labels, "probe", toString(kind)), spec->timeoutSeconds);
    }
  }
  for (const ServiceMembers::SourceStatus& source : members.sources()) {
    Labels sourceLabels = plus(labels, "source", source.source);
    set.value(m::kDiscoveryEndpoints, sourceLabels, static_cast<double>(source.endpoints));
    if (source.source != "static") {
      set.value(m::kDiscoveryLastUpdate, sourceLabels, source.lastUpdateUnix);
      set.value(m::kDiscoveryErrors, sourceLabels, static_cast<double>(source.errors));
    }
    if (source.kubernetes) addKubernetesSource(set, sourceLabels, *source.kubernetes);
  }
  set.value(m::kServiceTerminatingFallback, labels,
            static_cast<double>(members.terminatingFallback()));
  set.value(m::kServiceTerminatingFallbacks, labels,
            static_cast<double>(members.terminatingFallbacks()));
  const ServiceTraffic& traffic = service.traffic();
  auto load = [](const auto& counter) { return static_cast<double>(counter.load()); };
  set.value(m::kConnectionsActive, labels, load(traffic.connectionsActive));
  set.value(m::kConnectionsTotal, labels, load(traffic.connectionsTotal));
  set.value(m::kRetries, labels, load(traffic.retries));
  set.value(m::kBytes, plus(labels, "direction", "client_to_backend"),
            load(traffic.bytesFromClients));
  set.value(m::kBytes, plus(labels, "direction", "backend_to_client"),
            load(traffic.bytesToClients));
  set.value(m::kNoReadyBackend, labels, load(traffic.noReadyBackend));
  for (AdmissionRefusal reason : {AdmissionRefusal::ProcessLimit, AdmissionRefusal::ServiceLimit,
                                  AdmissionRefusal::ClientLimit}) {
    set.value(m::kConnectionsRefused, plus(labels, "reason", toString(reason)),
              load(traffic.refused[static_cast<size_t>(reason) - 1]));
  }
  set.value(m::kFailOpen, labels, load(traffic.failOpen));
  set.histogram(m::kConnectionDuration, labels, traffic.connectionDuration);
  set.histogram(m::kUpstreamConnectDuration, labels, traffic.connectDuration);
  if (config.mode == ProxyMode::Http) {
    set.histogram(m::kUpstreamFirstByte, labels, traffic.firstByte);
    for (size_t i = 0; i < 5; ++i) {
      set.value(m::kHttpRequests,
                {{"service", service.name()},
                 {"backend", "none"},
                 {"code_class", std::to_string(i + 1) + "xx"}},
                load(traffic.localResponses[i]));
    }
    set.histogram(m::kHttpRequestDuration, labels, traffic.requestDuration);
    set.value(m::kUpstreamRequests, plus(labels, "connection", "reused"),
              load(traffic.upstreamReused));
    set.value(m::kUpstreamRequests, plus(labels, "connection", "new"),
              load(traffic.upstreamOpened));
    set.value(m::kHttpRetries, labels, load(traffic.requestRetries));
    if (config.http2.enabled) addHttp2(set, labels, traffic);
    if (config.upstreamProtocol != UpstreamProtocol::Http1) {
      set.value(m::kUpstreamH2Connections, labels, load(traffic.upstreamH2Connections));
      set.histogram(m::kUpstreamH2StreamsPerConnection, labels, traffic.upstreamH2StreamsPerConnection);
      set.value(m::kUpstreamUnprocessedRetries, labels, load(traffic.unprocessedStreamRetries));
    }
    for (size_t code = 0; code < std::size(ServiceTraffic::kGrpcCodes); ++code) {
      double count = load(traffic.grpcResponses[code]);
      if (count == 0) continue;  // 18 series per service mostly at 0 otherwise
      set.value(m::kGrpcResponses, plus(labels, "grpc_status", ServiceTraffic::kGrpcCodes[code]), count);
    }
  }
  std::shared_ptr<const ServiceSettings> settings = service.settings();
  if (settings->tls) {
    for (size_t r = 0; r < std::size(ServiceTraffic::kHandshakeResults); ++r) {
      for (size_t v = 0; v < std::size(ServiceTraffic::kHandshakeVersions); ++v) {
        bool unknownVersion = v + 1 == std::size(ServiceTraffic::kHandshakeVersions);
        if ((r == 0) == unknownVersion) continue;  // ok has a version, failures do not
        set.value(m::kTlsHandshakes,
                  {{"service", service.name()},
                   {"result", ServiceTraffic::kHandshakeResults[r]},
                   {"version", ServiceTraffic::kHandshakeVersions[v]}},
                  load(traffic.tlsHandshakes[r][v]));
      }
    }
    set.value(m::kTlsResumedHandshakes, labels, load(traffic.tlsResumed));
    set.histogram(m::kTlsHandshakeDuration, labels, traffic.tlsHandshakeDuration);
    std::set<std::string> names;  // two certificates for one name: one series each
    for (const auto& certificate : settings->tls->certificates()->all()) {
      std::string name = certificate->label;
      for (int n = 2; !names.insert(name).second; ++n) {
        name = certificate->label + " (" + std::to_string(n) + ")";
      }
      set.value(m::kTlsCertificateExpiry, plus(labels, "name", name),
                static_cast<double>(certificate->notAfter));
    }
    set.value(m::kTlsCertificateReloads, plus(labels, "result", "success"),
              load(traffic.certificateReloadsOk));
    set.value(m::kTlsCertificateReloads, plus(labels, "result", "failure"),
              load(traffic.certificateReloadsFailed));
  }
  if (settings->proxyProtocol) {
    set.value(m::kProxyProtocolRefused, labels, load(traffic.proxyHeaderRefused));
  }
  if (settings->upstreamTls) {
    for (auto [result, counter] : {std::pair{"full", &traffic.upstreamTlsFull},
                                   std::pair{"resumed", &traffic.upstreamTlsResumed},
                                   std::pair{"verify_failed", &traffic.upstreamTlsVerifyFailed},
                                   std::pair{"failed", &traffic.upstreamTlsFailed}}) {
      set.value(m::kUpstreamTlsHandshakes, plus(labels, "result", result), load(*counter));
    }
  }
}

/// A removed service whose connections still drain is left out while a service of the
/// same name runs (a mode change replaces it): two series with one label set would make
/// the whole scrape invalid.
bool shadowed(const ServiceMembers& members,
              const std::vector<std::unique_ptr<ServiceMembers>>& services) {
  if (!members.retired()) return false;
  return std::any_of(services.begin(), services.end(), [&](const auto& other) {
    return !other->retired() && other->service().name() == members.service().name();
  });
}

}  // namespace

std::string renderMetrics(const std::vector<std::unique_ptr<ServiceMembers>>& services,
                          const ServerCounters& counters) {
  namespace m = metrics;
  FamilySet set;
  // Declared up front so the output follows the catalogue's order.
  for (const MetricInfo* info : {&m::kBackendReady,
                                 &m::kBackendState,
                                 &m::kBackendInRotation,
                                 &m::kBackendFailingOpen,
                                 &m::kBackendTransitions,
                                 &m::kBackendLastTransition,
                                 &m::kBackendRestarts,
                                 &m::kBackendEjections,
                                 &m::kConsecutiveFailures,
                                 &m::kConsecutiveSuccesses,
                                 &m::kProbeTotal,
                                 &m::kProbeDuration,
                                 &m::kProbeTimeout,
                                 &m::kServiceBackends,
                                 &m::kServiceReadyBackends,
                                 &m::kServiceMinReady,
                                 &m::kServiceLeavingBackends,
                                 &m::kDiscoveryEndpoints,
                                 &m::kDiscoveryLastUpdate,
                                 &m::kDiscoveryErrors,
                                 &m::kKubernetesWatchEvents,
                                 &m::kKubernetesRelists,
                                 &m::kKubernetesApiErrors,
                                 &m::kKubernetesSinceLastEvent,
                                 &m::kKubernetesSynced,
                                 &m::kKubernetesEventToRotation,
                                 &m::kServiceTerminatingFallback,
                                 &m::kServiceTerminatingFallbacks,
                                 &m::kConnectionsActive,
                                 &m::kConnectionsTotal,
                                 &m::kBackendConnectionsActive,
                                 &m::kBackendConnectionsTotal,
                                 &m::kConnectFailures,
                                 &m::kRetries,
                                 &m::kBytes,
                                 &m::kNoReadyBackend,
                                 &m::kFailOpen,
                                 &m::kConnectionDuration,
                                 &m::kHttpRequests,
                                 &m::kHttpRequestDuration,
                                 &m::kUpstreamRequests,
                                 &m::kHttpRetries,
                                 &m::kHttp2Connections,
                                 &m::kHttp2Streams,
                                 &m::kHttp2ActiveStreams,
                                 &m::kHttp2Goaways,
                                 &m::kHttp2Resets,
                                 &m::kHttp2FramesRefused,
                                 &m::kHttp2Glitches,
                                 &m::kTlsHandshakes,
                                 &m::kTlsResumedHandshakes,
                                 &m::kTlsHandshakeDuration,
                                 &m::kTlsCertificateExpiry,
                                 &m::kTlsCertificateReloads,
                                 &m::kProxyProtocolRefused,
                                 &m::kUpstreamTlsHandshakes,
                                 &m::kUpstreamH2Connections,
                                 &m::kUpstreamH2StreamsPerConnection,
                                 &m::kUpstreamUnprocessedRetries,
                                 &m::kBackendH2Connections,
                                 &m::kBackendH2Goaways,
                                 &m::kGrpcResponses,
                                 &m::kUpstreamConnectDuration,
                                 &m::kUpstreamFirstByte}) {
    set.declare(*info);
  }
  for (const auto& members : services) {
    if (shadowed(*members, services)) continue;
    addService(set, *members);
    for (const auto& member : members->members()) addBackend(set, *members, *member);
  }
  set.value(m::kConfigReloads, {{"result", "success"}},
            static_cast<double>(counters.reloadsSucceeded));
  set.value(m::kConfigReloads, {{"result", "failure"}},
            static_cast<double>(counters.reloadsFailed));
  set.value(m::kConfigLastReloadSuccess, {}, counters.lastReloadSuccessUnixSeconds);
  set.value(m::kLogLinesDropped, {}, static_cast<double>(logLinesDropped()));
  set.value(m::kLogLinesSuppressed, {}, static_cast<double>(logLinesSuppressed()));
  for (AcceptError error : {AcceptError::ProcessFdLimit, AcceptError::SystemFdLimit,
                            AcceptError::KernelMemory, AcceptError::Other}) {
    set.value(m::kAcceptErrors, {{"reason", toString(error)}},
              static_cast<double>(acceptErrors(error)));
  }
  set.value(m::kExecOrphansReaped, {}, static_cast<double>(orphansReaped()));
  set.value(m::kBuildInfo, {{"version", kVersion}}, 1);
  set.value(m::kShuttingDown, {}, counters.shuttingDown ? 1 : 0);

  std::vector<MetricFamily> families = set.take();
  // A family with no series yet (no probes configured, say) is left out entirely.
  std::erase_if(families, [](const MetricFamily& family) { return family.metric.empty(); });
  m::appendProcessMetrics(families);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace readygate
