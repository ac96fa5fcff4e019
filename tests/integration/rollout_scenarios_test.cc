// Rolling deploys from live discovery under continuous load (issue 9's scenarios): an
// endpoints file rewritten the way a deploy script would, 20 keep-alive clients that
// never retry, every failure counted. Each protected run must lose nothing; the same
// run with its protection off must show losses, proving what protects.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/test_dns.h"

namespace {

using namespace testing_support;

std::string listOf(const std::vector<FakePod*>& pods) {
  std::string list;
  for (const FakePod* pod : pods) list += "- " + pod->address() + "\n";
  return list;
}

long hitsAt(const FakePod& pod) {
  std::string body = httpBody(httpGet(pod.host, pod.port, "/hits"));
  return body.empty() ? -1 : std::stol(body);
}

struct Outcome {
  int ok = 0;
  int failed = 0;
  long newPodHitsBeforeReady = 0;
  long newPodHitsAtTheEnd = 0;
};

/// Old pods serving; new pods added to the file (unready until told, or not yet
/// listening when `probeNewPods` is false and they boot); old ones dropped from the
/// file, then stopped; all under load. `minReady` guards the drop.
Outcome rollOut(bool readinessProbe, int minReady, bool dropOldBeforeNewAreReady) {
  ProxyHarness harness;
  std::vector<FakePod*> olds, news;
  for (int i = 0; i < 3; ++i) olds.push_back(&harness.startPod("old-" + std::to_string(i)));
  std::string file = harness.dir() + "/endpoints.yaml";
  replaceFile(file, listOf(olds));
  int port = freePort();
  std::string probe =
      readinessProbe ? "    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1}\n" : "";
  harness.startReadygate(fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    retries: 0
    minReady: ${minReady}
    drainTimeoutSeconds: 5
    endpoints:
      file: {path: ${file}}
)",
                              {{"port", std::to_string(port)},
                               {"minReady", std::to_string(minReady)},
                               {"file", file}}) +
                         probe);
  for (FakePod* pod : olds) EXPECT_TRUE(harness.waitForState(pod->address(), "ready", 5s));

  HttpLoad load;
  load.start(port, 20, "/");
  EXPECT_TRUE(waitUntil([&] { return load.ok() > 2000; }, 20s));
  // New pods take 1 s to boot (not listening), then answer /ready 503 until told. Started
  // only now, so however slow the build, they are still booting when discovery adds them.
  for (int i = 0; i < 3; ++i) {
    news.push_back(&harness.startPod("new-" + std::to_string(i),
                                     {"--startup-delay", "1", "--start-unready"}, false));
  }
  if (dropOldBeforeNewAreReady) {
    replaceFile(file, listOf(news));  // discovery drops the old pods early
  } else {
    std::vector<FakePod*> both = olds;
    both.insert(both.end(), news.begin(), news.end());
    replaceFile(file, listOf(both));
  }
  // Booting, then listening but unready: no traffic may reach them yet.
  for (FakePod* pod : news) waitUntil([&] { return canConnect(pod->host, pod->port); }, 5s);
  auto total = [&] { return load.ok() + load.failed(); };
  int mark = total();
  waitUntil([&] { return total() > mark + 1000; }, 20s);
  Outcome outcome;
  for (FakePod* pod : news) outcome.newPodHitsBeforeReady += hitsAt(*pod);
  for (FakePod* pod : news) httpGet(pod->host, pod->port, "/control/ready/on");
  if (readinessProbe) {
    for (FakePod* pod : news) EXPECT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  }
  replaceFile(file, listOf(news));
  // Old pods go once they are out of rotation and their connections are gone.
  for (FakePod* pod : olds) {
    waitUntil([&] { return harness.backendState(pod->address()).empty(); }, 10s);
    pod->process->signal(SIGTERM);
  }
  mark = total();
  waitUntil([&] { return total() > mark + 3000 && total() >= 10000; }, 30s);
  load.finish();
  for (FakePod* pod : news) outcome.newPodHitsAtTheEnd += hitsAt(*pod);
  outcome.ok = load.ok();
  outcome.failed = load.failed();
  return outcome;
}

TEST(RolloutScenario, OldToNewThroughAFileLosesNothing) {
  Outcome protectedRun = rollOut(true, 0, false);
  EXPECT_EQ(protectedRun.failed, 0) << "ok " << protectedRun.ok;
  EXPECT_GE(protectedRun.ok + protectedRun.failed, 10000);
  EXPECT_EQ(protectedRun.newPodHitsBeforeReady, 0) << "a new pod got traffic before it was ready";
  EXPECT_GT(protectedRun.newPodHitsAtTheEnd, 1000) << "the traffic never moved to the new pods";
}

