// Faults of the machine and of backends: readygate keeps running, answers, recovers.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <vector>

#include "tests/support/proxy_harness.h"

namespace {

using namespace std::chrono_literals;
using namespace testing_support;

/// Whether `client` got an answer by `deadline`: data, a close or a reset; false for a hang.
bool answeredBy(const TcpClient& client, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd wanted{client.fd(), POLLIN, 0};
  return ::poll(&wanted, 1, static_cast<int>(std::max<long>(0, left.count()))) > 0;
}

// Out of descriptors (ulimit -n 128, 150 clients held open): clients beyond what fits
// get an answer (a close, or a 503 from an HTTP listener) instead of hanging, the probes
// that cannot get a socket do not take the backend out, an admin request does not make
// the control thread spin, the errors are counted, and everything works again once
// clients go.
TEST(Faults, RunningOutOfDescriptorsIsSurvivedAndRecoveredFrom) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  int port = freePort();
  int holdPort = freePort();
  harness.setLauncher({"/usr/bin/prlimit", "--nofile=128:128", "--"});
  harness.startReadygate(fill(R"(
workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${pod}"]}
    readinessProbe:
      tcpSocket: {}
      periodSeconds: 0.1
      failureThreshold: 1
  - name: hold
    listen: 127.0.0.1:${holdPort}
    mode: http
    endpoints: {static: ["${pod}"]}
)",
                              {{"port", std::to_string(port)},
                               {"holdPort", std::to_string(holdPort)},
                               {"pod", pod.address()}}));
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s));

  std::vector<TcpClient> clients;
  for (int i = 0; i < 150; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port, 1s);
    if (client) clients.push_back(std::move(*client));
  }
  auto deadline = std::chrono::steady_clock::now() + 3s;
  int hanging = 0;
  int served = 0;
  for (TcpClient& client : clients) {
    if (!answeredBy(client, deadline)) {
      ++hanging;
    } else if (client.receive(4, 100ms) == "pod\n") {
      ++served;
    }
  }
  EXPECT_EQ(hanging, 0) << "of " << clients.size() << " clients";
  EXPECT_GT(served, 10);
  EXPECT_LT(served, 150) << "the limit was never reached: the test proves nothing";

  // Fill what is left exactly: an idle HTTP client holds one descriptor, and the first
  // one turned away (503) says none is left.
  std::vector<TcpClient> holders;
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    auto holder = TcpClient::connect("127.0.0.1", holdPort, 1s);
    if (!holder) break;
    refused = answeredBy(*holder, std::chrono::steady_clock::now() + 200ms);
    if (refused) {
      EXPECT_EQ(holder->receive(12, 1s), "HTTP/1.1 503");
    } else {
      holders.push_back(std::move(*holder));
    }
  }
  ASSERT_TRUE(refused);

  // Still exhausted: probes find no descriptor for a socket, and an admin request comes
  // in. A second of CPU in a second is a spin.
  (void)harness.admin("/healthz");
  double before = cpuSeconds(harness.readygate().pid());
  auto window = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < window) std::this_thread::sleep_for(50ms);
  EXPECT_LT(cpuSeconds(harness.readygate().pid()) - before, 0.5);

  clients.clear();
  holders.clear();
  EXPECT_TRUE(waitUntil(
      [&] {
        auto client = TcpClient::connect("127.0.0.1", port, 500ms);
        return client && client->receiveLine(1s) == "pod";
      },
      5s));
  EXPECT_EQ(harness.backendState(pod.address()), "ready");
  EXPECT_FALSE(harness.metric("readygate_backend_transitions_total{service=\"web\",backend=\"" +
                              pod.address() + "\",from=\"ready\",to=\"not_ready\"}"))
      << "the backend was taken out for readygate's own shortage";
  EXPECT_GE(harness
                .metric("readygate_probe_total{service=\"web\",backend=\"" + pod.address() +
                        "\",probe=\"readiness\",result=\"failure\",reason=\"local_resource\"}")
                .value_or(0),
            1);
  EXPECT_GE(
      harness.metric("readygate_accept_errors_total{reason=\"process_fd_limit\"}").value_or(0), 1);
}

}  // namespace
