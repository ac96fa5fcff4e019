// The Kubernetes source end to end: readygate follows a Service's EndpointSlices on the test
// API server (tests/support/kube_apiserver.py) and sends real traffic to fakepods under
// continuous load from clients that never retry. Each scenario of issue 21 loses nothing;
// where a protection can be turned off, the same run without it shows the losses.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/test_kube_apiserver.h"
#include "tests/support/test_pki.h"

namespace {

using namespace testing_support;

long hitsAt(const FakePod& pod) {
  std::string body = httpBody(httpGet(pod.host, pod.port, "/hits"));
  return body.empty() ? 0 : std::stol(body);
}

long hitsAt(const std::vector<FakePod*>& pods) {
  long total = 0;
  for (const FakePod* pod : pods) total += hitsAt(*pod);
  return total;
}

/// Waits (bounded) until /status gives `backend` that reason.
bool waitForReason(const ProxyHarness& harness, const std::string& backend,
                   const std::string& reason) {
  return waitUntil([&] { return harness.backendField(backend, "reason") == reason; }, 10s);
}

constexpr const char* kProbe =
    "    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1, failureThreshold: 1}\n";

class KubernetesDiscoveryTest : public ::testing::Test {
 public:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    ca_.create("api-ca");
    api_ = std::make_unique<TestKubeApiServer>(harness_, ca_, "token-1");
    ASSERT_TRUE(api_->started()) << api_->output();
    tokenFile_ = harness_.writeFile("token", "token-1\n");
    kubeconfig_ = api_->writeKubeconfig(harness_, tokenFile_, "shop");
  }

  /// One slice per pod (each fakepod has a port of its own), named after it.
  void publish(const FakePod& pod, bool ready, bool serving = true, bool terminating = false) {
    ASSERT_EQ(api_->putSlice("shop", "web-" + pod.name, "web",
                             {{pod.host, ready, serving, terminating, pod.name}}, "http",
                             pod.port),
              200);
  }
  void publishReady(const std::vector<FakePod*>& pods) {
    for (FakePod* pod : pods) publish(*pod, true);
  }
  void terminate(const std::vector<FakePod*>& pods) {
    for (FakePod* pod : pods) publish(*pod, false, true, true);
  }
  void unpublish(const FakePod& pod) { ASSERT_EQ(api_->deleteSlice("shop", "web-" + pod.name), 200); }

  /// readygate on the Service "web" of namespace shop (the kubeconfig context's); `extra`
  /// is appended to the service, `source` to its kubernetes block.
  void startProxy(const std::string& extra, const std::string& source = "") {
    port_ = freePort();
    harness_.startReadygate(proxyConfig(extra, source));
  }
  std::string proxyConfig(const std::string& extra, const std::string& source = "") {
    return fill(R"(workers: 2
kubernetes: {kubeconfig: ${kubeconfig}}
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    retries: 0
    drainTimeoutSeconds: 5
    endpoints:
      kubernetes: {service: web, port: http${source}}
)",
                {{"kubeconfig", kubeconfig_}, {"port", std::to_string(port_)}, {"source", source}}) +
           extra;
  }

  double metric(const std::string& series) { return harness_.metric(series).value_or(-1); }
  bool waitForMetricAtLeast(const std::string& series, double value,
                            std::chrono::milliseconds timeout = 15s) {
    return waitUntil([&] { return metric(series) >= value; }, timeout);
  }
  /// Waits until the load has made `more` further requests.
  bool waitForRequests(const HttpLoad& load, int more, std::chrono::milliseconds timeout = 20s) {
    int mark = load.ok() + load.failed();
    return waitUntil([&] { return load.ok() + load.failed() >= mark + more; }, timeout);
  }
  size_t watchRequests() {
    auto log = nlohmann::json::parse(api_->requests(), nullptr, false);
    size_t count = 0;
    if (log.is_array()) {
      for (const auto& request : log) {
        if (request.value("query", "").find("watch=1") != std::string::npos) ++count;
      }
    }
    return count;
  }

  int port() const { return port_; }
  void useKubeconfig(std::string path) { kubeconfig_ = std::move(path); }

  ProxyHarness harness_;
  TestCa ca_{harness_, harness_.dir() + "/ca"};
  std::unique_ptr<TestKubeApiServer> api_;
  std::string tokenFile_;
  std::string kubeconfig_;
  int port_ = 0;
};