TEST(RolloutScenario, WithoutAReadinessProbeTheSameRolloutLoses) {
  Outcome unprotected = rollOut(false, 0, false);
  EXPECT_GT(unprotected.failed, 0)
      << "booting pods got traffic and failed it: what readiness prevents";
}

TEST(RolloutScenario, MinReadyHoldsOldPodsDroppedBeforeTheNewAreReady) {
  Outcome guarded = rollOut(true, 2, true);
  EXPECT_EQ(guarded.failed, 0) << "ok " << guarded.ok;
  EXPECT_EQ(guarded.newPodHitsBeforeReady, 0);
  EXPECT_GT(guarded.newPodHitsAtTheEnd, 1000);
}

TEST(RolloutScenario, WithoutMinReadyDroppingOldPodsEarlyLoses) {
  Outcome unguarded = rollOut(true, 0, true);
  EXPECT_GT(unguarded.failed, 0) << "nothing was ready in between: what minReady prevents";
}

/// Scenario 4: the same rollout with a DNS source (a headless Service's records change
/// under readygate): old pods on 127.0.0.2-4, new ones on 127.0.0.5-7, one port. New
/// pods boot for 3 s: a DNS refresh (0.2 s) surely finds them before they listen.
Outcome rollOutThroughDns(bool readinessProbe) {
  ProxyHarness harness;
  TestDns dns(harness);
  int podPort = freePort("127.0.0.2");
  std::vector<FakePod*> olds, news;
  std::vector<std::string> oldIps, newIps;
  for (int i = 2; i <= 7; ++i) {
    std::string ip = "127.0.0." + std::to_string(i);
    bool isNew = i >= 5;
    std::vector<std::string> args = {"--port", std::to_string(podPort)};
    if (isNew) args.insert(args.end(), {"--startup-delay", "3", "--start-unready"});
    FakePod& pod =
        harness.startPod((isNew ? "new-" : "old-") + std::to_string(i), args, !isNew, ip);
    (isNew ? news : olds).push_back(&pod);
    (isNew ? newIps : oldIps).push_back(ip);
  }
  auto backend = [&](const FakePod* pod) { return pod->host + ":" + std::to_string(podPort); };
  dns.setRecords("web.test", oldIps);
  int port = freePort();
  std::string probe =
      readinessProbe ? "    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1}\n" : "";
  harness.startReadygate(fill(R"(workers: 2
resolvers: ["${dns}"]
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    retries: 0
    drainTimeoutSeconds: 5
    endpoints:
      dns: {name: web.test, port: ${podPort}, refreshSeconds: 0.2, family: ipv4}
)",
                              {{"dns", dns.address()},
                               {"port", std::to_string(port)},
                               {"podPort", std::to_string(podPort)}}) +
                         probe);
  for (FakePod* pod : olds) EXPECT_TRUE(harness.waitForState(backend(pod), "ready", 5s));
  HttpLoad load;
  load.start(port, 20, "/");
  auto total = [&] { return load.ok() + load.failed(); };
  EXPECT_TRUE(waitUntil([&] { return load.ok() > 2000; }, 20s));
  std::vector<std::string> both = oldIps;
  both.insert(both.end(), newIps.begin(), newIps.end());
  dns.setRecords("web.test", both);
  for (FakePod* pod : news) waitUntil([&] { return canConnect(pod->host, podPort); }, 5s);
  int mark = total();
  waitUntil([&] { return total() > mark + 1000; }, 20s);
  Outcome outcome;
  for (FakePod* pod : news) outcome.newPodHitsBeforeReady += hitsAt(*pod);
  for (FakePod* pod : news) httpGet(pod->host, pod->port, "/control/ready/on");
  if (readinessProbe) {
    for (FakePod* pod : news) EXPECT_TRUE(harness.waitForState(backend(pod), "ready", 5s));
  }
  dns.setRecords("web.test", newIps);
  for (FakePod* pod : olds) {
    waitUntil([&] { return harness.backendState(backend(pod)).empty(); }, 10s);
    pod->process->signal(SIGTERM);
  }
  mark = total();
  waitUntil([&] { return total() > mark + 3000 && total() >= 10000; }, 30s);
  load.finish();
  for (FakePod* pod : news) outcome.newPodHitsAtTheEnd += hitsAt(*pod);
  outcome.ok = load.ok();
  outcome.failed = load.failed();
  return outcome;
}

TEST(RolloutScenario, OldToNewThroughDnsLosesNothing) {
  Outcome protectedRun = rollOutThroughDns(true);
  EXPECT_EQ(protectedRun.failed, 0) << "ok " << protectedRun.ok;
  EXPECT_GE(protectedRun.ok + protectedRun.failed, 10000);
  EXPECT_EQ(protectedRun.newPodHitsBeforeReady, 0);
  EXPECT_GT(protectedRun.newPodHitsAtTheEnd, 1000);
}

