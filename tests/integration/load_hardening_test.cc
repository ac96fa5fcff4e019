// Issue 17 under load: a route-only reload beside a 10,000-endpoint service, 64 slow
// readers of /metrics, 1,000 clients with huge trailers. Run in the plain suite only (their figures
// mean little under a sanitizer), each bounded at 20 s.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/raw_server.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

// Issue 17, finding 2: a reload that changes only routes publishes each service's settings
// whole, routes resolved, in one swap. Before, the front service ran for a moment with no
// routes (its own backend took what the route should have, or no backend at all), and a
// slow part of the same reload (10,000 endpoints changing) made that moment long.
TEST(ReloadRoutes, ARouteOnlyReloadNeverSendsARequestAstray) {
  ProxyHarness harness;
  FakePod& api = harness.startPod("pod-api");
  // The front's own backend must never answer while the route holds: its 500 is counted.
  RawServer astray([](RawConnection& connection, int) {
    while (!connection.readHead(2s).empty()) {
      connection.send("HTTP/1.1 500 Astray\r\nContent-Length: 0\r\n\r\n");
    }
  });
  int port = freePort();
  int bigPort = freePort();
  int admin = freePort();
  auto yaml = [&](int step) {
    std::string endpoints;
    for (int i = 0; i < 10000; ++i) {
      endpoints += (i ? ", " : "") + std::string("\"127.1.") + std::to_string(i / 250) + "." +
                   std::to_string(i % 250 + 1) + ":" + std::to_string(1000 + step % 2) + "\"";
    }
    std::string extraRoute = step % 2 ? "      - {pathPrefix: /never, service: api}\n" : "";
    return fill(R"(workers: 2
admin: {listen: "127.0.0.1:${admin}"}
services:
  - name: front
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${astray}"]}
    routes:
      - {pathPrefix: /, service: api}
${extraRoute}  - name: api
    mode: http
    endpoints: {static: ["${api}"]}
  - name: big
    listen: 127.0.0.1:${bigPort}
    mode: http
    endpoints: {static: [${endpoints}]}
)",
                {{"port", std::to_string(port)},
                 {"admin", std::to_string(admin)},
                 {"astray", astray.address()},
                 {"extraRoute", extraRoute},
                 {"api", api.address()},
                 {"bigPort", std::to_string(bigPort)},
                 {"endpoints", endpoints}});
  };
  harness.startReadygate(yaml(0));
  HttpLoad load;
  load.start(port, 4, "/");
  for (int step = 1; step <= 10; ++step) {
    harness.writeFile("readygate.yaml", yaml(step));
    EXPECT_THAT(harness.adminPost("/reload"), HasSubstr("200 OK")) << step;
    int before = load.ok();
    EXPECT_TRUE(waitUntil([&] { return load.ok() >= before + 20; }, 5s));
  }
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
  EXPECT_EQ(astray.connections(), 0);
  EXPECT_GT(load.ok(), 200);
}