struct RollingOutcome {
  int ok = 0;
  int failed = 0;
  long newPodHitsBeforeProbePassed = 0;
  long oldPodHitsAfterTerminating = 0;
  long newPodHitsAtTheEnd = 0;
};

// Scenario 1. New pods appear not ready, the cluster calls them ready while their app still
// answers 503 (or, without readygate's probe, while they still boot), then they are ready;
// the old pods turn terminating, leave the slices and stop.
RollingOutcome rollingUpdate(KubernetesDiscoveryTest& test, ProxyHarness& harness, bool probe) {
  RollingOutcome outcome;
  std::vector<FakePod*> olds, news;
  for (int i = 0; i < 2; ++i) olds.push_back(&harness.startPod("old-" + std::to_string(i)));
  test.publishReady(olds);
  test.startProxy(probe ? kProbe : "");
  for (FakePod* pod : olds) EXPECT_TRUE(harness.waitForState(pod->address(), "ready"));
  HttpLoad load;
  load.start(test.port(), 20, "/");
  EXPECT_TRUE(test.waitForRequests(load, 1000));
  for (int i = 0; i < 2; ++i) {
    news.push_back(&harness.startPod("new-" + std::to_string(i),
                                     {"--startup-delay", "1", "--start-unready"}, false));
  }
  if (probe) {
    for (FakePod* pod : news) test.publish(*pod, false);
    for (FakePod* pod : news) EXPECT_TRUE(waitForReason(harness, pod->address(), "k8s_not_ready"));
    for (FakePod* pod : news) waitUntil([&] { return canConnect(pod->host, pod->port); }, 5s);
  }
  // The cluster says ready; the app is not (booting, or answering /ready with 503).
  test.publishReady(news);
  EXPECT_TRUE(test.waitForRequests(load, 2000));
  outcome.newPodHitsBeforeProbePassed = hitsAt(news);
  for (FakePod* pod : news) {
    waitUntil([&] { return canConnect(pod->host, pod->port); }, 5s);
    httpGet(pod->host, pod->port, "/control/ready/on");
  }
  for (FakePod* pod : news) EXPECT_TRUE(harness.waitForState(pod->address(), "ready"));
  test.terminate(olds);
  for (FakePod* pod : olds) {
    EXPECT_TRUE(waitForReason(harness, pod->address(), "terminating"));
  }
  long oldHits = hitsAt(olds);
  EXPECT_TRUE(test.waitForRequests(load, 2000));
  outcome.oldPodHitsAfterTerminating = hitsAt(olds) - oldHits;
  for (FakePod* pod : olds) test.unpublish(*pod);
  for (FakePod* pod : olds) {
    EXPECT_TRUE(waitUntil([&] { return harness.backendState(pod->address()).empty(); }, 10s));
    pod->process->signal(SIGTERM);
  }
  EXPECT_TRUE(test.waitForRequests(load, 2000));
  load.finish();
  outcome.newPodHitsAtTheEnd = hitsAt(news);
  outcome.ok = load.ok();
  outcome.failed = load.failed();
  return outcome;
}

}  // namespace

TEST_F(KubernetesDiscoveryTest, RollingUpdateLosesNothingAndNoPodGetsTrafficOutOfTurn) {
  RollingOutcome run = rollingUpdate(*this, harness_, true);
  EXPECT_EQ(run.failed, 0) << "ok " << run.ok;
  EXPECT_EQ(run.newPodHitsBeforeProbePassed, 0) << "a new pod got traffic before our probe passed";
  // At most the requests in flight when the terminating event was applied (one per client).
  EXPECT_LE(run.oldPodHitsAfterTerminating, 20) << "terminating pods kept getting requests";
  EXPECT_GT(run.newPodHitsAtTheEnd, 1000) << "the traffic never moved to the new pods";
  // The terminating events took the old pods out: each such change is timed from the
  // arrival of its bytes (a new pod's event changes nothing until its probe passes).
  const std::string series = "readygate_kubernetes_event_to_rotation_seconds_count{service=\"web\","
                             "source=\"kubernetes\"}";
  EXPECT_GE(metric(series), 1);
}

