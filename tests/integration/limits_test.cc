// Connection limits and per-connection buffering, on real sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/support/proxy_harness.h"

namespace {

using namespace std::chrono_literals;
using namespace testing_support;
using ::testing::HasSubstr;

std::string refused(const std::string& service, const std::string& reason) {
  return "readygate_connections_refused_total{service=\"" + service + "\",reason=\"" + reason +
         "\"}";
}

// maxConnections of a TCP service: the one too many is closed at once (not left to hang),
// counted, and a place that frees up is taken again.
TEST(Limits, ATcpServicesMaxConnectionsClosesTheOneTooMany) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, "    maxConnections: 2\n"));
  auto first = TcpClient::connect("127.0.0.1", port);
  auto second = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->receiveLine(), "pod");
  ASSERT_EQ(second->receiveLine(), "pod");
  auto third = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->waitForEof(2s));
  EXPECT_EQ(harness.metric(refused("web", "service_limit")), 1);
  first->close();
  EXPECT_TRUE(waitUntil(
      [&] {
        auto next = TcpClient::connect("127.0.0.1", port);
        return next && next->receiveLine(1s) == "pod";
      },
      5s));
}

// In HTTP mode the refusal is a 503; maxConnectionsPerClient counts one address, and the
// process-wide maxConnections counts every service's clients together.
TEST(Limits, HttpRefusalsAre503AndPerClientAndProcessLimitsHold) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int web = freePort();
  int api = freePort();
  harness.startReadygate(
      fill(R"(
workers: 2
maxConnections: 3
services:
  - name: web
    listen: 127.0.0.1:${web}
    mode: http
    maxConnectionsPerClient: 1
    endpoints: {static: ["${pod}"]}
  - name: api
    listen: 127.0.0.1:${api}
    mode: http
    endpoints: {static: ["${pod}"]}
)",
           {{"web", std::to_string(web)}, {"api", std::to_string(api)}, {"pod", pod.address()}}));
  auto held = TcpClient::connect("127.0.0.1", web);
  ASSERT_TRUE(held);
  ASSERT_TRUE(held->sendAll("GET / HTTP/1.1\r\nHost: web\r\n\r\n"));
  ASSERT_THAT(held->receive(12, 2s), HasSubstr("HTTP/1.1 200"));
  // The same address again: over its own limit of one.
  EXPECT_THAT(httpGet("127.0.0.1", web, "/"), HasSubstr("503"));
  EXPECT_EQ(harness.metric(refused("web", "client_limit")), 1);

  // Two more on the other service fill the process's three; the fourth is refused.
  // (Each answered once, so both surely hold their places before the fourth comes.)
  std::vector<TcpClient> holders;
  for (int i = 0; i < 2; ++i) {
    auto holder = TcpClient::connect("127.0.0.1", api);
    ASSERT_TRUE(holder);
    ASSERT_TRUE(holder->sendAll("GET / HTTP/1.1\r\nHost: api\r\n\r\n"));
    ASSERT_THAT(holder->receive(12, 2s), HasSubstr("HTTP/1.1 200"));
    holders.push_back(std::move(*holder));
  }
  EXPECT_THAT(httpGet("127.0.0.1", api, "/"), HasSubstr("503"));
  EXPECT_EQ(harness.metric(refused("api", "process_limit")), 1);
  holders.clear();
  EXPECT_TRUE(waitUntil(
      [&] { return httpGet("127.0.0.1", api, "/").find("200 OK") != std::string::npos; }, 5s));
}

// A backend that accepts and never reads: each client's bytes pile up in readygate only
// up to bufferBytes (default 64 KiB); before, ~520 KiB per connection until the idle timeout.
TEST(Limits, ABackendThatNeverReadsCostsAtMostTheBufferPerConnection) {
  if (underSanitizer()) GTEST_SKIP() << "resident size means little under a sanitizer";
  ProxyHarness harness;
  IdleListener neverReads(256);
  int port = freePort();
  harness.startReadygate(
      serviceConfig(port, {"127.0.0.1:" + std::to_string(neverReads.port())}, ""));
  int pid = harness.readygate().pid();
  long before = residentKib(pid);
  constexpr int kClients = 20;
  std::vector<TcpClient> clients;
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < kClients; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    // Push (at most 32 MiB) until every buffer on the way is full: the kernel's, then
    // readygate's, then the client's socket, so that nothing moves for a while.
    auto stalledSince = std::chrono::steady_clock::now();
    for (int sent = 0; sent < 512;) {
      if (::send(client->fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        ++sent;
        stalledSince = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - stalledSince > 200ms) {
        break;
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
    clients.push_back(std::move(*client));
  }
  // Settled: the resident size no longer moves.
  long last = -1;
  waitUntil(
      [&] {
        long now = residentKib(pid);
        bool settled = now == last;
        last = now;
        return settled;
      },
      5s, 200ms);
  long perConnection = (residentKib(pid) - before) / kClients;
  RecordProperty("resident_kib_per_stuck_connection", static_cast<int>(perConnection));
  EXPECT_LT(perConnection, 160) << "KiB per connection";
}

}  // namespace
