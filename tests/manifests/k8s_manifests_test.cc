// docker/k8s without a cluster: the kustomization renders, what must agree across the
// manifests agrees, and the ConfigMap's config passes `readygate --check`.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace {

using testing_support::ChildProcess;
using namespace std::chrono_literals;

const std::string kManifests = std::string(SOURCE_DIR) + "/docker/k8s";

std::string temporaryDirectory() {
  char pattern[] = "/tmp/readygate-k8s-test.XXXXXX";
  const char* made = mkdtemp(pattern);
  return made != nullptr ? made : "/tmp";
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

/// The rendered manifests, each by "Kind/name".
class RenderedManifests {
 public:
  RenderedManifests() : dir_(temporaryDirectory()) {
    std::string output = dir_ + "/rendered.yaml";
    // READYGATE_TEST_KUBECTL picks another kubectl (another kustomize version) to render.
    const char* other = std::getenv("READYGATE_TEST_KUBECTL");
    ChildProcess kubectl({other != nullptr ? other : KUBECTL_BIN, "kustomize", kManifests}, output);
    exitStatus_ = kubectl.waitExit(60s).value_or(-1);
    text_ = readFile(output);
    if (exitStatus_ != 0) return;
    for (const YAML::Node& document : YAML::LoadAll(text_)) {
      if (!document.IsMap()) continue;
      std::string key =
          document["kind"].as<std::string>() + "/" + document["metadata"]["name"].as<std::string>();
      byKey_[key] = document;
    }
  }

  ~RenderedManifests() {
    std::error_code ignored;  // a scratch directory: every test run made one and kept it
    if (dir_ != "/tmp") std::filesystem::remove_all(dir_, ignored);
  }
  RenderedManifests(const RenderedManifests&) = delete;
  RenderedManifests& operator=(const RenderedManifests&) = delete;

  int exitStatus() const { return exitStatus_; }
  const std::string& text() const { return text_; }
  const std::string& dir() const { return dir_; }
  YAML::Node get(const std::string& key) const {
    auto found = byKey_.find(key);
    return found == byKey_.end() ? YAML::Node() : found->second;
  }
  std::vector<YAML::Node> ofKind(const std::string& kind) const {
    std::vector<YAML::Node> found;
    for (const auto& [key, node] : byKey_) {
      if (key.rfind(kind + "/", 0) == 0) found.push_back(node);
    }
    return found;
  }

 private:
  std::string dir_;
  int exitStatus_ = -1;
  std::string text_;
  std::map<std::string, YAML::Node> byKey_;
};

const RenderedManifests& rendered() {
  static const RenderedManifests manifests;
  return manifests;
}

/// The ConfigMap whose name the readygate Deployment mounts (kustomize adds a hash suffix
/// to the generated name and rewrites the reference: both must still agree).
YAML::Node mountedConfigMap(const YAML::Node& deployment) {
  for (const YAML::Node& volume : deployment["spec"]["template"]["spec"]["volumes"]) {
    if (volume["configMap"]) {
      return rendered().get("ConfigMap/" + volume["configMap"]["name"].as<std::string>());
    }
  }
  return YAML::Node();
}

/// Where `container` mounts the pod's volume of `source` ("configMap", "secret"), or "".
std::string mountPathOf(const YAML::Node& pod, const YAML::Node& container,
                        const std::string& source) {
  for (const YAML::Node& mount : container["volumeMounts"]) {
    for (const YAML::Node& volume : pod["volumes"]) {
      if (volume["name"].as<std::string>() == mount["name"].as<std::string>() && volume[source]) {
        return mount["mountPath"].as<std::string>();
      }
    }
  }
  return "";
}

int portOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

/// A container's port by name, or the number itself.
int resolvePort(const YAML::Node& container, const YAML::Node& port) {
  if (port.IsScalar() && std::regex_match(port.as<std::string>(), std::regex("[0-9]+"))) {
    return port.as<int>();
  }
  for (const YAML::Node& declared : container["ports"]) {
    if (declared["name"].as<std::string>() == port.as<std::string>()) {
      return declared["containerPort"].as<int>();
    }
  }
  return -1;
}

bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || selector.size() == 0) return false;
  for (const auto& pair : selector) {
    std::string key = pair.first.as<std::string>();
    if (!labels[key] || labels[key].as<std::string>() != pair.second.as<std::string>()) {
      return false;
    }
  }
  return true;
}

