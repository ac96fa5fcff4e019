// TestKubeApiServer: kube_apiserver.py started and controlled.
#include "tests/support/test_kube_apiserver.h"

#include "tests/support/http_client.h"

namespace testing_support {

TestKubeApiServer::TestKubeApiServer(ProxyHarness& harness, TestCa& ca, const std::string& token)
    : ca_(ca) {
  auto [cert, key] = ca_.issueServer("api", {"127.0.0.1", "kubernetes.test"});
  apiPort_ = freePort();
  controlPort_ = freePort();
  server_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3",
                               std::string(SOURCE_DIR) + "/tests/support/kube_apiserver.py",
                               std::to_string(apiPort_), std::to_string(controlPort_), cert, key,
                               token},
      harness.dir() + "/api.log");
  started_ = waitUntil(
      [&] { return server_->output().find("listening") != std::string::npos; }, 10s);
}

int TestKubeApiServer::control(const std::string& method, const std::string& path,
                               const std::string& body) {
  auto http = HttpTestClient::connect(controlPort_);
  if (!http) return 0;
  if (!http->send(method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body)) {
    return 0;
  }
  auto reply = http->read();
  return reply ? reply->status : 0;
}

int TestKubeApiServer::putSlice(const std::string& ns, const std::string& name,
                                const std::string& service,
                                const std::vector<TestEndpoint>& endpoints,
                                const std::string& portName, int port) {
  std::string list;
  for (const TestEndpoint& endpoint : endpoints) {
    if (!list.empty()) list += ",";
    auto flag = [](bool value) { return value ? "true" : "false"; };
    list += R"({"addresses":[")" + endpoint.address + R"("],"conditions":{"ready":)" +
            flag(endpoint.ready) + R"(,"serving":)" + flag(endpoint.serving) +
            R"(,"terminating":)" + flag(endpoint.terminating) + "}" +
            (endpoint.pod.empty()
                 ? std::string()
                 : R"(,"targetRef":{"kind":"Pod","name":")" + endpoint.pod + R"("})") +
            R"(,"nodeName":"node-1","zone":"zone-a"})";
  }
  return control("PUT", "/slices/" + ns + "/" + name,
                 R"({"metadata":{"labels":{"kubernetes.io/service-name":")" + service +
                     R"("}},"addressType":"IPv4","ports":[{"name":")" + portName +
                     R"(","port":)" + std::to_string(port) + R"(,"protocol":"TCP"}],)" +
                     R"("endpoints":[)" + list + "]}");
}

std::string TestKubeApiServer::requests() {
  auto http = HttpTestClient::connect(controlPort_);
  if (!http || !http->send("GET /requests HTTP/1.1\r\nHost: x\r\n\r\n")) return "?";
  auto reply = http->read();
  return reply ? reply->body : "?";
}

std::string TestKubeApiServer::writeKubeconfig(ProxyHarness& harness, const std::string& tokenFile,
                                               const std::string& ns,
                                               const std::string& inlineToken) {
  std::string user = inlineToken.empty() ? "{tokenFile: " + tokenFile + "}"
                                         : "{token: " + inlineToken + "}";
  return harness.writeFile("kubeconfig", fill(R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:${port}", certificate-authority: ${ca}}
users:
- name: readygate
  user: ${user}
contexts:
- name: test
  context: {cluster: test, user: readygate, namespace: ${ns}}
)",
                                                  {{"port", std::to_string(apiPort_)},
                                                   {"ca", ca_.cert()},
                                                   {"user", user},
                                                   {"ns", ns}}));
}

}  // namespace testing_support