TEST_F(KubernetesDiscoveryTest, RollingUpdateTrustingTheClusterAloneLoses) {
  // No probe of our own: pods the cluster calls ready while they still boot get traffic.
  RollingOutcome run = rollingUpdate(*this, harness_, false);
  EXPECT_GT(run.failed, 0) << "the cluster's word alone lost nothing: the scenario proves nothing";
}

namespace {

struct LoadOutcome {
  int ok = 0;
  int failed = 0;
};

// Scenario 3: the cluster calls a pod ready, but its app does not listen on the port the
// slice names (the kubelet probed another port, as in the field notes).
LoadOutcome readyByTheClusterOnly(KubernetesDiscoveryTest& test, ProxyHarness& harness,
                                  bool probe) {
  FakePod& good = harness.startPod("good");
  FakePod wrong{"wrong", "127.0.0.1", freePort(), nullptr};  // nothing listens there
  test.publish(good, true);
  test.publish(wrong, true);
  test.startProxy(probe ? kProbe : "");
  EXPECT_TRUE(harness.waitForState(good.address(), "ready"));
  if (probe) {
    EXPECT_TRUE(waitForReason(harness, wrong.address(), "connect_refused"))
        << harness.admin("/status");
  }
  HttpLoad load;
  load.start(test.port(), 10, "/");
  EXPECT_TRUE(test.waitForRequests(load, 2000));
  load.finish();
  return {load.ok(), load.failed()};
}

}  // namespace

TEST_F(KubernetesDiscoveryTest, APodTheClusterCallsReadyButThatDoesNotServeIsOutAndStatusSaysWhy) {
  LoadOutcome run = readyByTheClusterOnly(*this, harness_, true);
  EXPECT_EQ(run.failed, 0) << "ok " << run.ok;
  std::string wrong;
  auto status = nlohmann::json::parse(harness_.admin("/status"), nullptr, false);
  ASSERT_TRUE(status.is_object());
  for (const auto& backend : status["services"][0]["backends"]) {
    if (backend["kubernetes"]["pod"] != "wrong") continue;
    EXPECT_NE(backend["state"], "ready");
    EXPECT_EQ(backend["in_rotation"], false);
    EXPECT_EQ(backend["cause"], "readiness");
    EXPECT_EQ(backend["reason"], "connect_refused");
    EXPECT_EQ(backend["kubernetes"]["ready"], true);  // the cluster's word, shown beside ours
    EXPECT_EQ(backend["kubernetes"]["zone"], "zone-a");
    EXPECT_EQ(backend["kubernetes"]["node"], "node-1");
    wrong = backend["address"];
  }
  EXPECT_FALSE(wrong.empty()) << status.dump();
  EXPECT_GT(status["services"][0]["probes_per_backend_per_second"].get<double>(), 9.9);
  std::string table = harness_.admin("/status?format=text");
  EXPECT_NE(table.find("POD"), std::string::npos) << table;
  EXPECT_NE(table.find("wrong"), std::string::npos) << table;
}

TEST_F(KubernetesDiscoveryTest, APodTheClusterCallsReadyButThatDoesNotServeLosesWithoutAProbe) {
  LoadOutcome run = readyByTheClusterOnly(*this, harness_, false);
  EXPECT_GT(run.failed, 0);
}