TEST(KubernetesManifests, KustomizeRendersThemAll) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  for (const char* key : {"Namespace/readygate-demo", "Deployment/readygate", "Service/readygate",
                          "Service/readygate-admin", "PodDisruptionBudget/readygate",
                          "Deployment/demo-app", "Service/demo-app", "ServiceAccount/readygate",
                          "Role/readygate-endpointslices", "RoleBinding/readygate-endpointslices"}) {
    EXPECT_TRUE(rendered().get(key)) << key << " is missing";
  }
  ASSERT_EQ(rendered().ofKind("ConfigMap").size(), 1u);
  for (const auto& kind : {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
                           "ServiceAccount", "Role", "RoleBinding"}) {
    for (const YAML::Node& node : rendered().ofKind(kind)) {
      EXPECT_EQ(node["metadata"]["namespace"].as<std::string>(""), "readygate-demo")
          << kind << " " << node["metadata"]["name"];
    }
  }
}

TEST(KubernetesManifests, TheConfigMapsConfigPassesReadygateCheck) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  YAML::Node deployment = rendered().get("Deployment/readygate");
  YAML::Node configMap = mountedConfigMap(deployment);
  ASSERT_TRUE(configMap) << "the Deployment mounts no rendered ConfigMap";
  ASSERT_TRUE(configMap["data"]["readygate.yaml"]);
  std::string path = rendered().dir() + "/readygate.yaml";
  std::ofstream(path) << configMap["data"]["readygate.yaml"].as<std::string>();
  ChildProcess check({READYGATE_BIN, "--check", "-c", path}, rendered().dir() + "/check.out");
  EXPECT_EQ(check.waitExit(30s), 0) << check.output();
}

TEST(KubernetesManifests, ReadygatesDeploymentAgreesWithItsConfigAndImage) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  YAML::Node deployment = rendered().get("Deployment/readygate");
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  YAML::Node container = pod["containers"][0];
  YAML::Node config =
      YAML::Load(mountedConfigMap(deployment)["data"]["readygate.yaml"].as<std::string>());

  EXPECT_EQ(deployment["spec"]["replicas"].as<int>(), 2);
  EXPECT_TRUE(selects(deployment["spec"]["selector"]["matchLabels"],
                      deployment["spec"]["template"]["metadata"]["labels"]));

  // The config file the container is told to read is the ConfigMap's key where it is mounted.
  std::string configPath;
  for (size_t i = 0; i + 1 < container["args"].size(); ++i) {
    if (container["args"][i].as<std::string>() == "-c")
      configPath = container["args"][i + 1].as<std::string>();
  }
  EXPECT_EQ(configPath, mountPathOf(pod, container, "configMap") + "/readygate.yaml");

  // Ports: the admin API's and every service's listen port are container ports; the kubelet
  // probes /healthz and /readyz at the admin port; Prometheus is told the same port.
  int adminPort = portOf(config["admin"]["listen"].as<std::string>());
  EXPECT_EQ(resolvePort(container, YAML::Node("admin")), adminPort);
  for (const YAML::Node& service : config["services"]) {
    if (!service["listen"]) continue;
    int listenPort = portOf(service["listen"].as<std::string>());
    bool declared = false;
    for (const YAML::Node& port : container["ports"])
      declared |= port["containerPort"].as<int>() == listenPort;
    EXPECT_TRUE(declared) << "service " << service["name"] << " listens on " << listenPort;
  }
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(resolvePort(container, container["livenessProbe"]["httpGet"]["port"]), adminPort);
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(resolvePort(container, container["readinessProbe"]["httpGet"]["port"]), adminPort);
  YAML::Node annotations = deployment["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(""), "true");
  EXPECT_EQ(annotations["prometheus.io/port"].as<int>(0), adminPort);
  EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(""), "/metrics");

  // SIGKILL comes after terminationGracePeriodSeconds: it must not cut the shutdown delay
  // plus the longest drain short (drainTimeoutSeconds defaults to 30).
  double drain = 0;
  for (const YAML::Node& service : config["services"]) {
    drain = std::max(drain, service["drainTimeoutSeconds"].as<double>(30));
  }
  double needed = config["shutdownDelaySeconds"].as<double>(0) + drain;
  EXPECT_GT(config["shutdownDelaySeconds"].as<double>(0), 0)
      << "shutdownDelaySeconds, not a preStop sleep";
  EXPECT_FALSE(container["lifecycle"]["preStop"])
      << "shutdownDelaySeconds replaces a preStop sleep";
  EXPECT_GE(pod["terminationGracePeriodSeconds"].as<double>(), needed);

  // Hardened: non-root as the image's own user, nothing writable, no capabilities.
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>(false));
  std::smatch user;
  std::string dockerfile = readFile(std::string(SOURCE_DIR) + "/docker/Dockerfile");
  ASSERT_TRUE(std::regex_search(dockerfile, user, std::regex("\\nUSER ([0-9]+)")));
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<std::string>(""), user[1].str());
  YAML::Node security = container["securityContext"];
  EXPECT_TRUE(security["readOnlyRootFilesystem"].as<bool>(false));
  EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>(true));
  ASSERT_TRUE(security["capabilities"]["drop"]);
  EXPECT_EQ(security["capabilities"]["drop"][0].as<std::string>(), "ALL");
  for (const char* kind : {"requests", "limits"}) {
    EXPECT_TRUE(container["resources"][kind]["cpu"]) << kind;
    EXPECT_TRUE(container["resources"][kind]["memory"]) << kind;
  }

  // The admin token file lies in the mounted Secret.
  std::string tokenFile = config["admin"]["tokenFile"].as<std::string>("");
  std::string secretPath = mountPathOf(pod, container, "secret");
  EXPECT_TRUE(!secretPath.empty() && tokenFile.rfind(secretPath + "/", 0) == 0)
      << "admin.tokenFile " << tokenFile << " is not in a mounted Secret";
}

