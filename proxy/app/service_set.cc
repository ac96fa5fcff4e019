// ServiceSet implementation.
#include "proxy/app/service_set.h"

#include <algorithm>

#include "proxy/discovery/kube_api_client.h"
#include "proxy/discovery/kube_api_locator.h"
#include "proxy/health/health_check_session.h"
#include "proxy/http/http_session_factory.h"
#include "proxy/net/tcp_session.h"

namespace readygate {

ServiceSet::ServiceSet(event_base* base, const Clock& clock, ChildReaper& reaper,
                       ProbeTimingStats& stats)
    : base_(base), clock_(clock), reaper_(reaper), stats_(stats) {}

ServiceMembers& ServiceSet::add(const ServiceConfig& config) {
  // Its routes are resolved by publishSettings(), before any listener of it opens.
  auto service = std::make_shared<Service>(config.name, ServiceSettings::from(config, nullptr, {}));
  ProberContext context{base_, reaper_, config.name};
  ProberMaker maker = [this, context](ProbeKind, const ProbeSpec& spec,
                                      const SocketAddress& backend) {
    const ProbeTlsOptions* tls = tlsOptionsOf(spec);
    return makeProber(context, spec, backend, tls ? tls_.get(*tls) : nullptr);
  };
  services_.push_back(std::make_unique<ServiceMembers>(
      base_, clock_, HealthCheckSession::factory(base_, clock_, stats_, std::move(maker)),
      std::move(service), std::make_shared<const ServiceConfig>(config)));
  ServiceMembers& members = *services_.back();
  members.setEventLog(&events_);
  members.start();
  auto discovery = std::make_unique<ServiceDiscovery>(base_, members);
  discovery->apply(config, discoverySettings_);  // a file source is read before any listener opens
  discovery_[&members] = std::move(discovery);
  return members;
}

std::optional<std::string> ServiceSet::prepare(const Config& config) {
  if (auto error = tls_.prepare(config)) return error;
  preparedKubeApi_.reset();
  bool kubernetes = std::any_of(config.services.begin(), config.services.end(),
                                [](const ServiceConfig& s) { return s.endpointsKubernetes; });
  if (kubernetes) {
    auto located = locateKubeApi(config.kubernetes, KubeEnvironment::ofProcess(), config.maxFileBytes);
    if (auto* error = std::get_if<std::string>(&located)) return "kubernetes: " + *error;
    // Its CA and client certificate are loaded now, so a bad one refuses the configuration.
    BufferPool trial;
    auto client = KubeApiClient::create(base_, trial, std::get<KubeApiTarget>(located),
                                        config.maxFileBytes);
    if (auto* error = std::get_if<std::string>(&client)) return "kubernetes: " + *error;
    preparedKubeApi_ = std::get<KubeApiTarget>(located);
  }
  preparedTls_.clear();
  for (const ServiceConfig& service : config.services) {
    if (!service.tls) continue;
    auto made = ListenerCertificates::create(base_, *service.tls, service.mode, service.http2.enabled,
                                             config.maxFileBytes, tickets_);
    if (auto* error = std::get_if<std::string>(&made)) {
      preparedTls_.clear();
      return "service " + service.name + ": tls: " + *error;
    }
    preparedTls_[service.name] = std::move(std::get<std::unique_ptr<ListenerCertificates>>(made));
  }
  preparedUpstreamTls_.clear();
  for (const ServiceConfig& service : config.services) {
    if (!service.upstreamTls) continue;
    auto made =
        TlsClientContext::create(upstreamTlsOptions(*service.upstreamTls, config.maxFileBytes, service.upstreamProtocol));
    if (auto* error = std::get_if<std::string>(&made)) {
      preparedTls_.clear();
      preparedUpstreamTls_.clear();
      return "service " + service.name + ": upstreamTls: " + *error;
    }
    preparedUpstreamTls_[service.name] = std::get<std::shared_ptr<TlsClientContext>>(made);
  }
  return std::nullopt;
}

ServiceMembers* ServiceSet::find(const std::string& name) const {
  for (const auto& members : services_) {
    if (!members->retired() && members->service().name() == name) return members.get();
  }
  return nullptr;
}

void ServiceSet::publishSettings() {
  // What prepare() read for this configuration replaces what ran before, whole.
  for (auto& [name, prepared] : preparedTls_) listenerTls_[name] = std::move(prepared);
  preparedTls_.clear();
  upstreamTls_ = std::move(preparedUpstreamTls_);
  preparedUpstreamTls_.clear();
  std::erase_if(listenerTls_, [this](const auto& entry) {
    ServiceMembers* members = find(entry.first);
    return members == nullptr || !members->config().tls;
  });
  for (const auto& members : services_) {
    if (members->retired()) continue;
    const ServiceConfig& config = members->config();
    std::shared_ptr<TlsServerContext> tls;
    if (auto found = listenerTls_.find(config.name); found != listenerTls_.end()) {
      found->second->attach(members->servicePtr());
      tls = found->second->context();
    }
    std::shared_ptr<const TlsClientContext> upstreamTls;
    if (auto found = upstreamTls_.find(config.name); found != upstreamTls_.end()) {
      upstreamTls = found->second;
    }
    std::vector<std::weak_ptr<Service>> targets;
    for (const RouteConfig& route : config.routes) {
      ServiceMembers* target = find(route.service);
      targets.push_back(target ? target->servicePtr() : nullptr);
    }
    members->servicePtr()->publishSettings(
        ServiceSettings::from(config, members->service().settings().get(), std::move(targets),
                              std::move(tls), std::move(upstreamTls)));
  }
}

void ServiceSet::applyEndpoints(ServiceMembers& members, const ServiceConfig& config) {
  auto found = discovery_.find(&members);
  if (found != discovery_.end()) found->second->apply(config, discoverySettings_);
}

void ServiceSet::retire(ServiceMembers& members) {
  discovery_.erase(&members);
  members.retire();
}

void ServiceSet::dropFinished() {
  std::erase_if(services_, [](const auto& members) { return members->finished(); });
}

SessionFactory ServiceSet::sessionFactory(ProxyMode mode) {
  return mode == ProxyMode::Http ? httpSessionFactory() : TcpSession::factory();
}

std::variant<std::vector<ListeningSocket>, std::string> ServiceSet::bind(
    const SocketAddress& address, size_t workers, bool exclusive) {
  if (exclusive) {
    if (auto inUse = ListeningSocket::checkNotListened(address)) return *inUse;
  }
  std::vector<ListeningSocket> sockets;
  for (size_t i = 0; i < workers; ++i) {
    auto opened = ListeningSocket::open(address);
    if (auto* error = std::get_if<std::string>(&opened)) return *error;
    sockets.push_back(std::move(std::get<ListeningSocket>(opened)));
  }
  return sockets;
}

}  // namespace readygate