TEST(RolloutScenario, ThroughDnsWithoutAReadinessProbeLoses) {
  EXPECT_GT(rollOutThroughDns(false).failed, 0);
}

// Scenario 2: a broken rollout. The new pods' readiness never passes (nothing on the
// probe port, as in the field notes); the deploy script drops the old pods anyway.
// minReady keeps them serving: all traffic stays on the old pods, /status says why.
TEST(RolloutScenario, ABrokenRolloutKeepsAllTrafficOnTheOldPods) {
  ProxyHarness harness;
  int probePort = freePort("127.0.0.2");
  std::vector<FakePod*> olds, news;
  for (int i = 0; i < 3; ++i) {
    // Old pods answer on the probe port too; new ones do not.
    olds.push_back(&harness.startPod("old-" + std::to_string(i),
                                     {"--port", std::to_string(probePort)}, true,
                                     "127.0.0." + std::to_string(2 + i)));
    news.push_back(&harness.startPod("new-" + std::to_string(i), {}, true,
                                     "127.0.0." + std::to_string(5 + i)));
  }
  std::string file = harness.dir() + "/endpoints.yaml";
  replaceFile(file, listOf(olds));
  int port = freePort();
  harness.startReadygate(fill(
      R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    retries: 0
    minReady: 3
    endpoints: {file: {path: ${file}}}
    readinessProbe: {tcpSocket: {port: ${probePort}}, periodSeconds: 0.1}
)",
      {{"port", std::to_string(port)}, {"file", file}, {"probePort", std::to_string(probePort)}}));
  for (FakePod* pod : olds) ASSERT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  HttpLoad load;
  load.start(port, 20, "/");
  auto total = [&] { return load.ok() + load.failed(); };
  std::vector<FakePod*> both = olds;
  both.insert(both.end(), news.begin(), news.end());
  replaceFile(file, listOf(both));
  waitUntil([&] { return total() > 3000; }, 20s);
  replaceFile(file, listOf(news));  // the deploy goes on regardless
  waitUntil([&] { return total() >= 10000; }, 30s);
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
  long newHits = 0;
  for (FakePod* pod : news) newHits += hitsAt(*pod);
  EXPECT_EQ(newHits, 0) << "an unready new pod got traffic";
  for (FakePod* pod : news) {
    EXPECT_EQ(harness.backendState(pod->address()), "starting");
    EXPECT_EQ(harness.backendField(pod->address(), "reason"), "connect_refused");
  }
  for (FakePod* pod : olds) {
    EXPECT_EQ(harness.backendState(pod->address()), "leaving");
    EXPECT_EQ(harness.backendField(pod->address(), "held_by_min_ready"), "true");
  }
}

// Scenario 1 in TCP mode, one connection per request (long-lived TCP connections to an
// old pod would be cut at its drain timeout: those are counted apart, and none is held).
TEST(RolloutScenario, OldToNewInTcpModeWithAConnectionPerRequestLosesNothing) {
  ProxyHarness harness;
  std::vector<FakePod*> olds, news;
  for (int i = 0; i < 3; ++i) {
    olds.push_back(&harness.startPod("old-" + std::to_string(i), {"--echo", "--greeting"}));
    news.push_back(&harness.startPod("new-" + std::to_string(i),
                                     {"--echo", "--greeting", "--startup-delay", "1"}, false));
  }
  std::string file = harness.dir() + "/endpoints.yaml";
  replaceFile(file, listOf(olds));
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    retries: 0
    endpoints: {file: {path: ${file}}}
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1}
)",
                              {{"port", std::to_string(port)}, {"file", file}}));
  for (FakePod* pod : olds) ASSERT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&] {
      auto deadline = std::chrono::steady_clock::now() + 60s;
      while (!stop && std::chrono::steady_clock::now() < deadline) {
        auto client = TcpClient::connect("127.0.0.1", port);
        auto line = client ? client->receiveLine(2s) : std::nullopt;
        bool answered = line && (line->starts_with("old-") || line->starts_with("new-"));
        answered ? ++ok : ++failed;
      }
    });
  }
  auto total = [&] { return ok + failed; };
  waitUntil([&] { return total() > 2000; }, 20s);
  std::vector<FakePod*> both = olds;
  both.insert(both.end(), news.begin(), news.end());
  replaceFile(file, listOf(both));
  for (FakePod* pod : news) EXPECT_TRUE(harness.waitForState(pod->address(), "ready", 10s));
  replaceFile(file, listOf(news));
  for (FakePod* pod : olds) {
    waitUntil([&] { return harness.backendState(pod->address()).empty(); }, 10s);
    pod->process->signal(SIGTERM);
  }
  int mark = total();
  waitUntil([&] { return total() > mark + 2000 && total() >= 10000; }, 40s);
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_EQ(failed, 0) << "ok " << ok;
  EXPECT_GE(total(), 10000);
}

