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
  return fill(R"(
admin: {listen: "127.0.0.1:${admin}"}
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${endpoint}"]}
    minReady: ${minReady}
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}
)",
              {{"admin", std::to_string(admin)},
               {"port", std::to_string(port)},
               {"endpoint", endpoint},
               {"minReady", std::to_string(minReady)}});
}

/// SIGHUP, then waits (bounded) until the reload is counted as a success.
bool reloadBySignal(ProxyHarness& harness) {
  std::string success = "readygate_config_reloads_total{result=\"success\"}";
  double before = harness.metric(success).value_or(0);
  harness.readygate().signal(SIGHUP);
  return waitUntil([&] { return harness.metric(success).value_or(0) > before; }, 5s);
}

/// `"a", "b"`: endpoints as a YAML flow list's items.
std::string quotedList(const std::vector<std::string>& items) {
  std::string list;
  for (const std::string& item : items) {
    if (!list.empty()) list.append(", ");
    list.append("\"").append(item).append("\"");
  }
  return list;
}

/// Which pod answers each of `count` connections.
std::vector<std::string> answers(int port, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    names.push_back(client ? client->receiveLine(2s).value_or("closed") : "refused");
  }
  return names;
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

// Before: an admin-disabled but healthy backend counted toward minReady, so dropping
// the old pod from the list let it go at once although nothing could take traffic.
TEST(Rollout, ADisabledPodDoesNotCountTowardMinReady) {
  ProxyHarness harness;
  FakePod& old = harness.startPod("old", {"--echo", "--greeting"});
  FakePod& spare = harness.startPod("spare", {"--echo", "--greeting"});
  int admin = freePort();
  int port = freePort();
  const char* yaml = R"(
admin: {listen: "127.0.0.1:${admin}"}
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: [${endpoints}]}
    minReady: 1
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}
)";
  auto configWith = [&](const std::string& endpoints) {
    return fill(yaml, {{"admin", std::to_string(admin)},
                       {"port", std::to_string(port)},
                       {"endpoints", endpoints}});
  };
  harness.startReadygate(configWith(quotedList({old.address(), spare.address()})));
  ASSERT_TRUE(harness.waitForState(old.address(), "ready", 5s));
  ASSERT_TRUE(harness.waitForState(spare.address(), "ready", 5s));
  harness.adminPost("/backends/web/" + spare.address() + "/disable");

  harness.writeFile("readygate.yaml", configWith(quotedList({spare.address()})));
  ASSERT_TRUE(reloadBySignal(harness));
  EXPECT_EQ(harness.backendState(old.address()), "leaving");
  EXPECT_EQ(harness.backendField(old.address(), "held_by_min_ready"), "true");
  EXPECT_EQ(answers(port, 5), std::vector<std::string>(5, "old"));
  // Enabled again, the spare counts: the old pod may go.
  harness.adminPost("/backends/web/" + spare.address() + "/enable");
  EXPECT_TRUE(waitUntil([&] { return harness.backendState(old.address()).empty(); }, 5s));
  EXPECT_EQ(answers(port, 3), std::vector<std::string>(3, "spare"));
}

// Before: a backend dropped by a reload vanished from /status and /metrics at once
// while its connections could run on for drainTimeoutSeconds.
TEST(Rollout, ARemovedPodStaysVisibleUntilItsLastConnectionIsGone) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"});
  int admin = freePort();
  int port = freePort();
  const char* yaml = R"(
admin: {listen: "127.0.0.1:${admin}"}
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: [${endpoints}]}
    drainTimeoutSeconds: 30
)";
  auto configWith = [&](const std::string& endpoints) {
    return fill(yaml, {{"admin", std::to_string(admin)},
                       {"port", std::to_string(port)},
                       {"endpoints", endpoints}});
  };
  harness.startReadygate(configWith(quotedList({a.address(), b.address()})));
  // Round robin: two connections, one on each pod; keep the one on pod-a.
  std::optional<TcpClient> onA;
  for (int i = 0; i < 2; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    if (client->receiveLine() == "pod-a") onA.emplace(std::move(*client));
  }
  ASSERT_TRUE(onA);

  harness.writeFile("readygate.yaml", configWith(quotedList({b.address()})));
  ASSERT_TRUE(reloadBySignal(harness));
  std::string series = "{service=\"web\",backend=\"" + a.address() + "\"";
  EXPECT_EQ(harness.backendState(a.address()), "removed");
  EXPECT_EQ(harness.backendField(a.address(), "active_connections"), "1");
  EXPECT_EQ(harness.backendField(a.address(), "in_rotation"), "false");
  EXPECT_NE(harness.backendField(a.address(), "connections_close_at"), "null");
  EXPECT_EQ(harness.metric("readygate_backend_state" + series + ",state=\"removed\"}"), 1);
  EXPECT_EQ(harness.metric("readygate_backend_connections_active" + series + "}"), 1);
  // The held connection still works; once it closes, the backend and its series go.
  ASSERT_TRUE(onA->sendAll("still here\n"));
  EXPECT_EQ(onA->receiveLine(), "still here");
  onA->close();
  EXPECT_TRUE(waitUntil([&] { return harness.backendState(a.address()).empty(); }, 5s));
  EXPECT_FALSE(harness.metric("readygate_backend_state" + series + ",state=\"removed\"}"));
}

}  // namespace
