// A service's endpoint sources (static, file, DNS, Kubernetes), merged and handed to its
// members as one set.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "proxy/core/file_reader.h"
#include "proxy/core/timer.h"
#include "proxy/discovery/dns_resolver.h"
#include "proxy/discovery/file_watch.h"
#include "proxy/discovery/kubernetes_endpoints.h"
#include "proxy/health/service_members.h"

namespace readygate {

/// Control loop only. Keeps the last good set of every source; a source that fails (an
/// unreadable or unparsable file) keeps its last good set, so an error never empties a
/// pool. Every change goes to ServiceMembers::setEndpoints, the same keyed diff a reload
/// uses (new endpoints start probing, gone ones drain, the rollout guard holds).
/// What every service's discovery shares: the DNS servers, the size cap of files, and the
/// API server the Kubernetes sources ask (located once per configuration).
struct DiscoverySettings {
  std::vector<std::string> resolvers;  // empty: /etc/resolv.conf
  size_t maxFileBytes = kDefaultMaxFileBytes;
  std::optional<KubeApiTarget> kubernetes;  // set when some service has a Kubernetes source
};

class ServiceDiscovery {
 public:
  ServiceDiscovery(event_base* base, ServiceMembers& members);
  ServiceDiscovery(const ServiceDiscovery&) = delete;
  ServiceDiscovery& operator=(const ServiceDiscovery&) = delete;

  /// The sources `config` names, read now (a file is then watched, a DNS name looked
  /// up every refreshSeconds through `settings.resolvers`), merged and applied. A file is
  /// read with readRegularFile: a FIFO, a device, a directory or a file over
  /// `settings.maxFileBytes` is an error that keeps the last good set.
  void apply(const ServiceConfig& config, const DiscoverySettings& settings);

  /// How often a watched file is looked at even without inotify news.
  static constexpr double kFilePollSeconds = 2;

 private:
  void readFile();
  void lookUp();
  void onLookup(DnsResolver::Result result);
  void onKubernetesNews(bool setChanged, double arrivedAt);
  void publish();
  std::vector<ServiceMembers::SourceStatus> statuses() const;

  event_base* base_;
  ServiceMembers& members_;
  std::vector<SocketAddress> static_;
  std::string filePath_;
  size_t maxFileBytes_ = kDefaultMaxFileBytes;
  std::unique_ptr<FileWatch> watch_;
  std::vector<SocketAddress> fileEndpoints_;  // the last good read
  ServiceMembers::SourceStatus fileStatus_;
  std::optional<DnsEndpoints> dns_;
  std::vector<std::string> resolvers_;
  std::unique_ptr<DnsResolver> resolver_;
  Timer dnsTimer_;  // every refreshSeconds while DNS is a source
  bool lookingUp_ = false;
  std::vector<SocketAddress> dnsEndpoints_;  // the last good answer
  ServiceMembers::SourceStatus dnsStatus_;
  std::optional<KubernetesEndpoints> kubernetes_;
  std::optional<KubeApiTarget> kubeTarget_;
  std::unique_ptr<KubernetesEndpointSource> kubeSource_;
  // A reload replaced the source: the old one's set stands until the new one has listed.
  std::vector<DiscoveredEndpoint> kubeCarried_;
  std::string kubeSetupError_;  // the source could not start (its status says so)
};

}  // namespace readygate
