// TCP proxying through a real readygate process to real fakepods on loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;

/// The service config of these tests: backends are ports on `host`.
std::string serviceYaml(int listenPort, const std::vector<int>& backendPorts,
                        const std::string& extra = "", const std::string& host = "127.0.0.1") {
  std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::vector<std::string> endpoints;
  for (int port : backendPorts) endpoints.push_back(bracketed + ":" + std::to_string(port));
  return serviceConfig(listenPort, endpoints, extra, host);
}

std::string randomBytes(size_t size, unsigned seed) {
  std::string data(size, '\0');
  std::mt19937 random(seed);
  for (char& c : data) c = static_cast<char>(random());
  return data;
}

TEST(TcpProxy, ForwardsTenMebibytesBothWaysIntact) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceYaml(port, {pod.port}));

  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->receiveLine(), "pod-a");
  const std::string payload = randomBytes(10 << 20, 42);
  // Send from a thread while reading here: the echo comes back while we still send.
  std::thread sender([&] { EXPECT_TRUE(client->sendAll(payload)); });
  std::string echoed = client->receive(payload.size(), 30s);
  sender.join();
  ASSERT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload) << "payload corrupted in transit";
}

TEST(TcpProxy, HalfCloseIsPassedOnAndTheRestStillArrives) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo"});
  int port = freePort();
  harness.startReadygate(serviceYaml(port, {pod.port}));

  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  const std::string payload = randomBytes(1 << 20, 7);
  ASSERT_TRUE(client->sendAll(payload));
  // FIN after the data: the echo pod sees EOF only through readygate's shutdown(SHUT_WR),
  // answers everything it got, then closes; we must get all of it, then EOF.
  client->shutdownWrite();
  EXPECT_EQ(client->receive(payload.size(), 10s), payload);
  EXPECT_TRUE(client->waitForEof(5s));
}

TEST(TcpProxy, BackpressureBoundsMemoryWithASlowReader) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo"});
  int port = freePort();
  ChildProcess& readygate = harness.startReadygate(serviceYaml(port, {pod.port}));

  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  // Small receive buffer: this client reads nothing, so the echo has nowhere to go.
  int small = 64 * 1024;
  setsockopt(client->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  long before = residentKib(readygate.pid());
  ASSERT_GT(before, 0);

  // Push up to 256 MiB without reading. With backpressure the chain fills and our
  // send blocks (SO_SNDTIMEO makes it return); without it readygate would swallow it all.
  const std::string chunk(1 << 20, 'x');
  size_t sent = 0;
  while (sent < (256u << 20)) {
    ssize_t n = ::send(client->fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // blocked past the send timeout: backpressure reached us
    sent += static_cast<size_t>(n);
  }
  long after = residentKib(readygate.pid());
  RecordProperty("sent_kib", static_cast<int>(sent / 1024));
  RecordProperty("rss_growth_kib", static_cast<int>(after - before));
  EXPECT_LT(sent, 128u << 20) << "the client was never slowed down";
  if (!underSanitizer()) {  // ASan keeps freed memory in quarantine: RSS says little
    EXPECT_LT(after - before, 24 * 1024) << "readygate buffered " << (after - before) << " KiB";
  }

  // And the stream is intact once the reader catches up.
  std::string first = client->receive(1 << 20, 10s);
  EXPECT_EQ(first, std::string(1 << 20, 'x'));
}

TEST(TcpProxy, SpreadsConnectionsAcrossBackendsInTurn) {
  ProxyHarness harness;
  std::vector<int> ports;
  for (const char* name : {"pod-a", "pod-b", "pod-c"}) {
    ports.push_back(harness.startPod(name, {"--echo", "--greeting"}).port);
  }
  int port = freePort();
  harness.startReadygate(serviceYaml(port, ports));

  std::map<std::string, int> seen;
  std::vector<std::string> order;
  for (int i = 0; i < 30; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    auto name = client->receiveLine();
    ASSERT_TRUE(name);
    ++seen[*name];
    order.push_back(*name);
  }
  EXPECT_EQ(seen.size(), 3u);
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 10) << name;
  // Round robin: any three consecutive connections reach three different pods.
  for (size_t i = 0; i + 2 < order.size(); ++i) {
    EXPECT_EQ((std::set<std::string>{order[i], order[i + 1], order[i + 2]}).size(), 3u);
  }
}

