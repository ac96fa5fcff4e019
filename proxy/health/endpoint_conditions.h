// What a discovery source may say of an endpoint besides its address: the cluster's conditions.
#pragma once

#include <optional>
#include <string>

#include "proxy/core/socket_address.h"

namespace readygate {

/// Kubernetes' view of one endpoint (discovery.k8s.io/v1 conditions, missing ones already
/// read the API's way), and where its pod runs, for /status.
struct ClusterConditions {
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  std::string pod;
  std::string node;
  std::string zone;

  bool operator==(const ClusterConditions&) const = default;
};

/// One endpoint as a source lists it. Static, file and DNS sources know nothing but the
/// address; the Kubernetes source adds the cluster's conditions.
struct DiscoveredEndpoint {
  SocketAddress address;
  std::optional<ClusterConditions> cluster;

  bool operator==(const DiscoveredEndpoint&) const = default;
};

}  // namespace readygate
