// Reload as a diff of the whole configuration, by SIGHUP and POST /reload: services
// added, removed and renamed, listen moved, one probe changed while the others keep
// their state, bad files rejected with every error, and a load loop that loses nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

/// Two services: web on `webPort` (pod-a, pod-b) and, unless `withApi` is false, api on
/// `apiPort` (pod-c). `webExtra` goes at the end of web's block.
struct Services {
  int admin = freePort();
  int webPort = freePort();
  int apiPort = freePort();
  std::string a, b, c;

  std::string yaml(bool withApi = true, const std::string& webExtra = "",
                   const std::string& webName = "web", int webListen = 0) const {
    std::string text = fill(R"(
admin: {listen: "127.0.0.1:${admin}"}
workers: 2
services:
  - name: ${webName}
    listen: 127.0.0.1:${webPort}
    endpoints: {static: ["${a}", "${b}"]}
${webExtra})",
                            {{"admin", std::to_string(admin)},
                             {"webName", webName},
                             {"webPort", std::to_string(webListen ? webListen : webPort)},
                             {"a", a},
                             {"b", b},
                             {"webExtra", webExtra}});
    if (withApi) {
      text += fill(R"(
  - name: api
    listen: 127.0.0.1:${apiPort}
    endpoints: {static: ["${c}"]}
)",
                   {{"apiPort", std::to_string(apiPort)}, {"c", c}});
    }
    return text;
  }
};

/// POST /reload; the whole reply (status line, headers, JSON body).
std::string reload(ProxyHarness& harness, const std::string& yaml) {
  harness.writeFile("readygate.yaml", yaml);
  return harness.adminPost("/reload");
}

std::string greeting(int port) {
  auto client = TcpClient::connect("127.0.0.1", port);
  if (!client) return "refused";
  return client->receiveLine(2s).value_or("closed");
}

class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    setup.a = harness.startPod("pod-a", {"--echo", "--greeting"}).address();
    setup.b = harness.startPod("pod-b", {"--echo", "--greeting"}).address();
    setup.c = harness.startPod("pod-c", {"--echo", "--greeting"}).address();
  }
  ProxyHarness harness;
  Services setup;
};

TEST_F(Reload, ServicesAreAddedRemovedAndRenamed) {
  harness.startReadygate(setup.yaml(false));
  EXPECT_EQ(greeting(setup.apiPort), "refused");

  std::string added = reload(harness, setup.yaml(true));
  EXPECT_THAT(added, HasSubstr("200 OK"));
  EXPECT_THAT(added, HasSubstr("service api: added"));
  EXPECT_EQ(greeting(setup.apiPort), "pod-c");
  EXPECT_EQ(harness.metric("readygate_service_backends{service=\"api\"}"), 1);

  EXPECT_THAT(reload(harness, setup.yaml(false)), HasSubstr("200 OK"));
  // Workers close their listeners on their next loop pass: a connect in between is
  // accepted and closed (no backend), then refused.
  EXPECT_TRUE(waitUntil([&] { return greeting(setup.apiPort) == "refused"; }, 2s));
  // Gone once its last connection is (the one greeting() opened may still be closing).
  EXPECT_TRUE(waitUntil(
      [&] { return !harness.metric("readygate_service_backends{service=\"api\"}"); }, 3s));

  // Renamed: the old name goes, the new one serves on the same address.
  std::string renamed = reload(harness, setup.yaml(false, "", "www"));
  EXPECT_THAT(renamed, HasSubstr("service web: removed"));
  EXPECT_THAT(renamed, HasSubstr("service www: added"));
  EXPECT_TRUE(waitUntil([&] { return greeting(setup.webPort).starts_with("pod-"); }, 2s));
  EXPECT_TRUE(waitUntil(
      [&] { return !harness.metric("readygate_service_backends{service=\"web\"}"); }, 3s));
  EXPECT_EQ(harness.metric("readygate_service_backends{service=\"www\"}"), 2);
  EXPECT_EQ(harness.metric("readygate_config_reloads_total{result=\"success\"}"), 3);
}

TEST_F(Reload, ListenMovesAndAConnectionHeldAcrossItCarriesOn) {
  harness.startReadygate(setup.yaml());
  auto held = TcpClient::connect("127.0.0.1", setup.webPort);
  ASSERT_TRUE(held);
  ASSERT_TRUE(held->receiveLine());
  int moved = freePort();
  std::string reply = reload(harness, setup.yaml(true, "", "web", moved));
  EXPECT_THAT(reply, HasSubstr("200 OK"));
  EXPECT_THAT(reply, HasSubstr("listen 127.0.0.1:" + std::to_string(setup.webPort)));
  EXPECT_TRUE(greeting(moved).starts_with("pod-"));
  EXPECT_TRUE(waitUntil([&] { return greeting(setup.webPort) == "refused"; }, 2s));
  EXPECT_EQ(greeting(setup.apiPort), "pod-c");  // the other service never noticed
  ASSERT_TRUE(held->sendAll("still here\n"));
  EXPECT_EQ(held->receiveLine(), "still here");
}