TEST(TcpProxy, RefusedBackendIsSkippedWithoutLosingTheClient) {
  ProxyHarness harness;
  FakePod& alive = harness.startPod("pod-a", {"--echo", "--greeting"});
  // Nothing listens on these: connects are refused.
  std::vector<int> ports = {freePort(), alive.port, freePort()};
  int port = freePort();
  harness.startReadygate(serviceYaml(port, ports));

  for (int i = 0; i < 12; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->receiveLine(2s), "pod-a") << "connection " << i << " was lost";
    ASSERT_TRUE(client->sendAll("ping\n"));
    EXPECT_EQ(client->receiveLine(2s), "ping");
  }
}

// A retry must go to another backend. With round robin the counter moves on anyway, so
// only a balancer that may pick the same one again (random_two) shows a retry that
// ignores the backends already tried; one retry then loses about every other client.
TEST(TcpProxy, ARetryNeverGoesBackToTheBackendThatJustFailed) {
  ProxyHarness harness;
  FakePod& alive = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(fill(R"(
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    balance: random_two
    retries: 1
    endpoints: {static: ["127.0.0.1:${refused}", "${alive}"]}
)",
                              {{"port", std::to_string(port)},
                               {"refused", std::to_string(freePort())},
                               {"alive", alive.address()}}));
  std::vector<std::string> reached = podsReached(port, 40);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), "pod-a"), 40);
}

TEST(TcpProxy, AllBackendsRefusingClosesTheClient) {
  ProxyHarness harness;
  int port = freePort();
  harness.startReadygate(serviceYaml(port, {freePort(), freePort()}));
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->waitForEof(5s));
  EXPECT_TRUE(harness.readygate().running());
}

TEST(TcpProxy, GracefulShutdownLetsAnOpenConnectionFinish) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  ChildProcess& readygate =
      harness.startReadygate(serviceYaml(port, {pod.port}, "    drainTimeoutSeconds: 10\n"));

  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->receiveLine(), "pod-a");

  readygate.signal(SIGTERM);
  // New connections are refused once the listeners are gone...
  EXPECT_TRUE(waitUntil([&] { return !canConnect("127.0.0.1", port); }, 5s));
  // ...while the open one still works, for as long as it needs.
  EXPECT_TRUE(readygate.running());
  ASSERT_TRUE(client->sendAll("still here\n"));
  EXPECT_EQ(client->receiveLine(), "still here");
  EXPECT_TRUE(readygate.running());

  client->shutdownWrite();
  EXPECT_TRUE(client->waitForEof(5s));
  EXPECT_EQ(readygate.waitExit(5s), 0);
}

TEST(TcpProxy, ShutdownClosesLingeringConnectionsAtTheDrainTimeout) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  ChildProcess& readygate =
      harness.startReadygate(serviceYaml(port, {pod.port}, "    drainTimeoutSeconds: 0.5\n"));
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->receiveLine(), "pod-a");
  readygate.signal(SIGTERM);
  EXPECT_TRUE(client->waitForEof(5s));
  EXPECT_EQ(readygate.waitExit(5s), 0);
}

TEST(TcpProxy, IdleConnectionsAreClosed) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceYaml(port, {pod.port}, "    idleTimeoutSeconds: 0.3\n"));
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->receiveLine(), "pod-a");
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->waitForEof(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
}

TEST(TcpProxy, ConnectTimeoutMovesOnToTheNextBackend) {
  ProxyHarness harness;
  FakePod& alive = harness.startPod("pod-a", {"--echo", "--greeting"});
  // A listener that never accepts, with a full backlog, makes connects hang (SYNs dropped).
  IdleListener blackhole(0);
  int blackholePort = blackhole.port();
  std::vector<TcpClient> fillers;  // fill the backlog so later SYNs go unanswered
  for (int i = 0; i < 4; ++i) {
    if (auto filler = TcpClient::connect("127.0.0.1", blackholePort, 200ms)) {
      fillers.push_back(std::move(*filler));
    }
  }
  int port = freePort();
  harness.startReadygate(
      serviceYaml(port, {blackholePort, alive.port}, "    connectTimeoutSeconds: 0.2\n"));
  for (int i = 0; i < 4; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->receiveLine(3s), "pod-a");
  }
}

TEST(TcpProxy, WorksOverIPv6) {
  if (freePort("::1") == 0) GTEST_SKIP() << "no IPv6 loopback";
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-v6", {"--echo", "--greeting"}, true, "::1");
  int port = freePort("::1");
  harness.startReadygate(serviceYaml(port, {pod.port}, "", "::1"));
  auto client = TcpClient::connect("::1", port);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->receiveLine(), "pod-v6");
  ASSERT_TRUE(client->sendAll("over v6\n"));
  EXPECT_EQ(client->receiveLine(), "over v6");
}

}  // namespace
