// The test API server (tests/support/kube_apiserver.py) run for a test: started on free
// ports with a certificate from the test's CA, driven through its control port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/test_pki.h"

namespace testing_support {

/// One endpoint of a slice as a test writes it: an address and its conditions.
struct TestEndpoint {
  std::string address;
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  std::string pod;
};

class TestKubeApiServer {
 public:
  /// Starts the server (certificate for 127.0.0.1 and kubernetes.test from `ca`) accepting `token`, and
  /// waits until it listens; check started().
  TestKubeApiServer(ProxyHarness& harness, TestCa& ca, const std::string& token);
  bool started() const { return started_; }
  int apiPort() const { return apiPort_; }
  std::string output() const { return server_->output(); }

  /// A control request; its HTTP status (0: no answer).
  int control(const std::string& method, const std::string& path, const std::string& body = "");
  /// PUT of an IPv4 slice of Service `service` in `ns` with one port (`portName`, `port`).
  int putSlice(const std::string& ns, const std::string& name, const std::string& service,
               const std::vector<TestEndpoint>& endpoints, const std::string& portName = "http",
               int port = 8080);
  int deleteSlice(const std::string& ns, const std::string& name) {
    return control("DELETE", "/slices/" + ns + "/" + name);
  }
  /// What the server was asked (JSON), for messages and counts.
  std::string requests();
  /// A kubeconfig for this server: its CA, the token read from `tokenFile` (or, with
  /// `inlineToken`, that token written in the file itself), namespace `ns`.
  std::string writeKubeconfig(ProxyHarness& harness, const std::string& tokenFile,
                              const std::string& ns, const std::string& inlineToken = "");

 private:
  TestCa& ca_;
  int apiPort_ = 0;
  int controlPort_ = 0;
  std::unique_ptr<ChildProcess> server_;
  bool started_ = false;
};

}  // namespace testing_support
