// Reading a kubeconfig's current context (yaml-cpp) and a pod's service-account settings.
#include "proxy/discovery/kube_api_target.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <tuple>

#include "proxy/core/file_reader.h"

namespace readygate {
namespace {

/// The entry of `list` (clusters, users, contexts) called `name`: its `key` mapping.
YAML::Node entryNamed(const YAML::Node& list, const std::string& name, const char* key) {
  if (!list.IsSequence()) return YAML::Node();
  for (const YAML::Node& entry : list) {
    if (!entry.IsMap()) continue;
    YAML::Node entryName = entry["name"];
    if (entryName && entryName.IsScalar() && entryName.Scalar() == name) {
      // A missing key of a const node is an invalid node, which throws when asked its
      // type: hand back an empty (undefined) one instead.
      YAML::Node value = entry[key];
      return value ? value : YAML::Node();
    }
  }
  return YAML::Node();
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return {};
  YAML::Node value = map[key];
  return value && value.IsScalar() ? value.Scalar() : std::string();
}

bool truthy(const YAML::Node& map, const char* key) {
  std::string value = scalar(map, key);
  return value == "true" || value == "True" || value == "yes";
}

/// Standard base64 (what kubeconfig's *-data fields hold); nullopt when it is not.
std::optional<std::string> decodeBase64(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  std::string out(compact.size() / 4 * 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(compact.data()),
                               static_cast<int>(compact.size()));
  if (length < 0) return std::nullopt;
  size_t padding = 0;  // EVP_DecodeBlock counts the bytes of the padding as data
  for (size_t i = compact.size(); i > 0 && compact[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<size_t>(length) - std::min<size_t>(padding, 2));
  return out;
}

std::string inDirectory(const std::string& directory, const std::string& file) {
  if (file.empty() || file.front() == '/' || directory.empty()) return file;
  return directory + "/" + file;
}

/// "https://host[:port][/]" into the target; an error otherwise.
std::optional<std::string> takeServer(const std::string& server, KubeApiTarget& target) {
  constexpr std::string_view kScheme = "https://";
  if (server.compare(0, kScheme.size(), kScheme) != 0) {
    return "the server \"" + server + "\" is not https:// (TLS to the API server is required)";
  }
  std::string rest = server.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return "the server \"" + server + "\" must be https://HOST[:PORT] (a path is not supported)";
  }
  std::string host = rest;
  std::string port = "443";
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return "the server \"" + server + "\": bad IPv6 address";
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "the server \"" + server + "\": bad port";
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return "the server \"" + server + "\": bad host or port";
  }
  target.host = host;
  target.port = std::stoi(port);
  return std::nullopt;
}

}  // namespace

namespace {
std::variant<KubeApiTarget, std::string> readKubeconfig(const std::string& text,
                                                        const std::string& directory,
                                                        const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    return "kubeconfig " + path + ": not YAML: " + error.msg;
  }
  auto refuse = [&](const std::string& why) { return "kubeconfig " + path + ": " + why; };
  if (!root.IsMap()) return refuse("not a kubeconfig (no mapping)");
  std::string contextName = scalar(root, "current-context");
  if (contextName.empty()) return refuse("no current-context");
  YAML::Node context = entryNamed(root["contexts"], contextName, "context");
  if (!context.IsMap()) return refuse("no context \"" + contextName + "\"");
  KubeApiTarget target;
  target.origin = "kubeconfig " + path + " (context " + contextName + ")";
  target.namespaceName = scalar(context, "namespace");
  if (target.namespaceName.empty()) target.namespaceName = "default";

  std::string clusterName = scalar(context, "cluster");
  YAML::Node cluster = entryNamed(root["clusters"], clusterName, "cluster");
  if (!cluster.IsMap()) return refuse("no cluster \"" + clusterName + "\"");
  if (auto problem = takeServer(scalar(cluster, "server"), target)) return refuse(*problem);
  if (truthy(cluster, "insecure-skip-tls-verify")) {
    return refuse("insecure-skip-tls-verify is not supported: TLS to the API server is "
                  "always verified (give certificate-authority)");
  }
  if (!scalar(cluster, "proxy-url").empty()) return refuse("proxy-url is not supported");
  target.serverName = scalar(cluster, "tls-server-name");
  if (std::string data = scalar(cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = decodeBase64(data);
    if (!pem) return refuse("certificate-authority-data is not base64");
    target.caPem = *pem;
  } else {
    target.caFile = inDirectory(directory, scalar(cluster, "certificate-authority"));
  }

  std::string userName = scalar(context, "user");
  YAML::Node user = entryNamed(root["users"], userName, "user");
  if (!userName.empty() && !user.IsMap()) return refuse("no user \"" + userName + "\"");
  if (user.IsMap()) {
    if (user["exec"] || user["auth-provider"]) {
      return refuse("user \"" + userName + "\": exec and auth-provider credential plugins are "
                    "not supported (use a token, a token file or a client certificate)");
    }
    if (!scalar(user, "username").empty() || !scalar(user, "password").empty()) {
      return refuse("user \"" + userName + "\": basic authentication is not supported");
    }
    target.token = scalar(user, "token");
    target.tokenFile = inDirectory(directory, scalar(user, "tokenFile"));
    for (auto [dataKey, fileKey, pem, file] :
         {std::tuple("client-certificate-data", "client-certificate", &target.clientCertPem,
                     &target.clientCertFile),
          std::tuple("client-key-data", "client-key", &target.clientKeyPem,
                     &target.clientKeyFile)}) {
      if (std::string data = scalar(user, dataKey); !data.empty()) {
        auto decoded = decodeBase64(data);
        if (!decoded) return refuse(std::string(dataKey) + " is not base64");
        *pem = *decoded;
      } else {
        *file = inDirectory(directory, scalar(user, fileKey));
      }
    }
    bool hasCert = !target.clientCertPem.empty() || !target.clientCertFile.empty();
    bool hasKey = !target.clientKeyPem.empty() || !target.clientKeyFile.empty();
    if (hasCert != hasKey) {
      return refuse("user \"" + userName + "\": a client certificate needs its key, and a key "
                    "its certificate");
    }
  }
  return target;
}
}  // namespace

std::variant<KubeApiTarget, std::string> parseKubeconfig(const std::string& text,
                                                         const std::string& directory,
                                                         const std::string& path) {
  try {
    return readKubeconfig(text, directory, path);
  } catch (const YAML::Exception& error) {
    // yaml-cpp throws where a node is not what was asked (a list for a map, ...): a
    // malformed kubeconfig, whatever the place.
    return "kubeconfig " + path + ": malformed: " + error.msg;
  }
}

std::variant<KubeApiTarget, std::string> inClusterTarget(const std::string& serviceHost,
                                                         const std::string& servicePort,
                                                         const std::string& accountDirectory,
                                                         const std::string& namespaceText) {
  if (serviceHost.empty()) {
    return std::string("not in a cluster: KUBERNETES_SERVICE_HOST is not set");
  }
  KubeApiTarget target;
  target.origin = "in-cluster";
  std::string server = serviceHost.find(':') != std::string::npos
                           ? "https://[" + serviceHost + "]:" + servicePort
                           : "https://" + serviceHost + ":" + servicePort;
  if (auto problem = takeServer(server, target)) {
    return "in-cluster: KUBERNETES_SERVICE_HOST/PORT: " + *problem;
  }
  target.caFile = accountDirectory + "/ca.crt";
  target.tokenFile = accountDirectory + "/token";
  std::string name = withoutTrailingWhitespace(namespaceText);
  target.namespaceName = name.empty() ? "default" : name;
  return target;
}

}  // namespace readygate