namespace {

// Scenario 4: a one-replica Deployment rolled (Traefik's failing case). The old pod
// terminates before the new one is ready: it serves, as kube-proxy's fallback, until then.
LoadOutcome oneReplicaRolled(KubernetesDiscoveryTest& test, ProxyHarness& harness,
                             bool fallback) {
  FakePod& old = harness.startPod("old");
  test.publish(old, true);
  test.startProxy(kProbe, fallback ? "" : ", terminatingFallback: false");
  EXPECT_TRUE(harness.waitForState(old.address(), "ready"));
  HttpLoad load;
  load.start(test.port(), 10, "/");
  EXPECT_TRUE(test.waitForRequests(load, 1000));
  FakePod& fresh = harness.startPod("new", {"--startup-delay", "1", "--start-unready"}, false);
  test.publish(fresh, false);
  test.terminate({&old});
  EXPECT_TRUE(waitForReason(harness, old.address(), "terminating"));
  EXPECT_TRUE(test.waitForRequests(load, 1000));
  if (fallback) {
    EXPECT_EQ(harness.backendField(old.address(), "state"), "leaving");
    EXPECT_EQ(harness.backendField(old.address(), "terminating_fallback"), "true");
    EXPECT_EQ(test.metric("readygate_service_terminating_fallback_backends{service=\"web\"}"), 1);
  }
  waitUntil([&] { return canConnect(fresh.host, fresh.port); }, 5s);
  httpGet(fresh.host, fresh.port, "/control/ready/on");
  test.publish(fresh, true);
  EXPECT_TRUE(harness.waitForState(fresh.address(), "ready"));
  test.unpublish(old);
  EXPECT_TRUE(waitUntil([&] { return harness.backendState(old.address()).empty(); }, 10s));
  old.process->signal(SIGTERM);
  EXPECT_TRUE(test.waitForRequests(load, 1000));
  load.finish();
  EXPECT_EQ(test.metric("readygate_service_terminating_fallbacks_total{service=\"web\"}"),
            fallback ? 1 : 0);
  return {load.ok(), load.failed()};
}

}  // namespace

TEST_F(KubernetesDiscoveryTest, AOneReplicaRollKeepsTheTerminatingPodServingUntilTheNewIsReady) {
  LoadOutcome run = oneReplicaRolled(*this, harness_, true);
  EXPECT_EQ(run.failed, 0) << "ok " << run.ok;
}

TEST_F(KubernetesDiscoveryTest, AOneReplicaRollWithoutTheFallbackLoses) {
  LoadOutcome run = oneReplicaRolled(*this, harness_, false);
  EXPECT_GT(run.failed, 0);
}

namespace {

// Scenario 6: every pod terminating (a Deployment scaled to zero, a node drained): the
// serving ones carry the traffic as kube-proxy's fallback, counted.
LoadOutcome terminatingOnly(KubernetesDiscoveryTest& test, ProxyHarness& harness,
                            bool fallback) {
  std::vector<FakePod*> pods{&harness.startPod("a"), &harness.startPod("b")};
  test.publishReady(pods);
  test.startProxy(kProbe, fallback ? "" : ", terminatingFallback: false");
  for (FakePod* pod : pods) EXPECT_TRUE(harness.waitForState(pod->address(), "ready"));
  HttpLoad load;
  load.start(test.port(), 10, "/");
  EXPECT_TRUE(test.waitForRequests(load, 1000));
  test.terminate(pods);
  for (FakePod* pod : pods) {
    EXPECT_TRUE(waitForReason(harness, pod->address(), "terminating"));
  }
  EXPECT_TRUE(test.waitForRequests(load, 2000));
  load.finish();
  if (fallback) {
    for (FakePod* pod : pods) {
      EXPECT_EQ(harness.backendField(pod->address(), "terminating_fallback"), "true");
    }
    EXPECT_EQ(test.metric("readygate_service_terminating_fallback_backends{service=\"web\"}"), 2);
    EXPECT_EQ(test.metric("readygate_service_terminating_fallbacks_total{service=\"web\"}"), 1);
  }
  return {load.ok(), load.failed()};
}

}  // namespace

TEST_F(KubernetesDiscoveryTest, WhenOnlyTerminatingPodsAreLeftTheyServeCounted) {
  LoadOutcome run = terminatingOnly(*this, harness_, true);
  EXPECT_EQ(run.failed, 0) << "ok " << run.ok;
}

TEST_F(KubernetesDiscoveryTest, WhenOnlyTerminatingPodsAreLeftWithoutTheFallbackLoses) {
  LoadOutcome run = terminatingOnly(*this, harness_, false);
  EXPECT_GT(run.failed, 0);
}

