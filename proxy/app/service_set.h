// The running services: each one's Service (for workers) and ServiceMembers (for health), made
// alike at start and reload.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "config/config_types.h"
#include "proxy/app/listener_certificates.h"
#include "proxy/core/child_reaper.h"
#include "proxy/core/clock.h"
#include "proxy/discovery/service_discovery.h"
#include "proxy/health/service_members.h"
#include "proxy/net/listening_socket.h"
#include "proxy/net/proxy_worker.h"
#include "proxy/probe/prober_factory.h"

namespace readygate {

/// Control loop only. Services removed by a reload stay in the list (retired) until
/// their last connection is gone, so /status can show them draining.
class ServiceSet {
 public:
  ServiceSet(event_base* base, const Clock& clock, ChildReaper& reaper, ProbeTimingStats& stats);

  /// Makes the TLS contexts `config`'s HTTPS probes, TLS listeners and upstreamTls need,
  /// reading every certificate, key and CA file again, and locates the API server when a
  /// service has a Kubernetes source; the first error, if any (the configuration is refused).
  /// The listeners' contexts are used from the next publishSettings().
  std::optional<std::string> prepare(const Config& config);
  /// The DNS servers discovery asks and its file size cap; before add/applyEndpoints.
  void setDiscovery(DiscoverySettings settings) { discoverySettings_ = std::move(settings); }
  /// The API server prepare() located for the configuration's Kubernetes sources.
  const std::optional<KubeApiTarget>& preparedKubeApi() const { return preparedKubeApi_; }
  /// Creates a service and starts probing its endpoints (first rotation published).
  ServiceMembers& add(const ServiceConfig& config);
  /// Reload: the service's endpoint sources as `config` names them (static, file).
  void applyEndpoints(ServiceMembers& members, const ServiceConfig& config);
  /// Reload: the service leaves; its discovery stops, its backends drain.
  void retire(ServiceMembers& members);
  /// The running (not retired) service of that name.
  ServiceMembers* find(const std::string& name) const;
  const std::vector<std::unique_ptr<ServiceMembers>>& all() const { return services_; }
  /// Every service's backend state changes, newest last; kept across reloads.
  const StateEventLog& events() const { return events_; }
  /// Publishes every running service's settings from its configuration, whole: routes
  /// resolved to the running services they name, in one swap per service. After start
  /// and after each reload, before any new listener opens, so no request ever sees
  /// settings without their routes.
  void publishSettings();
  /// Frees retired services whose connections are all gone.
  void dropFinished();
  void clear() {
    discovery_.clear();
    services_.clear();
  }

  /// The sessions a service's listener makes: TCP or HTTP, by its mode.
  static SessionFactory sessionFactory(ProxyMode mode);

  /// One listening socket per worker on `address`, or the bind error. `exclusive`: first
  /// make sure no other process listens there (SO_REUSEPORT would share the port silently).
  static std::variant<std::vector<ListeningSocket>, std::string> bind(const SocketAddress& address,
                                                                      size_t workers,
                                                                      bool exclusive);

 private:
  event_base* base_;
  const Clock& clock_;
  ChildReaper& reaper_;
  ProbeTimingStats& stats_;
  ProbeTlsContexts tls_;
  /// Session ticket keys of every TLS listener: one ring, so a ticket resumes on any
  /// worker and across reloads. Rotated hourly; a ticket is good for three hours.
  std::shared_ptr<TicketKeyRing> tickets_ = std::make_shared<TicketKeyRing>(3600, 3);
  /// TLS listeners by service name: those running, and those prepare() made for the
  /// configuration about to be published.
  std::unordered_map<std::string, std::unique_ptr<ListenerCertificates>> listenerTls_;
  std::unordered_map<std::string, std::unique_ptr<ListenerCertificates>> preparedTls_;
  /// upstreamTls contexts by service name, likewise: the running ones and the prepared.
  std::unordered_map<std::string, std::shared_ptr<const TlsClientContext>> upstreamTls_;
  std::unordered_map<std::string, std::shared_ptr<const TlsClientContext>> preparedUpstreamTls_;
  DiscoverySettings discoverySettings_;
  std::optional<KubeApiTarget> preparedKubeApi_;
  StateEventLog events_;  // before services_: they keep a pointer to it
  std::vector<std::unique_ptr<ServiceMembers>> services_;
  std::unordered_map<const ServiceMembers*, std::unique_ptr<ServiceDiscovery>> discovery_;
};

}  // namespace readygate
