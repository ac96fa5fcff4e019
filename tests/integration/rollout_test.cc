// Rolling deploy through a reload: with minReady the old pod keeps serving until the new
// one is ready, even though the new config already dropped it; without, traffic is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;

std::string config(int admin, int port, const std::string& endpoint, int minReady) {
  return "admin: {listen: \"127.0.0.1:" + std::to_string(admin) +
         "\"}\n"
         "services:\n"
         "  - name: web\n"
         "    listen: \"127.0.0.1:" +
         std::to_string(port) +
         "\"\n"
         "    endpoints: {static: [\"" +
         endpoint +
         "\"]}\n"
         "    minReady: " +
         std::to_string(minReady) +
         "\n"
         "    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}\n";
}

struct Rollout {
  int port = 0;
  std::string oldAddress;
  std::string newAddress;
  std::vector<std::string> answers;  // which pod answered each connection while `new` booted
};

/// Replaces the old pod by a new one that takes 1.5 s to boot, via reload, and makes
/// connections during the boot.
Rollout rollOut(ProxyHarness& harness, int minReady) {
  Rollout rollout;
  FakePod& old = harness.startPod("old", {"--echo", "--greeting"});
  int admin = freePort();
  rollout.port = freePort();
  rollout.oldAddress = old.address();
  ChildProcess& readygate =
      harness.startReadygate(config(admin, rollout.port, rollout.oldAddress, minReady));
  EXPECT_TRUE(harness.waitForState(rollout.oldAddress, "ready", 5s));

  FakePod& fresh =
      harness.startPod("new", {"--echo", "--greeting", "--startup-delay", "1.5"}, false);
  rollout.newAddress = fresh.address();
  harness.writeFile("readygate.yaml", config(admin, rollout.port, rollout.newAddress, minReady));
  readygate.signal(SIGHUP);
  EXPECT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_config_reloads_total{result=\"success\"}") == 1; },
      5s));
  for (int i = 0; i < 10; ++i) {
    auto client = TcpClient::connect("127.0.0.1", rollout.port);
    rollout.answers.push_back(client ? client->receiveLine(2s).value_or("closed") : "refused");
    std::this_thread::sleep_for(50ms);  // spreads the connections over the boot; not a sync
  }
  return rollout;
}

TEST(Rollout, MinReadyKeepsTheOldPodServingUntilTheNewOneIsReady) {
  ProxyHarness harness;
  Rollout rollout = rollOut(harness, 1);
  EXPECT_EQ(rollout.answers, std::vector<std::string>(10, "old"))
      << "a connection was lost mid-rollout";
  EXPECT_EQ(harness.backendField(rollout.oldAddress, "leaving"), "true");
  EXPECT_EQ(harness.backendField(rollout.newAddress, "state"), "starting");
  EXPECT_EQ(harness.metric("readygate_service_leaving_backends{service=\"web\"}"), 1);
  EXPECT_EQ(harness.metric("readygate_service_backends{service=\"web\"}"), 1);

  // Once the new pod is ready the old one goes, and traffic follows.
  ASSERT_TRUE(harness.waitForState(rollout.newAddress, "ready", 5s));
  EXPECT_TRUE(waitUntil([&] { return harness.backendState(rollout.oldAddress).empty(); }, 2s));
  EXPECT_EQ(harness.metric("readygate_service_leaving_backends{service=\"web\"}"), 0);
  for (int i = 0; i < 3; ++i) {
    auto client = TcpClient::connect("127.0.0.1", rollout.port);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->receiveLine(), "new");
  }
}

TEST(Rollout, WithoutMinReadyTheGapLosesConnections) {
  ProxyHarness harness;
  Rollout rollout = rollOut(harness, 0);
  EXPECT_EQ(std::count(rollout.answers.begin(), rollout.answers.end(), "old"), 0);
  EXPECT_GT(std::count(rollout.answers.begin(), rollout.answers.end(), "closed"), 0)
      << "without the guard the boot gap must show: that gap is what minReady closes";
}

}  // namespace
