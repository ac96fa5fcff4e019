// Faults of the machine and of backends: readygate keeps running, answers, recovers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/scripted_backend.h"

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
  // UBSan checks a virtual call by reading the object through a pipe it opens; with no
  // descriptor left it reports every such call as invalid and stops the process.
  if (underSanitizer()) GTEST_SKIP() << "sanitizers need descriptors of their own";
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
  double spent = cpuSeconds(harness.readygate().pid()) - before;
  std::printf("out of descriptors: %d of %zu clients served, %d hanging, %.2f s CPU in 1 s\n",
              served, clients.size(), hanging, spent);
  EXPECT_LT(spent, 0.5);

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

/// What a client of `port` gets for one GET: everything until the close (or 3 s), and
/// whether the connection was closed (rather than left hanging).
struct Outcome {
  std::string bytes;
  bool closed = false;
};

Outcome getOnce(int port) {
  Outcome outcome;
  auto client = TcpClient::connect("127.0.0.1", port);
  if (!client || !client->sendAll("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
    return outcome;
  outcome.bytes = client->receive(1 << 20, 3s);
  outcome.closed = client->waitForEof(100ms);
  return outcome;
}

// Backends that answer garbage, nothing, or a response cut short (by a close or a reset
// after the head): the client gets a 502 when nothing was forwarded yet and a closed
// connection when the head was, never a hang; readygate keeps serving everyone else.
TEST(Faults, MisbehavingBackendsCostTheirClientA502OrACloseNeverAHang) {
  using Ending = ScriptedBackend::Ending;
  ScriptedBackend garbage("SSH-2.0-OpenSSH_9.2\r\n", Ending::Close);
  ScriptedBackend silent("", Ending::Close);
  ScriptedBackend closesAfterHead("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", Ending::Close);
  ScriptedBackend resetsMidBody("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                                Ending::Reset);
  ProxyHarness harness;
  FakePod& good = harness.startPod("good");
  std::vector<std::pair<std::string, const ScriptedBackend*>> bad = {{"garbage", &garbage},
                                                                     {"silent", &silent},
                                                                     {"head", &closesAfterHead},
                                                                     {"reset", &resetsMidBody}};
  std::string yaml = "services:\n";
  std::map<std::string, int> ports;
  for (auto& [name, backend] : bad) {
    ports[name] = freePort();
    yaml += fill(
        R"(  - {name: ${name}, listen: "127.0.0.1:${port}", mode: http, retries: 0,
     endpoints: {static: ["${backend}"]}}
)",
        {{"name", name}, {"port", std::to_string(ports[name])}, {"backend", backend->address()}});
  }
  ports["good"] = freePort();
  yaml += fill(
      R"(  - {name: good, listen: "127.0.0.1:${port}", mode: http, endpoints: {static: ["${pod}"]}}
)",
      {{"port", std::to_string(ports["good"])}, {"pod", good.address()}});
  harness.startReadygate(yaml);

  // (Before: the garbage answer crashed readygate, a use of the response reader's error
  // after releasing the upstream had freed it.)
  for (const char* name : {"garbage", "silent"}) {
    Outcome outcome = getOnce(ports[name]);
    EXPECT_THAT(outcome.bytes, ::testing::StartsWith("HTTP/1.1 502")) << name;
  }
  for (const char* name : {"head", "reset"}) {
    auto started = std::chrono::steady_clock::now();
    Outcome outcome = getOnce(ports[name]);
    // The head was read before the body failed: all the client can be told is a close
    // (with the head or without it), never a response that looks whole.
    EXPECT_TRUE(outcome.closed) << name << " left the client hanging";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << name;
    size_t body = outcome.bytes.find("\r\n\r\n");
    if (body != std::string::npos) {
      EXPECT_LT(outcome.bytes.size() - body - 4, 100u) << name;
    }
    EXPECT_THAT(outcome.bytes, ::testing::Not(::testing::HasSubstr("502"))) << name;
  }
  for (auto& [name, backend] : bad) EXPECT_GE(backend->connections(), 1) << name;
  EXPECT_TRUE(harness.readygate().running());
  EXPECT_THAT(getOnce(ports["good"]).bytes, ::testing::StartsWith("HTTP/1.1 200"));
}

// A backend whose readiness flips at every probe: with failureThreshold 2 it never fails
// twice in a row, so once in it stays in (hysteresis), and the counters agree.
TEST(Faults, ABackendFlappingAtEveryProbeStaysInByItsThresholds) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--ready-toggle", "1"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, R"(    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.05
      failureThreshold: 2
)"));
  auto probes = [&](const char* result, const char* reason) {
    return harness
        .metric("readygate_probe_total{service=\"web\",backend=\"" + pod.address() +
                "\",probe=\"readiness\",result=\"" + result + "\",reason=\"" + reason + "\"}")
        .value_or(0);
  };
  ASSERT_TRUE(waitUntil([&] { return probes("failure", "http_503") >= 20; }, 10s));
  EXPECT_EQ(harness.backendState(pod.address()), "ready");
  EXPECT_FALSE(harness.metric("readygate_backend_transitions_total{service=\"web\",backend=\"" +
                              pod.address() + "\",from=\"ready\",to=\"not_ready\"}"));
  EXPECT_EQ(harness.metric("readygate_backend_transitions_total{service=\"web\",backend=\"" +
                           pod.address() + "\",from=\"starting\",to=\"ready\"}"),
            1);
  // Alternating results: the two counts are never more than one apart (read together,
  // a probe may land between the two reads).
  double successes = probes("success", "ok");
  double failures = probes("failure", "http_503");
  EXPECT_LE(std::abs(successes - failures), 2) << successes << " vs " << failures;
  EXPECT_LE(std::stoi(harness.backendField(pod.address(), "consecutive_failures")), 1);
}

// Thousands of idle clients are held at a small cost each, and a new client is still
// served at once. The resident size per idle connection is printed for the closing note.
TEST(Faults, FiveThousandIdleClientsAreHeldCheaply) {
  constexpr int kClients = 5000;
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max < 2 * kClients + 512) GTEST_SKIP() << "hard fd limit too low";
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);  // readygate inherits it too
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int port = freePort();
  harness.startReadygate(fill(R"(
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    http: {headerTimeoutSeconds: 60}
    endpoints: {static: ["${pod}"]}
)",
                              {{"port", std::to_string(port)}, {"pod", pod.address()}}));
  int pid = harness.readygate().pid();
  long before = residentKib(pid);
  std::vector<TcpClient> idle;
  idle.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port, 2s);
    ASSERT_TRUE(client) << "client " << i;
    idle.push_back(std::move(*client));
  }
  ASSERT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_connections_active{service=\"web\"}") == kClients; },
      10s));
  long after = residentKib(pid);
  double perConnection = static_cast<double>(after - before) * 1024 / kClients;
  std::printf("idle clients: %d, resident %ld KiB -> %ld KiB, %.0f bytes per idle connection\n",
              kClients, before, after, perConnection);
  RecordProperty("resident_bytes_per_idle_connection", static_cast<int>(perConnection));
  EXPECT_THAT(httpGet("127.0.0.1", port, "/"), ::testing::HasSubstr("200 OK"));
  if (!underSanitizer()) {
    EXPECT_LT(perConnection, 16 * 1024);
  }
}

}  // namespace
