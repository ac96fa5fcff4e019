// ServiceHealth implementation.
#include "proxy/app/service_health.h"

#include "proxy/core/log.h"

namespace readygate {

ServiceHealth::ServiceHealth(event_base* base, ChildReaper& reaper, const Clock& clock,
                             std::shared_ptr<Service> service, ProbeTimingStats& stats)
    : context_{base, reaper, service->name()},
      clock_(clock),
      service_(std::move(service)),
      stats_(stats) {}

std::optional<std::string> ServiceHealth::start() {
  const ServiceConfig& config = service_->config();
  ProbeTlsContexts tls;
  const std::pair<ProbeKind, const std::optional<ProbeSpec>*> kinds[] = {
      {ProbeKind::Startup, &config.startupProbe},
      {ProbeKind::Readiness, &config.readinessProbe},
      {ProbeKind::Liveness, &config.livenessProbe},
  };
  for (const auto& [kind, spec] : kinds) {
    if (!*spec || (*spec)->handler != ProbeSpec::Handler::HttpGet || !(*spec)->httpGet.https) {
      continue;
    }
    auto created = TlsClientContext::create((*spec)->httpGet.tls);
    if (auto* error = std::get_if<std::string>(&created)) {
      return std::string(toString(kind)) + " probe TLS: " + *error;
    }
    tls[static_cast<size_t>(kind)] = std::get<std::shared_ptr<TlsClientContext>>(created);
  }
  for (const auto& backend : service_->backends()) {
    backends_.push_back(std::make_unique<BackendProbes>(
        context_, clock_, config, backend, tls, stats_,
        [this](const Backend& changed, const HealthChange& change) { onChange(changed, change); }));
  }
  publish();
  return std::nullopt;
}

size_t ServiceHealth::readyCount() const {
  size_t ready = 0;
  for (const auto& probes : backends_) ready += probes->tracker().ready() ? 1 : 0;
  return ready;
}

void ServiceHealth::onChange(const Backend& backend, const HealthChange& change) {
  publish();
  logEvent(change.to == BackendHealth::Ready ? LogLevel::Info : LogLevel::Warn, "backend_health",
           {{"service", service_->name()},
            {"backend", backend.name()},
            {"from", toString(change.from)},
            {"to", toString(change.to)},
            {"probe", toString(change.probe)},
            {"reason", change.reason},
            {"restarted", change.restarted ? "true" : "false"},
            {"ready_backends", readyCount()},
            {"backends", backends_.size()}});
}

void ServiceHealth::publish() {
  std::vector<std::shared_ptr<Backend>> eligible;
  for (const auto& probes : backends_) {
    if (probes->tracker().ready()) eligible.push_back(probes->backendPtr());
  }
  service_->publish(std::move(eligible));
}

}  // namespace readygate