namespace {

/// Each backend's state and when it entered it: equal before and after means no backend
/// changed state in between.
std::string statesOf(ProxyHarness& harness) {
  auto status = nlohmann::json::parse(harness.admin("/status"), nullptr, false);
  std::string out;
  if (!status.is_object()) return "?";
  for (const auto& backend : status["services"][0]["backends"]) {
    out += backend["address"].get<std::string>() + "=" + backend["state"].get<std::string>() +
           "@" + backend["since"].get<std::string>() + " ";
  }
  return out;
}

}  // namespace

// Scenario 2: faults in the API conversation mid-rollout: a dropped watch, a 410 as an
// ERROR event, a 410 as the HTTP status, a token rotation. Traffic flows and no backend
// changes state because of them.
TEST_F(KubernetesDiscoveryTest, WatchFaultsAndATokenRotationChangeNoBackendAndLoseNothing) {
  std::vector<FakePod*> pods{&harness_.startPod("a"), &harness_.startPod("b")};
  publishReady(pods);
  startProxy(kProbe);
  for (FakePod* pod : pods) ASSERT_TRUE(harness_.waitForState(pod->address(), "ready"));
  std::string before = statesOf(harness_);
  HttpLoad load;
  load.start(port(), 10, "/");
  ASSERT_TRUE(waitForRequests(load, 500));
  auto series = [](const std::string& name, const std::string& label) {
    return name + "{service=\"web\",source=\"kubernetes\"," + label + "}";
  };
  auto watchAgain = [&] {
    size_t watches = watchRequests();
    EXPECT_EQ(api_->control("POST", "/drop-watches", "{}"), 200);
    return waitUntil([&] { return watchRequests() > watches; }, 15s);
  };
  // A dropped watch: watched again from where it was, no list.
  EXPECT_TRUE(watchAgain()) << api_->requests();
  // 410 as an ERROR event, then as the HTTP status: listed again, the set applied whole.
  EXPECT_EQ(api_->control("POST", "/mode", R"({"goneAs":"event"})"), 200);
  EXPECT_EQ(api_->control("POST", "/compact", "{}"), 200);
  EXPECT_TRUE(watchAgain());
  EXPECT_TRUE(waitForMetricAtLeast(
      series("readygate_kubernetes_relists_total", "cause=\"gone_event\""), 1));
  EXPECT_TRUE(waitUntil([&] { return watchRequests() >= 4; }, 15s)) << api_->requests();
  EXPECT_EQ(api_->control("POST", "/mode", R"({"goneAs":"status"})"), 200);
  EXPECT_EQ(api_->control("POST", "/compact", "{}"), 200);
  EXPECT_TRUE(watchAgain());
  EXPECT_TRUE(waitForMetricAtLeast(
      series("readygate_kubernetes_relists_total", "cause=\"gone_status\""), 1));
  // The token rotates: the server takes only the new one, the file holds it; the 401 makes
  // readygate read the file again.
  EXPECT_EQ(api_->control("POST", "/tokens", R"({"accept":["token-2"]})"), 200);
  harness_.writeFile("token", "token-2\n");
  EXPECT_EQ(api_->control("POST", "/drop-watches", "{}"), 200);
  EXPECT_TRUE(waitForMetricAtLeast(
      series("readygate_kubernetes_api_errors_total", "code=\"401\""), 1));
  // Still following: a new pod shows up.
  FakePod& c = harness_.startPod("c");
  publish(c, true);
  EXPECT_TRUE(harness_.waitForState(c.address(), "ready")) << harness_.admin("/status");
  EXPECT_TRUE(waitForRequests(load, 500));
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
  std::string after = statesOf(harness_);
  EXPECT_EQ(after.substr(0, before.size()), before) << "a backend changed state";
  EXPECT_EQ(metric(series("readygate_kubernetes_watch_events_total", "type=\"ERROR\"")), 1);
  EXPECT_EQ(metric("readygate_kubernetes_synced{service=\"web\",source=\"kubernetes\"}"), 1);
  double sinceLast =
      metric("readygate_kubernetes_seconds_since_last_event{service=\"web\",source=\"kubernetes\"}");
  EXPECT_GE(sinceLast, 0);
  EXPECT_LT(sinceLast, 60);

  EXPECT_GE(metric(series("readygate_kubernetes_relists_total", "cause=\"initial\"")), 1);
}

