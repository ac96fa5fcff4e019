// Service and ServiceSettings implementation.
#include "proxy/upstream/service.h"

namespace readygate {

std::shared_ptr<const ServiceSettings> ServiceSettings::from(
    const ServiceConfig& config, const ServiceSettings* previous,
    std::vector<std::weak_ptr<Service>> routeTargets, std::shared_ptr<TlsServerContext> tls,
    std::shared_ptr<const TlsClientContext> upstreamTls) {
  auto settings = std::make_shared<ServiceSettings>();
  settings->mode = config.mode;
  settings->balance = config.balance;
  settings->balancer = previous && previous->balance == config.balance
                           ? previous->balancer
                           : std::shared_ptr<Balancer>(makeBalancer(config.balance));
  settings->connectTimeoutSeconds = config.connectTimeoutSeconds;
  settings->idleTimeoutSeconds = config.idleTimeoutSeconds;
  settings->retries = config.retries;
  settings->bufferHighWatermark = static_cast<size_t>(config.bufferBytes);
  settings->bufferLowWatermark = static_cast<size_t>(config.bufferBytes) / 2;
  settings->maxConnections = config.maxConnections;
  settings->maxConnectionsPerClient = config.maxConnectionsPerClient;
  settings->http = config.http;
  settings->http2 = config.http2;
  settings->ownBackends = !config.staticEndpoints.empty() || !config.endpointsFile.empty() ||
                          config.endpointsDns.has_value() ||
                          config.endpointsKubernetes.has_value();
  settings->routes = config.routes;
  settings->routeTargets = std::move(routeTargets);
  settings->routeTargets.resize(settings->routes.size());  // a missing target: 503
  settings->tls = std::move(tls);
  if (config.tls) {
    settings->handshakeTimeoutSeconds = config.tls->handshakeTimeoutSeconds;
    settings->clientSubjectHeader = config.tls->clientSubjectHeader;
  }
  settings->proxyProtocol = config.proxyProtocol;
  settings->sendProxyProtocol = config.sendProxyProtocol;
  settings->redirectToHttps = config.redirectToHttps;
  settings->upstreamTls = std::move(upstreamTls);
  settings->upstreamProtocol = config.upstreamProtocol;
  settings->retryUnprocessedStreams = config.retryUnprocessedStreams;
  if (config.hsts) {
    settings->hstsHeader =
        "max-age=" + std::to_string(static_cast<long long>(config.hsts->maxAgeSeconds));
    if (config.hsts->includeSubDomains) settings->hstsHeader += "; includeSubDomains";
    if (config.hsts->preload) settings->hstsHeader += "; preload";
  }
  return settings;
}

TlsClientOptions upstreamTlsOptions(const UpstreamTls& tls, size_t maxFileBytes,
                                    UpstreamProtocol protocol) {
  TlsClientOptions options;
  if (protocol == UpstreamProtocol::H2) options.alpn = {"h2"};
  options.verify = tls.verify;
  options.caFile = tls.ca;
  options.serverName = tls.serverName;
  options.certFile = tls.cert;
  options.keyFile = tls.key;
  options.resumeSessions = true;
  options.maxFileBytes = maxFileBytes;
  return options;
}

Service::Service(std::string name, std::shared_ptr<const ServiceSettings> settings)
    : name_(std::move(name)) {
  snapshot_.store(std::make_shared<const RotationSnapshot>());
  settings_.store(std::move(settings));
}

void Service::publish(std::vector<std::shared_ptr<Backend>> eligible, bool failOpen,
                      std::vector<double> readySince, double slowStartSeconds) {
  auto next = std::make_shared<RotationSnapshot>();
  next->eligible = std::move(eligible);
  next->failOpen = failOpen;
  next->readySince = std::move(readySince);
  next->slowStartSeconds = slowStartSeconds;
  snapshot_.store(std::move(next));
}

}  // namespace readygate
