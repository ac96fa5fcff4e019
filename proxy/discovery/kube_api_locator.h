// Where the API server is: in cluster from the service account, else from a kubeconfig file.
#pragma once

#include <string>
#include <variant>

#include "config/config_types.h"
#include "proxy/discovery/kube_api_target.h"

namespace readygate {

/// The process's surroundings the choice depends on, given so tests can set them.
struct KubeEnvironment {
  std::string serviceHost;  // KUBERNETES_SERVICE_HOST
  std::string servicePort;  // KUBERNETES_SERVICE_PORT
  std::string kubeconfig;   // KUBECONFIG
  std::string home;         // HOME
  std::string accountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

  static KubeEnvironment ofProcess();
};

/// client-go's order: `kubernetes.kubeconfig` when configured; else in cluster when
/// KUBERNETES_SERVICE_HOST is set; else the first file KUBECONFIG names (readygate
/// does not merge several), else ~/.kube/config. Files are read through core's file
/// reader (regular files, at most `maxFileBytes`). The reason when none can be used.
std::variant<KubeApiTarget, std::string> locateKubeApi(const KubernetesConfig& config,
                                                       const KubeEnvironment& environment,
                                                       size_t maxFileBytes);

}  // namespace readygate