// Scenario 5: the API server down for 10 s: the pool stays as it was, traffic flows, the
// errors are counted; back up, changes are followed again.
TEST_F(KubernetesDiscoveryTest, AnApiServerDownForTenSecondsKeepsThePoolAndCountsErrors) {
  std::vector<FakePod*> pods{&harness_.startPod("a"), &harness_.startPod("b")};
  publishReady(pods);
  startProxy(kProbe);
  for (FakePod* pod : pods) ASSERT_TRUE(harness_.waitForState(pod->address(), "ready"));
  std::string before = statesOf(harness_);
  HttpLoad load;
  load.start(port(), 10, "/");
  ASSERT_TRUE(waitForRequests(load, 500));
  const std::string unanswered =
      "readygate_kubernetes_api_errors_total{service=\"web\",source=\"kubernetes\",code=\"0\"}";
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":true})"), 200);
  auto downAt = std::chrono::steady_clock::now();
  // Down for 10 s, by the clock: the scenario's length, not a wait for readygate.
  EXPECT_TRUE(waitUntil(
      [&] {
        return std::chrono::steady_clock::now() - downAt >= 10s && metric(unanswered) >= 2;
      },
      20s));
  EXPECT_EQ(statesOf(harness_), before) << "the outage changed the pool";
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":false})"), 200);
  // Back: the next change is followed (after at most the 30 s backoff cap).
  api_->deleteSlice("shop", "web-" + pods[1]->name);
  EXPECT_TRUE(waitUntil([&] { return harness_.backendState(pods[1]->address()).empty(); }, 45s));
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
  EXPECT_EQ(harness_.backendState(pods[0]->address()), "ready");
}

namespace {

// Scenario 2's token rotation on its own, with its protection (the token file read again
// after a 401) and without it (a token written into the kubeconfig cannot rotate): after
// the rotation a pod is scaled away; readygate must have followed it out before it stops.
LoadOutcome tokenRotationThenScaleDown(KubernetesDiscoveryTest& test, ProxyHarness& harness,
                                       TestKubeApiServer& api, bool tokenFile) {
  if (!tokenFile) {
    test.useKubeconfig(api.writeKubeconfig(harness, "", "shop", "token-1"));
  }
  std::vector<FakePod*> pods{&harness.startPod("a"), &harness.startPod("b")};
  test.publishReady(pods);
  test.startProxy(kProbe);
  for (FakePod* pod : pods) EXPECT_TRUE(harness.waitForState(pod->address(), "ready"));
  HttpLoad load;
  // Responses of 1 MB take a while through the proxy: when b stops with the scale-down
  // missed, some of them are on their way and are cut (a small GET not yet answered
  // would go to a again, and whether any was mid-response was luck).
  load.start(test.port(), 10, "/bytes/1000000");
  EXPECT_TRUE(test.waitForRequests(load, 200));
  EXPECT_EQ(api.control("POST", "/tokens", R"({"accept":["token-2"]})"), 200);
  harness.writeFile("token", "token-2\n");
  EXPECT_EQ(api.control("POST", "/drop-watches", "{}"), 200);
  const std::string rejected =
      "readygate_kubernetes_api_errors_total{service=\"web\",source=\"kubernetes\",code=\"401\"}";
  EXPECT_TRUE(test.waitForMetricAtLeast(rejected, 1));
  // Scaled down: b terminates, leaves the slices, then stops.
  test.terminate({pods[1]});
  test.unpublish(*pods[1]);
  if (tokenFile) {
    EXPECT_TRUE(
        waitUntil([&] { return harness.backendState(pods[1]->address()).empty(); }, 10s));
  } else {
    // Nothing is followed any more: the second 401 shows the news cannot have arrived.
    EXPECT_TRUE(test.waitForMetricAtLeast(rejected, 2));
    EXPECT_EQ(harness.backendState(pods[1]->address()), "ready");
  }
  pods[1]->process->signal(SIGTERM);
  EXPECT_TRUE(test.waitForRequests(load, 200));
  load.finish();
  return {load.ok(), load.failed()};
}

}  // namespace

