// The Kubernetes endpoint source of one service: its Service's slices followed, resolved to
// endpoints with their conditions, and what it knows of its API server for /status and metrics.
#pragma once

#include <prometheus/histogram.h>

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/config_types.h"
#include "proxy/discovery/kube_api_target.h"
#include "proxy/discovery/kubernetes_slice_source.h"
#include "proxy/health/endpoint_conditions.h"
#include "proxy/health/service_members.h"
#include "proxy/transport/buffer_pool.h"

namespace readygate {

/// Control loop only. `onNews(setChanged, arrivedAt)` after every answer or batch of
/// events from the API server; endpoints() is the last good set (never emptied by an
/// error: a failed list or watch keeps it, and a relist replaces it whole when complete).
class KubernetesEndpointSource {
 public:
  using NewsHandler = KubernetesSliceSource::NewsHandler;

  /// Starts listing at once. The reason instead when the target cannot be used.
  static std::variant<std::unique_ptr<KubernetesEndpointSource>, std::string> create(
      event_base* base, const KubernetesEndpoints& source, const KubeApiTarget& target,
      size_t maxFileBytes, const std::vector<std::string>& resolvers, NewsHandler onNews);
  KubernetesEndpointSource(const KubernetesEndpointSource&) = delete;
  KubernetesEndpointSource& operator=(const KubernetesEndpointSource&) = delete;

  /// Resolves the reflector's slices again (after news that changed them).
  void resolve();
  const std::vector<DiscoveredEndpoint>& endpoints() const { return endpoints_; }
  /// A whole list has been seen: endpoints() is the Service's.
  bool synced() const { return slices_->reflector().synced(); }
  ServiceMembers::SourceStatus status() const;
  /// Once after a list completed: its pages' control-loop time (KubernetesSliceSource).
  std::optional<double> takeListWork() { return slices_->takeListWork(); }
  /// Arrival of the bytes that changed the set to the rotation change (seconds).
  void observeEventToRotation(double seconds) { eventToRotation_->Observe(seconds); }

 private:
  KubernetesEndpointSource(KubernetesEndpoints source, std::string origin);

  const KubernetesEndpoints source_;  // namespace filled in from the target when unset
  const std::string origin_;
  BufferPool buffers_;  // the API client's I/O blocks; before the source that uses them
  std::unique_ptr<KubernetesSliceSource> slices_;
  std::vector<DiscoveredEndpoint> endpoints_;
  double lastUpdateUnix_ = 0;
  std::shared_ptr<prometheus::Histogram> eventToRotation_;
};

}  // namespace readygate