// Issue 17, finding 9: 64 clients ask for /metrics of 10,000 backends and never read. Before,
// each got its own 17 MB copy (RSS 33 MB -> 1.42 GB, 13 s of control-thread CPU), every
// admin slot stayed held for minutes and /healthz timed out. Now one render is shared, a
// reserved slot answers /healthz, and the write deadline frees the slots.
TEST(Limits, SlowReadersOfMetricsCannotTakeTheAdminApiDown) {
  ProxyHarness harness;
  std::string endpoints;
  for (int i = 0; i < 10000; ++i) {
    endpoints += (i ? ", " : "") + std::string("\"127.2.") + std::to_string(i / 250) + "." +
                 std::to_string(i % 250 + 1) + ":9\"";
  }
  int admin = freePort();
  harness.startReadygate(fill(R"(admin: {listen: "127.0.0.1:${admin}", writeTimeoutSeconds: 2}
workers: 1
services:
  - name: big
    listen: 127.0.0.1:${port}
    endpoints: {static: [${endpoints}]}
)",
                              {{"admin", std::to_string(admin)},
                               {"port", std::to_string(freePort())},
                               {"endpoints", endpoints}}));
  int pid = harness.readygate().pid();
  ASSERT_THAT(httpGet("127.0.0.1", admin, "/metrics", 10s), HasSubstr("200 OK"));
  long rssBefore = residentKib(pid);
  double cpuBefore = cpuSeconds(pid);
  std::vector<TcpClient> slow;
  for (int i = 0; i < 64; ++i) {
    auto client = TcpClient::connect("127.0.0.1", admin);
    ASSERT_TRUE(client);
    int small = 4096;  // the kernel holds little for it: the rest waits in readygate
    setsockopt(client->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(client->sendAll("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    slow.push_back(std::move(*client));
  }
  // Every slot is taken; the liveness probe still answers, at once. Timed from when the
  // shared render is being sent (the last asker has its first byte): the render itself
  // (0.25 s here idle, 1 s once in CI beside another test) is the control loop's work
  // for the scrapers, not what a liveness probe waits for.
  ASSERT_FALSE(slow.back().receive(1, 10s).empty());
  auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/healthz", 2s), HasSubstr("200 OK"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/readyz", 2s), HasSubstr("200 OK"));
  long rssHeld = residentKib(pid);
  double cpuHeld = cpuSeconds(pid);
  if (!underSanitizer()) {
    EXPECT_LT(rssHeld - rssBefore, 100 * 1024) << "KiB while 64 clients hold /metrics";
    EXPECT_LT(cpuHeld - cpuBefore, 3.0) << "CPU seconds for 64 scrapes";
  }
  // The write deadline closes the slow readers: the API serves everything again.
  EXPECT_TRUE(waitUntil(
      [&] {
        return httpGet("127.0.0.1", admin, "/status?format=text", 2s).find("200 OK") !=
               std::string::npos;
      },
      6s));
  slow.clear();
  if (!underSanitizer()) {
    EXPECT_TRUE(waitUntil([&] { return residentKib(pid) - rssBefore < 40 * 1024; }, 10s))
        << "RSS " << residentKib(pid) << " KiB, before " << rssBefore << " KiB";
  }
  std::printf("slow /metrics readers: RSS %ld -> %ld KiB held, %.2f CPU s for 64 scrapes\n",
              rssBefore, rssHeld, cpuHeld - cpuBefore);
}

// Issue 17, finding 5 under load: 1,000 clients each send a 1.6 MB trailer section. Before,
// RSS went to 1.77 GB and stayed at 1.69 GB after they closed; now each is cut at
// maxHeaderBytes and RSS is back within 20 MB of where it was.
TEST(LoadHardening, HugeTrailersFromAThousandClientsLeaveNoMemoryBehind) {
  if (underSanitizer()) GTEST_SKIP() << "RSS means little under a sanitizer";
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) { connection.waitForEof(5s); });
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${backend}"]}
)",
                              {{"port", std::to_string(port)}, {"backend", backend.address()}}));
  int pid = harness.readygate().pid();
  long before = residentKib(pid);
  std::string trailer = headerLines(1600000);
  std::string request =
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
      trailer + "\r\n";
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 40; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto client = HttpTestClient::connect(port);
        if (!client) continue;
        client->send(request);  // cut short by readygate: fails part way, as it should
        auto reply = client->read(300ms);
        if (reply && reply->status == 431) ++refused;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_GT(refused, 0);
  EXPECT_TRUE(waitUntil([&] { return residentKib(pid) - before < 20 * 1024; }, 10s))
      << "RSS " << residentKib(pid) << " KiB, before " << before << " KiB";
  std::printf("1,000 clients with 1.6 MB trailers: %d answered 431, RSS %ld -> %ld KiB\n",
              refused.load(), before, residentKib(pid));
}

}  // namespace