TEST_F(KubernetesDiscoveryTest, AfterATokenRotationTheScaleDownIsFollowedAndLosesNothing) {
  LoadOutcome run = tokenRotationThenScaleDown(*this, harness_, *api_, true);
  EXPECT_EQ(run.failed, 0) << "ok " << run.ok;
}

TEST_F(KubernetesDiscoveryTest, WithATokenThatCannotRotateTheScaleDownIsMissedAndLoses) {
  LoadOutcome run = tokenRotationThenScaleDown(*this, harness_, *api_, false);
  EXPECT_GT(run.failed, 0);
}

// A reload that replaces the source while the API server is down: the new source cannot
// list, so the old one's set stands, whole; once the server is back the new source lists
// and follows changes.
TEST_F(KubernetesDiscoveryTest, AReloadThatReplacesTheSourceKeepsTheOldSetUntilTheNewHasListed) {
  std::vector<FakePod*> pods{&harness_.startPod("a"), &harness_.startPod("b")};
  publishReady(pods);
  startProxy(kProbe);
  for (FakePod* pod : pods) ASSERT_TRUE(harness_.waitForState(pod->address(), "ready"));
  std::string before = statesOf(harness_);
  HttpLoad load;
  load.start(port(), 10, "/");
  ASSERT_TRUE(waitForRequests(load, 500));
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":true})"), 200);
  // The harness added the admin block at start; a reload keeps it.
  harness_.writeFile("readygate.yaml",
                     "admin: {listen: \"127.0.0.1:" + std::to_string(harness_.adminPort()) +
                         "\"}\n" + proxyConfig(kProbe, ", terminatingFallback: false"));
  std::string reply = harness_.adminPost("/reload");
  EXPECT_NE(reply.find("\"applied\":true"), std::string::npos) << reply << harness_.readygateLog();
  ASSERT_TRUE(waitForRequests(load, 1000));
  EXPECT_EQ(statesOf(harness_), before) << "the reload changed the pool before the new source listed";
  EXPECT_EQ(metric("readygate_kubernetes_synced{service=\"web\",source=\"kubernetes\"}"), 0);
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":false})"), 200);
  EXPECT_TRUE(waitUntil(
      [&] { return metric("readygate_kubernetes_synced{service=\"web\",source=\"kubernetes\"}") == 1; },
      45s));
  EXPECT_EQ(statesOf(harness_), before) << "the new source's first list changed the pool";
  unpublish(*pods[1]);
  EXPECT_TRUE(waitUntil([&] { return harness_.backendState(pods[1]->address()).empty(); }, 10s));
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
}

// Scenario 5's counterpart: what the kept set protects against. A readygate that starts
// while the API server is down has no set to keep: it serves nothing (503s) and says why,
// until the server is back; then it lists and serves.
TEST_F(KubernetesDiscoveryTest, StartedWhileTheApiServerIsDownThereIsNoSetToKeepAndItLoses) {
  std::vector<FakePod*> pods{&harness_.startPod("a"), &harness_.startPod("b")};
  publishReady(pods);
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":true})"), 200);
  startProxy(kProbe);
  HttpLoad load;
  load.start(port(), 10, "/");
  EXPECT_TRUE(waitForRequests(load, 200));
  EXPECT_TRUE(waitUntil(
      [&] {
        auto status = nlohmann::json::parse(harness_.admin("/status"), nullptr, false);
        return status.is_object() &&
               !status["services"][0]["sources"][1]["last_error"].get<std::string>().empty();
      },
      10s))
      << harness_.admin("/status");
  EXPECT_EQ(metric("readygate_kubernetes_synced{service=\"web\",source=\"kubernetes\"}"), 0);
  EXPECT_EQ(api_->control("POST", "/mode", R"({"down":false})"), 200);
  for (FakePod* pod : pods) EXPECT_TRUE(harness_.waitForState(pod->address(), "ready", 45s));
  load.finish();
  EXPECT_GT(load.failed(), 0) << "with nothing to keep, nothing could serve";
  EXPECT_GT(load.ok(), 0) << "once listed, the pods serve";
}
