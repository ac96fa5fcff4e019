// File discovery: endpoints from a watched file, replaced the way writers should
// (write, then rename), applied as the same diff a reload uses; a bad file keeps the
// last good set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;

/// Writes `content` next to `path` and renames it over `path`: an atomic replacement.
void replaceFile(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp";
  std::ofstream(temporary) << content;
  std::rename(temporary.c_str(), path.c_str());
}

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
        return harness.metric("readygate_discovery_errors_total{service=\"web\",source=\"file\"}") == 1;
      },
      3s));
  EXPECT_EQ(harness.backendState(b.address()), "ready");
  EXPECT_THAT(harness.admin("/status"), ::testing::HasSubstr("not-an-address"));

  // pod-a leaves the file: it is removed (and gone once its connections are).
  replaceFile(file, "[\"" + b.address() + "\"]");
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(a.address()).empty(); }, 3s));
  EXPECT_EQ(distinct(podsReached(port, 3)), (std::set<std::string>{"pod-b"}));
}

}  // namespace