TEST_F(Reload, AChangedProbeRestartsAloneAndTheOthersKeepTheirState) {
  const std::string probes = R"(    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}
    livenessProbe: {tcpSocket: {}, periodSeconds: 0.1}
)";
  harness.startReadygate(setup.yaml(true, probes));
  ASSERT_TRUE(harness.waitForState(setup.a, "ready", 5s));
  auto livenessSuccesses = [&] {
    return harness
        .metric("readygate_backend_consecutive_successes{service=\"web\",backend=\"" + setup.a +
                "\",probe=\"liveness\"}")
        .value_or(-1);
  };
  ASSERT_TRUE(waitUntil([&] { return livenessSuccesses() >= 5; }, 5s));

  // Readiness now asks /ready over HTTP on an echo pod: it can never pass.
  const std::string changed =
      R"(    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1, failureThreshold: 3}
    livenessProbe: {tcpSocket: {}, periodSeconds: 0.1}
)";
  double before = livenessSuccesses();
  std::string reply = reload(harness, setup.yaml(true, changed));
  EXPECT_THAT(reply, HasSubstr("readinessProbe changed"));
  EXPECT_THAT(reply, ::testing::Not(HasSubstr("livenessProbe changed")));
  // Liveness kept counting through the reload; the backend stayed ready until the
  // new readiness probe had failed failureThreshold times.
  EXPECT_GE(livenessSuccesses(), before);
  EXPECT_EQ(harness.backendState(setup.a), "ready");
  EXPECT_TRUE(harness.waitForState(setup.a, "not_ready", 5s));
  EXPECT_GE(livenessSuccesses(), before);
  EXPECT_EQ(harness.backendField(setup.a, "cause"), "readiness");
  EXPECT_EQ(harness.metric("readygate_backend_transitions_total{service=\"web\",backend=\"" +
                           setup.a + "\",from=\"ready\",to=\"not_ready\"}"),
            1);
  // The other service's backend never changed state.
  EXPECT_FALSE(harness.metric("readygate_backend_transitions_total{service=\"api\",backend=\"" +
                              setup.c + "\",from=\"ready\",to=\"not_ready\"}"));
}

TEST_F(Reload, ABadFileIsRejectedWithEveryErrorAndTheRunningConfigStays) {
  ChildProcess& readygate = harness.startReadygate(setup.yaml());
  std::string broken = setup.yaml() + R"(
  - name: broken
    listen: 127.0.0.1:0
    balance: fastest
    endpoints: {static: ["not-an-address"]}
)";
  std::string reply = reload(harness, broken);
  EXPECT_THAT(reply, HasSubstr("400 Bad Request"));
  EXPECT_THAT(reply, HasSubstr("\"applied\":false"));
  EXPECT_THAT(reply, HasSubstr("balance"));
  EXPECT_THAT(reply, HasSubstr("not-an-address"));

  // The same by signal: rejected, counted, still serving the old configuration.
  harness.writeFile("readygate.yaml", broken);
  readygate.signal(SIGHUP);
  EXPECT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_config_reloads_total{result=\"failure\"}") == 2; },
      5s));
  EXPECT_TRUE(readygate.running());
  EXPECT_EQ(greeting(setup.apiPort), "pod-c");

  // Restart-only changes are named, and the rest of the file is not applied either.
  std::string workers = setup.yaml(false);
  workers.replace(workers.find("workers: 2"), 10, "workers: 3");
  reply = reload(harness, workers);
  EXPECT_THAT(reply, HasSubstr("400 Bad Request"));
  EXPECT_THAT(reply, HasSubstr("workers: changes need a restart"));
  EXPECT_EQ(greeting(setup.apiPort), "pod-c");

  // A listen address that cannot be bound rejects the reload as a whole.
  IdleListener holder(1);
  reply = reload(harness, setup.yaml(true, "", "web", holder.port()) +
                              fill(R"(
  - name: extra
    listen: 127.0.0.1:${port}
    endpoints: {static: []}
)",
                                   {{"port", std::to_string(freePort())}}));
  EXPECT_THAT(reply, HasSubstr("400 Bad Request"));
  EXPECT_THAT(reply, HasSubstr("Address already in use"));
  EXPECT_EQ(greeting(setup.webPort).substr(0, 4), "pod-");
  EXPECT_FALSE(harness.metric("readygate_service_backends{service=\"extra\"}"));
  EXPECT_EQ(harness.metric("readygate_config_reloads_total{result=\"failure\"}"), 4);
}

// A bounded load loop of TCP connections runs while every kind of reload is applied;
// none of its connections may be lost.
TEST_F(Reload, ALoadLoopRunningThroughEveryReloadLosesNoConnection) {
  harness.startReadygate(setup.yaml());
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::atomic<int> lost{0};
  std::thread load([&] {
    auto deadline = std::chrono::steady_clock::now() + 20s;  // bounded whatever happens
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      std::string answer = greeting(setup.apiPort);
      answer == "pod-c" ? ++served : ++lost;
      answer = greeting(setup.webPort);
      answer.starts_with("pod-") ? ++served : ++lost;
    }
  });
  const std::vector<std::string> steps = {
      setup.yaml(true, "    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}\n"),
      setup.yaml(true, "    readinessProbe: {tcpSocket: {}, periodSeconds: 0.2}\n"),
      setup.yaml(true, "    balance: least_conn\n    connectTimeoutSeconds: 2\n"),
      setup.yaml(true, "    minReady: 1\n    whenNoneReady: all\n    drainTimeoutSeconds: 5\n"),
      setup.yaml(true, "    livenessProbe: {tcpSocket: {}, periodSeconds: 0.1}\n"),
      setup.yaml(true, ""),
  };
  for (const std::string& step : steps) {
    EXPECT_THAT(reload(harness, step), HasSubstr("200 OK"));
    int before = served;
    EXPECT_TRUE(waitUntil([&] { return served >= before + 50; }, 5s));
  }
  stop = true;
  load.join();
  EXPECT_EQ(lost, 0) << "served " << served;
  EXPECT_GT(served, 60);
}

}  // namespace
