// KubeApiTarget: a kubeconfig's current context and a pod's service account, and what is
// refused (plugins, no TLS verification, no https).
#include "proxy/discovery/kube_api_target.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proxy/discovery/kube_api_locator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace readygate {
namespace {

using ::testing::HasSubstr;

KubeApiTarget accepted(const std::string& text, const std::string& directory = "/home/me/.kube") {
  auto parsed = parseKubeconfig(text, directory, directory + "/config");
  EXPECT_TRUE(std::holds_alternative<KubeApiTarget>(parsed)) << std::get<std::string>(parsed);
  return std::holds_alternative<KubeApiTarget>(parsed) ? std::get<KubeApiTarget>(parsed)
                                                       : KubeApiTarget{};
}

std::string refused(const std::string& text) {
  auto parsed = parseKubeconfig(text, "/k", "/k/config");
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "accepted";
}

// "-----BEGIN CERTIFICATE-----\n" and "key-bytes\n", base64.
constexpr const char* kCaData = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
constexpr const char* kKeyData = "a2V5LWJ5dGVzCg==";

TEST(KubeApiTarget, TheCurrentContextPicksClusterUserAndNamespace) {
  KubeApiTarget target = accepted(std::string(R"(
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev
  cluster: {server: "https://dev.example:6443", certificate-authority: dev-ca.crt}
- name: prod
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: )") + kCaData + R"(
    tls-server-name: kubernetes.default.svc
users:
- name: ci
  user: {token: abc}
- name: operator
  user:
    client-certificate: certs/me.crt
    client-key-data: )" + kKeyData + R"(
contexts:
- name: dev
  context: {cluster: dev, user: ci}
- name: prod
  context: {cluster: prod, user: operator, namespace: shop}
)");
  EXPECT_EQ(target.host, "10.0.0.1");
  EXPECT_EQ(target.port, 6443);
  EXPECT_EQ(target.serverName, "kubernetes.default.svc");
  EXPECT_EQ(target.caPem, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(target.caFile, "");
  EXPECT_EQ(target.clientCertFile, "/home/me/.kube/certs/me.crt");  // the kubeconfig's directory
  EXPECT_EQ(target.clientKeyPem, "key-bytes\n");
  EXPECT_EQ(target.token, "");
  EXPECT_EQ(target.namespaceName, "shop");
  EXPECT_THAT(target.origin, HasSubstr("context prod"));
}

TEST(KubeApiTarget, ATokenFileADefaultNamespacePortAndIpv6Server) {
  KubeApiTarget target = accepted(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://[fd00::1]", certificate-authority: /etc/k/ca.crt}}]
users: [{name: u, user: {tokenFile: /var/run/token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  EXPECT_EQ(target.host, "fd00::1");
  EXPECT_EQ(target.port, 443);
  EXPECT_EQ(target.caFile, "/etc/k/ca.crt");
  EXPECT_EQ(target.tokenFile, "/var/run/token");
  EXPECT_EQ(target.namespaceName, "default");  // kubectl's, when the context names none
}

TEST(KubeApiTarget, WhatCannotBeHonouredIsRefusedWithWhy) {
  const std::string head = "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n";
  const std::string cluster =
      "clusters: [{name: k, cluster: {server: \"https://k:6443\", certificate-authority: ca}}]\n";
  EXPECT_THAT(refused("clusters: []\n"), HasSubstr("no current-context"));
  EXPECT_THAT(refused("current-context: x\ncontexts: []\n"), HasSubstr("no context \"x\""));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {exec: {command: aws}}}]\n" + cluster),
              HasSubstr("exec and auth-provider credential plugins are not supported"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n" + cluster),
              HasSubstr("credential plugins are not supported"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {token: t}}]\n" +
                      "clusters: [{name: k, cluster: {server: \"https://k\", "
                      "insecure-skip-tls-verify: true}}]\n"),
              HasSubstr("always verified"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {token: t}}]\n" +
                      "clusters: [{name: k, cluster: {server: \"http://k:8080\"}}]\n"),
              HasSubstr("is not https://"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {token: t}}]\n" +
                      "clusters: [{name: k, cluster: {server: \"https://k:99999\"}}]\n"),
              HasSubstr("bad host or port"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {client-certificate: me.crt}}]\n" + cluster),
              HasSubstr("needs its key"));
  EXPECT_THAT(refused(head + "users: [{name: u, user: {username: a, password: b}}]\n" + cluster),
              HasSubstr("basic authentication"));
  EXPECT_THAT(refused("{{{"), HasSubstr("not YAML"));
  EXPECT_EQ(refused(head + "users: [{name: u, user: {token: t}}]\n" + cluster), "accepted");
}

