// File discovery: endpoints from a watched file, replaced the way writers should
// (write, then rename), applied as the same diff a reload uses; a bad file keeps the
// last good set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "tests/support/proxy_harness.h"
#include "tests/support/test_dns.h"

namespace {

using namespace testing_support;

TEST(Discovery, AFileSourceFollowsItsWriterAndKeepsTheLastGoodSet) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"});
  std::string file = harness.dir() + "/endpoints.yaml";
  replaceFile(file, "- " + a.address() + "\n");
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints:
      file: {path: ${file}}
)",
                              {{"port", std::to_string(port)}, {"file", file}}));
  // Read before the first connection.
  EXPECT_EQ(harness.backendState(a.address()), "ready");
  EXPECT_EQ(harness.metric("readygate_discovery_endpoints{service=\"web\",source=\"file\"}"), 1);

  replaceFile(file, "- " + a.address() + "\n- " + b.address() + "\n");
  ASSERT_TRUE(harness.waitForState(b.address(), "ready", 3s));
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"pod-a", "pod-b"}));

  // An unparsable file: rejected, counted, the pool stays as it was.
  replaceFile(file, "- " + a.address() + "\n- not-an-address\n");
  ASSERT_TRUE(waitUntil(
      [&] {
        return harness.metric(
                   "readygate_discovery_errors_total{service=\"web\",source=\"file\"}") == 1;
      },
      3s));
  EXPECT_EQ(harness.backendState(b.address()), "ready");
  EXPECT_THAT(harness.admin("/status"), ::testing::HasSubstr("not-an-address"));

  // pod-a leaves the file: it is removed (and gone once its connections are).
  replaceFile(file, "[\"" + b.address() + "\"]");
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(a.address()).empty(); }, 3s));
  EXPECT_EQ(distinct(podsReached(port, 3)), (std::set<std::string>{"pod-b"}));
}

// Issue 17, finding 3: an endpoints file that is a FIFO, a device or a directory, or that is
// too big, is refused like a bad file: the last good set stays and the control loop never
// blocks (the admin API answers, SIGTERM is obeyed).
TEST(Discovery, AFileThatIsNoRegularFileIsRefusedWithoutBlocking) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  std::string file = harness.dir() + "/endpoints.yaml";
  replaceFile(file, "- " + a.address() + "\n");
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
maxFileBytes: 4096
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints:
      file: {path: ${file}}
)",
                              {{"port", std::to_string(port)}, {"file", file}}));
  ASSERT_EQ(harness.backendState(a.address()), "ready");
  std::string errors = "readygate_discovery_errors_total{service=\"web\",source=\"file\"}";
  double counted = 0;
  // Each replacement is refused (counted, its reason in /status) and the pool stays.
  auto refusedAs = [&](const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(waitUntil(
        [&] {
          return harness.metric(errors).value_or(0) > counted &&
                 harness.admin("/status").find(what) != std::string::npos;
        },
        4s))
        << harness.admin("/status");
    counted = harness.metric(errors).value_or(0);
    EXPECT_EQ(harness.backendState(a.address()), "ready");
    EXPECT_EQ(podsReached(port, 2), (std::vector<std::string>{"pod-a", "pod-a"}));
  };


  std::string fifo = harness.dir() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(rename(fifo.c_str(), file.c_str()), 0);
  refusedAs("a FIFO");

  ASSERT_EQ(unlink(file.c_str()), 0);
  ASSERT_EQ(symlink("/dev/zero", file.c_str()), 0);
  refusedAs("a character device");
  long rss = residentKib(harness.readygate().pid());
  if (!underSanitizer()) {
    EXPECT_LT(rss, 200 * 1024);
  }

  ASSERT_EQ(unlink(file.c_str()), 0);
  ASSERT_EQ(mkdir(file.c_str(), 0700), 0);
  refusedAs("a directory");

  ASSERT_EQ(rmdir(file.c_str()), 0);
  std::string big = "- " + a.address() + "\n";
  while (big.size() <= 4096) big += "# padding padding padding padding padding padding\n";
  replaceFile(file, big);
  refusedAs("more than the limit of 4096");

  harness.readygate().signal(SIGTERM);
  EXPECT_EQ(harness.readygate().waitExit(5s), 0);
}

}  // namespace

namespace {

TEST(Discovery, ADnsSourceFollowsTheRecordsAndSurvivesTheServerGoingAway) {
  ProxyHarness harness;
  TestDns dns(harness);
  int podPort = freePort("127.0.0.2");
  std::vector<FakePod*> pods;
  for (int i = 2; i <= 4; ++i) {
    std::string host = "127.0.0." + std::to_string(i);
    pods.push_back(&harness.startPod("pod-" + std::to_string(i),
                                     {"--echo", "--greeting", "--port", std::to_string(podPort)},
                                     true, host));
  }
  dns.setRecords("web.test", {"127.0.0.2", "127.0.0.3"});
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 2
resolvers: ["${dns}"]
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints:
      dns: {name: web.test, port: ${podPort}, refreshSeconds: 0.2, family: ipv4}
)",
                              {{"dns", dns.address()},
                               {"port", std::to_string(port)},
                               {"podPort", std::to_string(podPort)}}));
  // Each pod also listens on podPort (the one port a DNS source has): that is its backend.
  auto backend = [&](int i) {
    return pods[static_cast<size_t>(i)]->host + ":" + std::to_string(podPort);
  };
  ASSERT_TRUE(harness.waitForState(backend(0), "ready", 5s)) << harness.admin("/status");
  ASSERT_TRUE(harness.waitForState(backend(1), "ready", 5s));
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"pod-2", "pod-3"}));

  // The records change: .4 joins, .2 leaves.
  dns.setRecords("web.test", {"127.0.0.3", "127.0.0.4"});
  ASSERT_TRUE(harness.waitForState(backend(2), "ready", 5s));
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(backend(0)).empty(); }, 5s));
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"pod-3", "pod-4"}));

  // The DNS server goes away: errors are counted, the pool stays as it was.
  dns.stop();
  ASSERT_TRUE(waitUntil(
      [&] {
        return harness.metric("readygate_discovery_errors_total{service=\"web\",source=\"dns\"}")
                   .value_or(0) >= 2;
      },
      10s));
  EXPECT_EQ(harness.backendState(backend(1)), "ready");
  EXPECT_EQ(harness.backendState(backend(2)), "ready");
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"pod-3", "pod-4"}));
}

// More records than fit a UDP answer: c-ares asks again over TCP and gets them all.
TEST(Discovery, ANameWith200RecordsResolvesCompletely) {
  ProxyHarness harness;
  TestDns dns(harness);
  std::vector<std::string> ips;
  for (int i = 1; i <= 200; ++i)
    ips.push_back("127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  dns.setRecords("big.test", ips);
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
resolvers: ["${dns}"]
services:
  - name: big
    listen: 127.0.0.1:${port}
    endpoints:
      dns: {name: big.test, port: 80, refreshSeconds: 0.5}
)",
                              {{"dns", dns.address()}, {"port", std::to_string(port)}}));
  EXPECT_TRUE(waitUntil(
      [&] {
        return harness.metric("readygate_discovery_endpoints{service=\"big\",source=\"dns\"}") ==
               200;
      },
      5s))
      << harness.admin("/status").substr(0, 2000);
  EXPECT_EQ(harness.metric("readygate_service_backends{service=\"big\"}"), 200);
}

}  // namespace