TEST(KubernetesManifests, SelectorsAndPortsMeetAcrossServicesAndBudgets) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  auto podOf = [](const std::string& deployment) {
    return rendered().get("Deployment/" + deployment)["spec"]["template"];
  };
  YAML::Node readygatePod = podOf("readygate");
  YAML::Node appPod = podOf("demo-app");
  YAML::Node readygateContainer = readygatePod["spec"]["containers"][0];

  for (const char* name : {"readygate", "readygate-admin"}) {
    YAML::Node service = rendered().get(std::string("Service/") + name);
    EXPECT_TRUE(selects(service["spec"]["selector"], readygatePod["metadata"]["labels"])) << name;
    for (const YAML::Node& port : service["spec"]["ports"]) {
      EXPECT_GT(resolvePort(readygateContainer, port["targetPort"]), 0) << name << " " << port;
    }
  }
  // The ingress Service does not carry the admin API.
  for (const YAML::Node& port : rendered().get("Service/readygate")["spec"]["ports"]) {
    EXPECT_NE(port["targetPort"].as<std::string>(), "admin");
  }
  YAML::Node budget = rendered().get("PodDisruptionBudget/readygate");
  EXPECT_TRUE(
      selects(budget["spec"]["selector"]["matchLabels"], readygatePod["metadata"]["labels"]));
  EXPECT_LT(budget["spec"]["minAvailable"].as<int>(),
            rendered().get("Deployment/readygate")["spec"]["replicas"].as<int>())
      << "a budget as large as the Deployment blocks every node drain";

  // The config follows the app Service's EndpointSlices: the Service exists in readygate's
  // namespace (the default the source takes in cluster), selects the app's pods, and has
  // the port the source names, whose target is the app container's port.
  YAML::Node deployment = rendered().get("Deployment/readygate");
  YAML::Node config =
      YAML::Load(mountedConfigMap(deployment)["data"]["readygate.yaml"].as<std::string>());
  YAML::Node source = config["services"][0]["endpoints"]["kubernetes"];
  ASSERT_TRUE(source);
  EXPECT_FALSE(config["services"][0]["endpoints"]["dns"]) << "one source: the slices";
  YAML::Node app = rendered().get("Service/" + source["service"].as<std::string>());
  ASSERT_TRUE(app) << "the source names a Service the manifests do not have";
  EXPECT_EQ(app["metadata"]["namespace"].as<std::string>(),
            deployment["metadata"]["namespace"].as<std::string>());
  EXPECT_FALSE(source["namespace"]) << "in cluster the pod's own namespace is the default";
  EXPECT_TRUE(selects(app["spec"]["selector"], appPod["metadata"]["labels"]));
  YAML::Node appContainer = appPod["spec"]["containers"][0];
  YAML::Node servicePort;
  for (const YAML::Node& port : app["spec"]["ports"]) {
    if (port["name"].as<std::string>("") == source["port"].as<std::string>()) servicePort = port;
  }
  ASSERT_TRUE(servicePort) << "no Service port named " << source["port"];
  EXPECT_GT(resolvePort(appContainer, servicePort["targetPort"]), 0);
  // The app's own probes ask what readygate's probes ask.
  EXPECT_EQ(appContainer["readinessProbe"]["httpGet"]["path"].as<std::string>(),
            config["services"][0]["readinessProbe"]["httpGet"]["path"].as<std::string>());
  EXPECT_EQ(appContainer["livenessProbe"]["httpGet"]["path"].as<std::string>(),
            config["services"][0]["livenessProbe"]["httpGet"]["path"].as<std::string>());
  EXPECT_TRUE(appPod["spec"]["securityContext"]["runAsNonRoot"].as<bool>(false));
}