TEST(KubeApiTarget, InClusterUsesTheServiceEnvironmentAndTheServiceAccountFiles) {
  auto parsed = inClusterTarget("10.96.0.1", "443", "/var/run/secrets/kubernetes.io/serviceaccount",
                                "shop\n");
  ASSERT_TRUE(std::holds_alternative<KubeApiTarget>(parsed)) << std::get<std::string>(parsed);
  const auto& target = std::get<KubeApiTarget>(parsed);
  EXPECT_EQ(target.host, "10.96.0.1");
  EXPECT_EQ(target.port, 443);
  EXPECT_EQ(target.tokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(target.caFile, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_EQ(target.namespaceName, "shop");
  auto v6 = inClusterTarget("fd00:10:96::1", "6443", "/sa", "");
  ASSERT_TRUE(std::holds_alternative<KubeApiTarget>(v6));
  EXPECT_EQ(std::get<KubeApiTarget>(v6).host, "fd00:10:96::1");
  EXPECT_EQ(std::get<KubeApiTarget>(v6).namespaceName, "default");
  EXPECT_TRUE(std::holds_alternative<std::string>(inClusterTarget("", "443", "/sa", "")));
  EXPECT_TRUE(std::holds_alternative<std::string>(inClusterTarget("10.96.0.1", "x", "/sa", "")));
}

/// A directory of files for the locator, removed afterwards.
class Scratch {
 public:
  Scratch() {
    char pattern[] = "/tmp/readygate-locator-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(path.substr(0, path.rfind('/')));
    std::ofstream(path) << text;
    return path;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

std::string kubeconfigFor(const std::string& server) {
  return "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u, namespace: "
         "ns}}]\nclusters: [{name: k, cluster: {server: \"" + server +
         "\"}}]\nusers: [{name: u, user: {token: t}}]\n";
}

std::string located(const KubernetesConfig& config, const KubeEnvironment& environment) {
  auto found = locateKubeApi(config, environment, 1 << 20);
  if (auto* error = std::get_if<std::string>(&found)) return "error: " + *error;
  const KubeApiTarget& target = std::get<KubeApiTarget>(found);
  return target.host + ":" + std::to_string(target.port) + " " + target.namespaceName;
}

TEST(KubeApiLocator, ClientGosOrderConfiguredThenInClusterThenKubeconfigThenHome) {
  Scratch scratch;
  std::string configured = scratch.write("configured", kubeconfigFor("https://10.0.0.1:6443"));
  std::string fromEnv = scratch.write("env", kubeconfigFor("https://10.0.0.2:6443"));
  scratch.write("home/.kube/config", kubeconfigFor("https://10.0.0.3:6443"));
  scratch.write("account/namespace", "shop\n");
  KubeEnvironment environment;
  environment.serviceHost = "10.96.0.1";
  environment.servicePort = "443";
  environment.kubeconfig = fromEnv + ":/elsewhere";
  environment.home = scratch.dir() + "/home";
  environment.accountDirectory = scratch.dir() + "/account";
  EXPECT_EQ(located(KubernetesConfig{configured}, environment), "10.0.0.1:6443 ns");
  EXPECT_EQ(located({}, environment), "10.96.0.1:443 shop");
  environment.serviceHost.clear();
  EXPECT_EQ(located({}, environment), "10.0.0.2:6443 ns");  // the first file KUBECONFIG names
  environment.kubeconfig.clear();
  EXPECT_EQ(located({}, environment), "10.0.0.3:6443 ns");
  // In cluster without a namespace file: "default", as client-go.
  environment.serviceHost = "10.96.0.1";
  environment.accountDirectory = scratch.dir() + "/nothing";
  EXPECT_EQ(located({}, environment), "10.96.0.1:443 default");
}

TEST(KubeApiLocator, AMissingOrUnusableFileSaysWhichAndWhy) {
  Scratch scratch;
  KubeEnvironment environment;
  EXPECT_THAT(located({}, environment), HasSubstr("error: no API server"));
  environment.home = scratch.dir();
  EXPECT_THAT(located({}, environment), HasSubstr(scratch.dir() + "/.kube/config"));
  std::string fifo = scratch.dir() + "/fifo";
  ::mkfifo(fifo.c_str(), 0600);
  EXPECT_THAT(located(KubernetesConfig{fifo}, environment), HasSubstr("kubeconfig " + fifo));
  EXPECT_THAT(located(KubernetesConfig{scratch.write("exec", R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://10.0.0.1"}}]
users: [{name: u, user: {exec: {command: aws}}}]
)")},
                      environment),
              HasSubstr("exec"));
}

}  // namespace
}  // namespace readygate