/// Scenario 6: readygate itself is rolled. The test plays the load balancer in front:
/// it checks /readyz every 500 ms and stops sending once it fails. Returns the load.
std::pair<int, int> sigtermUnderLoad(double shutdownDelaySeconds) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  ChildProcess& readygate = harness.startReadygate(
      fill("shutdownDelaySeconds: ${delay}\n", {{"delay", std::to_string(shutdownDelaySeconds)}}) +
      fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${a}"]}
)",
           {{"port", std::to_string(port)}, {"a", a.address()}}));
  HttpLoad load;
  load.start(port, 20, "/?delay_ms=20");  // requests in flight at every moment
  waitUntil([&] { return load.ok() > 1000; }, 20s);
  readygate.signal(SIGTERM);
  // A real balancer checks every few hundred milliseconds, not continuously.
  std::this_thread::sleep_for(500ms);  // its check interval: the gap being tested, not a sync
  EXPECT_TRUE(waitUntil([&] { return harness.admin("/readyz") != "ready\n"; }, 5s, 50ms));
  load.finish();  // the balancer has taken readygate out
  EXPECT_EQ(readygate.waitExit(10s), 0);
  return {load.ok(), load.failed()};
}

TEST(RolloutScenario, ReadygateRolledBehindABalancerLosesNothingWithAShutdownDelay) {
  auto [ok, failed] = sigtermUnderLoad(2);  // longer than the balancer's check interval
  EXPECT_EQ(failed, 0) << "ok " << ok;
}

TEST(RolloutScenario, WithoutAShutdownDelayTheBalancerIsTooLate) {
  auto [ok, failed] = sigtermUnderLoad(0);
  EXPECT_GT(failed, 0) << "ok " << ok << ": listeners closed before the balancer could react";
}

// Scenario 5: a reload storm during load: 20 reloads, every fourth one invalid. Valid
// ones apply, invalid ones are rejected with their errors, no request is lost and no
// backend's probe state is reset.
TEST(RolloutScenario, AReloadStormLosesNothingAndKeepsProbeState) {
  ProxyHarness harness;
  std::vector<FakePod*> pods;
  for (int i = 0; i < 3; ++i) pods.push_back(&harness.startPod("pod-" + std::to_string(i)));
  int port = freePort();
  int admin = freePort();
  const char* yaml = R"(admin: {listen: "127.0.0.1:${admin}"}
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    retries: 0
    balance: ${balance}
    endpoints: {static: ["${a}", "${b}", "${c}"]}
    readinessProbe: {httpGet: {path: /ready}, periodSeconds: ${period}}
)";
  auto config = [&](const std::string& balance, const std::string& period) {
    return fill(yaml, {{"admin", std::to_string(admin)},
                       {"port", std::to_string(port)},
                       {"balance", balance},
                       {"period", period},
                       {"a", pods[0]->address()},
                       {"b", pods[1]->address()},
                       {"c", pods[2]->address()}});
  };
  harness.startReadygate(config("round_robin", "0.1"));
  for (FakePod* pod : pods) ASSERT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  HttpLoad load;
  load.start(port, 20, "/");
  const char* balances[] = {"round_robin", "least_conn", "random_two"};
  int applied = 0;
  int rejected = 0;
  for (int i = 0; i < 20; ++i) {
    bool invalid = i % 4 == 3;
    std::string next = invalid ? config("fastest", "0.1")  // not a balance
                               : config(balances[i % 3], i % 2 ? "0.2" : "0.1");
    harness.writeFile("readygate.yaml", next);
    std::string reply = harness.adminPost("/reload");
    if (invalid) {
      EXPECT_NE(reply.find("400 Bad Request"), std::string::npos) << reply;
      EXPECT_NE(reply.find("fastest"), std::string::npos) << reply;
      ++rejected;
    } else {
      EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
      ++applied;
    }
    int mark = load.ok() + load.failed();
    waitUntil([&] { return load.ok() + load.failed() > mark + 500; }, 10s);
  }
  waitUntil([&] { return load.ok() + load.failed() >= 10000; }, 30s);
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
  EXPECT_GE(load.ok(), 10000);
  EXPECT_EQ(applied, 15);
  EXPECT_EQ(rejected, 5);
  EXPECT_EQ(harness.metric("readygate_config_reloads_total{result=\"failure\"}"), 5);
  for (FakePod* pod : pods) {
    // Never out of rotation: a probe change restarts from the verdict, not from scratch.
    EXPECT_FALSE(harness.metric("readygate_backend_transitions_total{service=\"web\",backend=\"" +
                                pod->address() + "\",from=\"ready\",to=\"not_ready\"}"));
    EXPECT_EQ(harness.backendState(pod->address()), "ready");
  }
}

}  // namespace