// The Role grants exactly what the Kubernetes source uses, list and watch of EndpointSlices
// in its own namespace, to the ServiceAccount readygate's pods run as; nothing cluster-wide.
TEST(KubernetesManifests, TheRoleGrantsExactlyWhatTheSliceSourceUses) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  YAML::Node deployment = rendered().get("Deployment/readygate");
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  std::string account = pod["serviceAccountName"].as<std::string>("");
  ASSERT_EQ(account, "readygate");
  EXPECT_TRUE(pod["automountServiceAccountToken"].as<bool>(false));
  std::string ns = deployment["metadata"]["namespace"].as<std::string>();
  EXPECT_TRUE(rendered().get("ServiceAccount/" + account));
  EXPECT_TRUE(rendered().ofKind("ClusterRole").empty());
  EXPECT_TRUE(rendered().ofKind("ClusterRoleBinding").empty());

  std::vector<YAML::Node> roles = rendered().ofKind("Role");
  ASSERT_EQ(roles.size(), 1u);
  YAML::Node role = roles[0];
  EXPECT_EQ(role["metadata"]["namespace"].as<std::string>(), ns);
  ASSERT_EQ(role["rules"].size(), 1u) << "one rule: list and watch EndpointSlices";
  YAML::Node rule = role["rules"][0];
  auto items = [](const YAML::Node& list) {
    std::vector<std::string> out;
    for (const YAML::Node& item : list) out.push_back(item.as<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(items(rule["apiGroups"]), std::vector<std::string>{"discovery.k8s.io"});
  EXPECT_EQ(items(rule["resources"]), std::vector<std::string>{"endpointslices"});
  EXPECT_EQ(items(rule["verbs"]), (std::vector<std::string>{"list", "watch"}));
  EXPECT_FALSE(rule["resourceNames"]) << "a list cannot be limited by resource name";

  // And the config uses nothing more: every service's source is the slices of a Service
  // in this namespace (another namespace would need another Role).
  YAML::Node config =
      YAML::Load(mountedConfigMap(deployment)["data"]["readygate.yaml"].as<std::string>());
  for (const YAML::Node& service : config["services"]) {
    YAML::Node source = service["endpoints"]["kubernetes"];
    if (!source) continue;
    EXPECT_EQ(source["namespace"].as<std::string>(ns), ns) << service["name"];
  }

  std::vector<YAML::Node> bindings = rendered().ofKind("RoleBinding");
  ASSERT_EQ(bindings.size(), 1u);
  YAML::Node binding = bindings[0];
  EXPECT_EQ(binding["metadata"]["namespace"].as<std::string>(), ns);
  EXPECT_EQ(binding["roleRef"]["kind"].as<std::string>(), "Role");
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(),
            role["metadata"]["name"].as<std::string>());
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0]["kind"].as<std::string>(), "ServiceAccount");
  EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), account);
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(""), ns);
}

TEST(KubernetesManifests, TheOptionalServiceMonitorFindsTheAdminService) {
  ASSERT_EQ(rendered().exitStatus(), 0) << rendered().text();
  YAML::Node monitor = YAML::LoadFile(kManifests + "/servicemonitor-optional.yaml");
  YAML::Node admin = rendered().get("Service/readygate-admin");
  EXPECT_EQ(monitor["metadata"]["namespace"].as<std::string>(),
            admin["metadata"]["namespace"].as<std::string>());
  EXPECT_TRUE(selects(monitor["spec"]["selector"]["matchLabels"], admin["metadata"]["labels"]));
  EXPECT_FALSE(selects(monitor["spec"]["selector"]["matchLabels"],
                       rendered().get("Service/readygate")["metadata"]["labels"]))
      << "the ServiceMonitor would also pick the ingress Service";
  EXPECT_EQ(monitor["spec"]["endpoints"][0]["port"].as<std::string>(),
            admin["spec"]["ports"][0]["name"].as<std::string>());
}

}  // namespace
