// What workers may know of a service's configuration: an immutable set swapped on reload.
#pragma once

#include <memory>
#include <string>

#include "config/config_types.h"
#include "proxy/transport/tls_client_context.h"
#include "proxy/transport/tls_server_context.h"
#include "proxy/upstream/balancer.h"

namespace readygate {
class Service;
}

namespace readygate {

/// Published as shared_ptr<const ServiceSettings> and replaced whole on reload, as the
/// rotation snapshot is: a connection reads it once at its start and keeps that copy,
/// so workers never see the configuration change under them.
struct ServiceSettings {
  ProxyMode mode = ProxyMode::Tcp;
  BalanceKind balance = BalanceKind::RoundRobin;
  /// Shared by all workers; kept across reloads that keep `balance`, so round robin
  /// keeps its position.
  std::shared_ptr<Balancer> balancer;
  double connectTimeoutSeconds = 5;
  double idleTimeoutSeconds = 300;
  int retries = 3;
  size_t bufferHighWatermark = 64 * 1024;  // reading from the other side stops here
  size_t bufferLowWatermark = 32 * 1024;   // and resumes here
  int maxConnections = 0;
  int maxConnectionsPerClient = 0;
  HttpSettings http;    // mode http only
  Http2Settings http2;  // mode http only
  /// mode http: requests by Host and path to other services' backends. Targets are
  /// weak: a route may point back at its own service.
  std::vector<RouteConfig> routes;
  std::vector<std::weak_ptr<Service>> routeTargets;  // aligned with routes
  bool ownBackends = true;                           // false: what no route takes is a 404

  // The listener's side (issue 19).
  /// The listener terminates TLS with this context (null: plaintext). Shared by every
  /// version of the settings until a reload makes a new one; certificates swap inside it.
  std::shared_ptr<TlsServerContext> tls;
  double handshakeTimeoutSeconds = 10;
  /// Clients come through a balancer that sends a PROXY header (null: they do not).
  std::optional<ProxyProtocolAccept> proxyProtocol;
  std::optional<ProxyProtocolVersion> sendProxyProtocol;  // to backends; never pooled then
  std::optional<HttpsRedirect> redirectToHttps;
  std::string hstsHeader;  // the Strict-Transport-Security value; "" when none
  /// mode http with tls.clientAuth: the header that carries the verified client to the
  /// backend (removed from what clients send, always); "" when none.
  std::string clientSubjectHeader;

  // The backends' side (issue 20).
  /// Traffic reaches the backends over TLS with this context (null: plain TCP). Made
  /// again on every reload (its files re-read), so a pooled connection of the old one is
  /// never taken for the new.
  std::shared_ptr<const TlsClientContext> upstreamTls;
  UpstreamProtocol upstreamProtocol = UpstreamProtocol::Http1;
  bool retryUnprocessedStreams = true;
  bool multiplexed() const { return upstreamProtocol != UpstreamProtocol::Http1; }

  /// The settings `config` asks for, reusing `previous`'s balancer when the kind is the
  /// same, with the route targets resolved by the caller (aligned with config.routes):
  /// settings are always published whole, never with routes still to be filled in.
  static std::shared_ptr<const ServiceSettings> from(
      const ServiceConfig& config, const ServiceSettings* previous,
      std::vector<std::weak_ptr<Service>> routeTargets,
      std::shared_ptr<TlsServerContext> tls = nullptr,
      std::shared_ptr<const TlsClientContext> upstreamTls = nullptr);
};

/// The client context options `upstreamTls` asks for (sessions resumed per backend).
/// h2 offers ALPN h2 alone: a backend that cannot speak it fails the handshake's check.
TlsClientOptions upstreamTlsOptions(const UpstreamTls& tls, size_t maxFileBytes,
                                    UpstreamProtocol protocol = UpstreamProtocol::Http1);

}  // namespace readygate
