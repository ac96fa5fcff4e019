// locateKubeApi: the in-cluster account, or a kubeconfig file.
#include "proxy/discovery/kube_api_locator.h"

#include <cstdlib>

#include "proxy/core/file_reader.h"

namespace readygate {
namespace {

std::string environmentValue(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::variant<KubeApiTarget, std::string> fromKubeconfig(const std::string& path,
                                                        size_t maxFileBytes) {
  auto read = readRegularFile(path, maxFileBytes);
  const std::string* text = fileContent(read);
  if (text == nullptr) return "kubeconfig " + path + ": " + fileError(read);
  size_t slash = path.rfind('/');
  std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  return parseKubeconfig(*text, directory, path);
}

}  // namespace

KubeEnvironment KubeEnvironment::ofProcess() {
  KubeEnvironment environment;
  environment.serviceHost = environmentValue("KUBERNETES_SERVICE_HOST");
  environment.servicePort = environmentValue("KUBERNETES_SERVICE_PORT");
  environment.kubeconfig = environmentValue("KUBECONFIG");
  environment.home = environmentValue("HOME");
  return environment;
}

std::variant<KubeApiTarget, std::string> locateKubeApi(const KubernetesConfig& config,
                                                       const KubeEnvironment& environment,
                                                       size_t maxFileBytes) {
  if (!config.kubeconfig.empty()) return fromKubeconfig(config.kubeconfig, maxFileBytes);
  if (!environment.serviceHost.empty()) {
    // Without the namespace file, "default", as client-go has it.
    auto read = readRegularFile(environment.accountDirectory + "/namespace", maxFileBytes);
    const std::string* text = fileContent(read);
    return inClusterTarget(environment.serviceHost, environment.servicePort,
                           environment.accountDirectory, text ? *text : std::string());
  }
  std::string first = environment.kubeconfig.substr(0, environment.kubeconfig.find(':'));
  if (!first.empty()) return fromKubeconfig(first, maxFileBytes);
  if (environment.home.empty()) {
    return std::string(
        "no API server: not in a cluster (KUBERNETES_SERVICE_HOST unset), no KUBECONFIG, no "
        "HOME for ~/.kube/config, and no kubernetes.kubeconfig");
  }
  return fromKubeconfig(environment.home + "/.kube/config", maxFileBytes);
}

}  // namespace readygate
