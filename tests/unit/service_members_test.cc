// ServiceMembers on a manual clock with injected checks: membership diff, rollout guard,
// admin state, fail-open, removed backends, probe changes on reload.
#include "proxy/health/service_members.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "config/config_loader.h"
#include "proxy/admin/console_view.h"
#include "proxy/core/event_loop.h"
#include "proxy/upstream/backend_lease.h"

namespace readygate {
namespace {

/// Stands in for the probing of one backend: remembers which probes run; the test
/// hands results in through the hooks.
struct FakeChecks : HealthChecks {
  explicit FakeChecks(std::map<ProbeKind, std::shared_ptr<const ProbeSpec>>* probes)
      : probes(probes) {}
  void setProbe(ProbeKind kind, std::shared_ptr<const ProbeSpec> spec) override {
    (*probes)[kind] = std::move(spec);
  }
  void stop() override { probes->clear(); }
  std::map<ProbeKind, std::shared_ptr<const ProbeSpec>>* probes;
};

/// A DrainTarget for leases held by the test.
struct NoTarget : DrainTarget {
  void closeForDrain() override { closed = true; }
  bool closed = false;
};

SocketAddress address(const std::string& text) {
  return std::get<SocketAddress>(SocketAddress::parse(text));
}

class ServiceMembersTest : public ::testing::Test {
 protected:
  std::shared_ptr<const ServiceConfig> config(const std::string& serviceYaml) {
    ConfigLoadResult loaded = loadConfigText("services:\n" + serviceYaml);
    EXPECT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].toString());
    return std::make_shared<const ServiceConfig>(loaded.config->services.at(0));
  }

  ServiceMembers& start(std::shared_ptr<const ServiceConfig> serviceConfig) {
    auto service = std::make_shared<Service>(serviceConfig->name,
                                             ServiceSettings::from(*serviceConfig, nullptr, {}));
    HealthCheckFactory factory = [this](const SocketAddress& backend, HealthCheckHooks hooks) {
      hooks_[backend.toString()] = hooks;
      return std::make_unique<FakeChecks>(&probes_[backend.toString()]);
    };
    members_ = std::make_unique<ServiceMembers>(loop_.base(), clock_, factory, service,
                                                std::move(serviceConfig));
    members_->setEventLog(&events_);
    members_->start();
    return *members_;
  }

  /// One probe result for one backend, as its checks would report it.
  void result(const std::string& backend, ProbeKind kind, bool success,
              const std::string& reason = "") {
    clock_.advance(0.1);
    ProbeResult outcome = success ? ProbeResult::passed() : ProbeResult::failed(reason);
    hooks_.at(backend).onResult(kind, outcome);
  }

  const BackendView* view(const std::string& backend) {
    const auto* member = members_->find(address(backend));
    return member ? &member->view : nullptr;
  }

  std::vector<std::string> rotation() {
    std::vector<std::string> names;
    for (const auto& backend : members_->service().snapshot()->eligible) {
      names.push_back(backend->name());
    }
    return names;
  }

  EventLoop loop_;
  ManualClock clock_;
  std::map<std::string, HealthCheckHooks> hooks_;
  std::map<std::string, std::map<ProbeKind, std::shared_ptr<const ProbeSpec>>> probes_;
  StateEventLog events_;  // before members_, which points to it
  std::unique_ptr<ServiceMembers> members_;
};

const char* kTwoWithReadiness = R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002"]}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 1}
)";

TEST_F(ServiceMembersTest, ReadinessGatesRotationAndEveryViewSaysWhy) {
  ServiceMembers& members = start(config(kTwoWithReadiness));
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Starting);
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  EXPECT_EQ(members.readyCount(), 1u);
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::NotReady);
  EXPECT_EQ(view("127.0.0.1:5001")->cause, "readiness");
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "http_503");
  EXPECT_TRUE(rotation().empty());
  const auto* member = members.find(address("127.0.0.1:5001"));
  EXPECT_EQ((member->transitions.at({EffectiveState::Ready, EffectiveState::NotReady})), 1u);
}

// Before: a starting backend whose first probes failed showed their reason with an empty
// cause, as if no probe had spoken.
TEST_F(ServiceMembersTest, AStartingBackendsReasonNamesTheProbeThatGaveIt) {
  start(config(kTwoWithReadiness));
  EXPECT_EQ(view("127.0.0.1:5001")->cause, "");
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "connect_refused");
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Starting);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "connect_refused");
  EXPECT_EQ(view("127.0.0.1:5001")->cause, "readiness");
}

TEST_F(ServiceMembersTest, FailOpenIsInRotationButNeverToWhatAnOperatorTookOut) {
  ServiceMembers& members =
      start(config(std::string(kTwoWithReadiness) + "    whenNoneReady: all\n"));
  members.setAdminState(address("127.0.0.1:5002"), AdminState::Disabled);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  EXPECT_TRUE(members.service().snapshot()->failOpen);
  EXPECT_TRUE(view("127.0.0.1:5001")->inRotation);
  EXPECT_TRUE(view("127.0.0.1:5001")->failingOpen);
  EXPECT_FALSE(view("127.0.0.1:5002")->inRotation);
  // A ready backend ends the fail-open.
  members.setAdminState(address("127.0.0.1:5002"), AdminState::Enabled);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5002"});
  EXPECT_FALSE(members.service().snapshot()->failOpen);
  EXPECT_FALSE(view("127.0.0.1:5001")->failingOpen);
}

const char* kGuarded = R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002"]}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 1}
    minReady: 1
)";

TEST_F(ServiceMembersTest, RolloutGuardKeepsTheOldPodUntilANewOneIsReady) {
  ServiceMembers& members = start(config(kGuarded));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  members.setEndpoints({address("127.0.0.1:5003")});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Leaving);
  EXPECT_TRUE(view("127.0.0.1:5001")->heldByMinReady);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  // 5002 never was ready: removed at once, and gone (no connections).
  EXPECT_EQ(view("127.0.0.1:5002"), nullptr);
  result("127.0.0.1:5003", ProbeKind::Readiness, true);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5003"});
  EXPECT_EQ(view("127.0.0.1:5001"), nullptr);
}

// Before: a healthy backend an operator disabled counted toward minReady, so the old
// pod was let go while nothing could take traffic.
TEST_F(ServiceMembersTest, ADisabledBackendDoesNotSatisfyMinReady) {
  ServiceMembers& members = start(config(kGuarded));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  members.setAdminState(address("127.0.0.1:5002"), AdminState::Disabled);
  EXPECT_EQ(members.readyCount(), 1u);
  members.setEndpoints({address("127.0.0.1:5002")});
  EXPECT_EQ(members.readyCount(), 0u);
  ASSERT_NE(view("127.0.0.1:5001"), nullptr);
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Leaving);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  members.setAdminState(address("127.0.0.1:5002"), AdminState::Enabled);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5002"});
}

TEST_F(ServiceMembersTest, ARemovedBackendStaysVisibleUntilItsLastConnectionIsGone) {
  ServiceMembers& members = start(config(kTwoWithReadiness));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  BackendLeases leases;
  NoTarget target;
  auto lease =
      std::make_unique<BackendLease>(members.service().snapshot()->eligible.at(0), leases, target);
  members.setEndpoints({address("127.0.0.1:5002")});
  const auto* removed = members.find(address("127.0.0.1:5001"));
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->view.state, EffectiveState::Removed);
  EXPECT_FALSE(removed->view.inRotation);
  EXPECT_DOUBLE_EQ(removed->closeDeadline, clock_.now() + members.config().drainTimeoutSeconds);
  EXPECT_DOUBLE_EQ(removed->backend->retireDeadline(), removed->closeDeadline);
  EXPECT_EQ(members.configuredCount(), 1u);
  EXPECT_TRUE(rotation().empty());
  EXPECT_TRUE(probes_["127.0.0.1:5001"].empty()) << "a removed backend is still probed";
  // The drain deadline closes the connection through its lease.
  leases.closeExpired(clock_.now() + members.config().drainTimeoutSeconds);
  EXPECT_TRUE(target.closed);
  lease.reset();
  event_base_loop(loop_.base(), EVLOOP_NONBLOCK);     // let the sweep timer's first pass run
  members.setEndpoints({address("127.0.0.1:5002")});  // any refresh sweeps too
  EXPECT_EQ(members.find(address("127.0.0.1:5001")), nullptr);
}

TEST_F(ServiceMembersTest, ListedAgainBeforeItsConnectionsWentItStartsOver) {
  ServiceMembers& members = start(config(kTwoWithReadiness));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  auto backend = members.service().snapshot()->eligible.at(0);
  BackendLeases leases;
  NoTarget target;
  BackendLease lease(backend, leases, target);
  members.setEndpoints({address("127.0.0.1:5002")});
  members.setEndpoints({address("127.0.0.1:5001"), address("127.0.0.1:5002")});
  const auto* member = members.find(address("127.0.0.1:5001"));
  ASSERT_NE(member, nullptr);
  EXPECT_EQ(member->backend, backend);  // the same backend: its connection counts go on
  EXPECT_EQ(member->view.state, EffectiveState::Starting);
  EXPECT_TRUE(std::isinf(backend->retireDeadline()));
}

TEST_F(ServiceMembersTest, UnchangedEndpointsKeepTheirStateAcrossALargeDiff) {
  std::string endpoints;
  std::vector<SocketAddress> all;
  for (int i = 0; i < 3000; ++i) {
    std::string name =
        "127.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":80";
    endpoints += (i ? ", \"" : "\"") + name + "\"";
    all.push_back(address(name));
  }
  ServiceMembers& members = start(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: [)" + endpoints + R"(]}
)"));
  EXPECT_EQ(members.readyCount(), 3000u);  // no readiness probe: ready at once
  const Backend* first = members.find(all[0])->backend.get();
  all.erase(all.begin() + 1);                // one gone
  all.push_back(address("127.0.200.1:80"));  // one new
  members.setEndpoints(all);
  EXPECT_EQ(members.find(all[0])->backend.get(), first);
  EXPECT_EQ(members.readyCount(), 3000u);
  EXPECT_EQ(members.configuredCount(), 3000u);
}

TEST_F(ServiceMembersTest, AChangedProbeRestartsAloneFromTheCurrentVerdict) {
  ServiceMembers& members = start(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
    livenessProbe: {tcpSocket: {}, failureThreshold: 1}
)"));
  ASSERT_EQ(rotation().size(), 1u);
  auto livenessBefore = probes_["127.0.0.1:5001"][ProbeKind::Liveness];
  ASSERT_NE(livenessBefore, nullptr);
  // Adding a readinessProbe: the backend stays ready until the new probe fails.
  members.applyConfig(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
    livenessProbe: {tcpSocket: {}, failureThreshold: 1}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 2}
)"));
  // (Its settings are published by ServiceSet::publishSettings, whole with routes.)
  EXPECT_EQ(rotation().size(), 1u);
  EXPECT_EQ(probes_["127.0.0.1:5001"][ProbeKind::Liveness], livenessBefore);  // untouched
  ASSERT_NE(probes_["127.0.0.1:5001"][ProbeKind::Readiness], nullptr);
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  EXPECT_EQ(rotation().size(), 1u);
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "http_503");
}

const char* kOutliers = R"(
  - name: web
    listen: 127.0.0.1:8080
    mode: http
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"]}
    minReady: 1
    outlierDetection:
      consecutive5xx: 3
      consecutiveConnectFailures: 2
      baseEjectionSeconds: 10
      maxEjectionSeconds: 25
      maxEjectionPercent: 10
)";

TEST_F(ServiceMembersTest, OutliersAreEjectedForAGrowingTimeAndCountAsNothing) {
  ServiceMembers& members = start(config(kOutliers));
  ASSERT_EQ(members.readyCount(), 3u);
  Backend& bad = *members.find(address("127.0.0.1:5001"))->backend;
  bad.responded(500);
  bad.responded(502);
  members.checkOutliers();
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Ready);  // two: not yet
  bad.responded(503);
  members.checkOutliers();
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Ejected);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "consecutive_5xx");
  EXPECT_EQ(view("127.0.0.1:5001")->cause, "outlier");
  EXPECT_EQ(rotation().size(), 2u);
  EXPECT_EQ(members.readyCount(), 2u);  // an ejected backend does not count toward minReady
  // A second one may not go: 10 % of three, but always one.
  Backend& alsoBad = *members.find(address("127.0.0.1:5002"))->backend;
  alsoBad.connectFailed();
  alsoBad.connectFailed();
  members.checkOutliers();
  EXPECT_EQ(view("127.0.0.1:5002")->state, EffectiveState::Ready);
  // Passing probes do not end an ejection; its time does.
  clock_.advance(9.9);
  members.checkOutliers();
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Ejected);
  clock_.advance(0.2);
  members.checkOutliers();  // 5001 returns, and then 5002 (still failing) may go
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Ready);
  EXPECT_EQ(view("127.0.0.1:5002")->state, EffectiveState::Ejected);
  EXPECT_EQ(view("127.0.0.1:5002")->reason, "consecutive_connect_failures");
  // The second ejection of the same backend lasts twice as long (capped at 25 s).
  clock_.advance(10.1);
  members.checkOutliers();
  for (int i = 0; i < 3; ++i) bad.responded(500);
  members.checkOutliers();
  const auto* again = members.find(address("127.0.0.1:5001"));
  EXPECT_EQ(again->view.state, EffectiveState::Ejected);
  EXPECT_DOUBLE_EQ(again->ejectedUntil - clock_.now(), 20);
  EXPECT_EQ(again->ejections, 2u);
}

// Issue 17, finding 8: with two of four backends still starting, maxEjectionPercent: 50
// was taken over all four, so one client's 5xx ejected both ready ones and every other
// client got 503. The cap counts the backends that are ready, and the last ready one stays.
TEST_F(ServiceMembersTest, TheEjectionCapCountsReadyBackendsAndNeverTakesTheLast) {
  ServiceMembers& members = start(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    mode: http
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003", "127.0.0.1:5004"]}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 1}
    outlierDetection: {consecutive5xx: 3, maxEjectionPercent: 50}
)"));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  ASSERT_EQ(members.readyCount(), 2u);
  for (const char* ready : {"127.0.0.1:5001", "127.0.0.1:5002"}) {
    Backend& backend = *members.find(address(ready))->backend;
    for (int i = 0; i < 10; ++i) backend.responded(500);
  }
  members.checkOutliers();
  int ejected = 0;
  for (const char* ready : {"127.0.0.1:5001", "127.0.0.1:5002"}) {
    ejected += view(ready)->state == EffectiveState::Ejected ? 1 : 0;
  }
  EXPECT_EQ(ejected, 1);
  EXPECT_EQ(rotation().size(), 1u);
  // Alone in rotation, the other is never ejected, however it answers.
  for (const char* ready : {"127.0.0.1:5001", "127.0.0.1:5002"}) {
    Backend& backend = *members.find(address(ready))->backend;
    for (int i = 0; i < 10; ++i) backend.responded(500);
  }
  members.checkOutliers();
  EXPECT_EQ(rotation().size(), 1u);
  // Two more ready: four in all, so two may be out at once.
  result("127.0.0.1:5003", ProbeKind::Readiness, true);
  result("127.0.0.1:5004", ProbeKind::Readiness, true);
  members.checkOutliers();
  EXPECT_EQ(rotation().size(), 2u);
}

TEST_F(ServiceMembersTest, SlowStartRampsFromTheMomentABackendBecomesReady) {
  start(config(std::string(kTwoWithReadiness) + "    slowStartSeconds: 10\n"));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  double readyAt = clock_.now();
  clock_.advance(5);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  auto snapshot = members_->service().snapshot();
  ASSERT_EQ(snapshot->eligible.size(), 2u);
  EXPECT_DOUBLE_EQ(snapshot->slowStartSeconds, 10);
  EXPECT_DOUBLE_EQ(snapshot->readySince[0], readyAt);
  EXPECT_NEAR(snapshot->weight(0, clock_.now()), 0.51, 1e-9);
  EXPECT_DOUBLE_EQ(snapshot->weight(1, clock_.now()), RotationSnapshot::kMinWeight);
  // Out and back in: the ramp starts over.
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  snapshot = members_->service().snapshot();
  EXPECT_DOUBLE_EQ(snapshot->weight(0, clock_.now()), RotationSnapshot::kMinWeight);
}

TEST_F(ServiceMembersTest, ARetiredServiceRemovesEveryBackendAndFinishes) {
  ServiceMembers& members = start(config(kTwoWithReadiness));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  members.retire();
  EXPECT_TRUE(rotation().empty());
  EXPECT_TRUE(members.finished());
}

// The cluster's conditions beside the probes (the Kubernetes source).
DiscoveredEndpoint pod(const std::string& backend, bool ready, bool serving, bool terminating) {
  ClusterConditions conditions;
  conditions.ready = ready;
  conditions.serving = serving;
  conditions.terminating = terminating;
  conditions.pod = "web-" + backend.substr(backend.size() - 1);
  return DiscoveredEndpoint{address(backend), conditions};
}
DiscoveredEndpoint readyPod(const std::string& backend) { return pod(backend, true, true, false); }
DiscoveredEndpoint newPod(const std::string& backend) { return pod(backend, false, false, false); }
DiscoveredEndpoint terminatingPod(const std::string& backend) {
  return pod(backend, false, true, true);
}

const char* kKubernetes = R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: []}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 1}
)";

TEST_F(ServiceMembersTest, InRotationOnlyWhenTheClusterAndTheProbesBothSayReady) {
  ServiceMembers& members = start(config(kKubernetes));
  members.setEndpoints(std::vector{newPod("127.0.0.1:5001")});
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  // Our probe passes, the cluster says not ready: out, and the view says whose word it is.
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Starting);
  EXPECT_EQ(view("127.0.0.1:5001")->cause, "kubernetes");
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "k8s_not_ready");
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5001")});
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  // The cluster says ready, the probe fails: out with the probe's reason.
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "http_503");
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  // Ready once, then the cluster takes it out: not_ready, not starting.
  members.setEndpoints(std::vector{newPod("127.0.0.1:5001")});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::NotReady);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "k8s_not_ready");
  ASSERT_TRUE(members.find(address("127.0.0.1:5001"))->cluster);
  EXPECT_EQ(members.find(address("127.0.0.1:5001"))->cluster->pod, "web-1");
}

TEST_F(ServiceMembersTest, WithoutProbesTheClusterAloneDecides) {
  ServiceMembers& members = start(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: []}
)"));
  members.setEndpoints(std::vector{newPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5002"});
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  EXPECT_EQ(rotation().size(), 2u);
}

TEST_F(ServiceMembersTest, ATerminatingPodGetsNoNewConnectionsAndIsProbedUntilItLeaves) {
  ServiceMembers& members = start(config(kKubernetes));
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5002"});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Removed);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "terminating");
  // Still listed: still probed, still shown, its connections not cut.
  EXPECT_FALSE(probes_["127.0.0.1:5001"].empty());
  EXPECT_TRUE(std::isinf(members.find(address("127.0.0.1:5001"))->backend->retireDeadline()));
  // Gone from the slices: now it drains as any removed backend.
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5002")});
  EXPECT_EQ(view("127.0.0.1:5001"), nullptr);
  EXPECT_TRUE(probes_["127.0.0.1:5001"].empty());
}

TEST_F(ServiceMembersTest, TerminatingPodsAreSpilloverWhileMinReadyIsUnmet) {
  ServiceMembers& members = start(config(std::string(kKubernetes) + "    minReady: 2\n"));
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  // maxUnavailable 1: an old pod terminates before its replacement is ready.
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002"),
                                   newPod("127.0.0.1:5003")});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Leaving);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "terminating");
  EXPECT_TRUE(view("127.0.0.1:5001")->heldByMinReady);
  EXPECT_EQ(rotation().size(), 2u);
  // The cluster calls the new pod ready; our probe has not passed yet: still held.
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002"),
                                   readyPod("127.0.0.1:5003")});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Leaving);
  result("127.0.0.1:5003", ProbeKind::Readiness, true);
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Removed);
  EXPECT_EQ(rotation(), (std::vector<std::string>{"127.0.0.1:5002", "127.0.0.1:5003"}));
  // Let go once: a later shortfall does not bring a terminating pod back.
  result("127.0.0.1:5003", ProbeKind::Readiness, false, "http_503");
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Removed);
}

TEST_F(ServiceMembersTest, WhenOnlyTerminatingPodsServeTheyAreTheFallbackCountedAndShown) {
  // Traefik's failing case: a one-replica Deployment rolled, minReady not set.
  ServiceMembers& members = start(config(kKubernetes));
  members.setEndpoints(std::vector{readyPod("127.0.0.1:5001")});
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), newPod("127.0.0.1:5002")});
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5001"});
  EXPECT_EQ(view("127.0.0.1:5001")->state, EffectiveState::Leaving);
  EXPECT_TRUE(view("127.0.0.1:5001")->terminatingFallback);
  EXPECT_EQ(members.terminatingFallback(), 1u);
  EXPECT_EQ(members.terminatingFallbacks(), 1u);
  // One that no longer serves, or fails our probe, is no fallback.
  members.setEndpoints(std::vector{pod("127.0.0.1:5001", false, false, true),
                                   newPod("127.0.0.1:5002")});
  EXPECT_TRUE(rotation().empty());
  EXPECT_EQ(members.terminatingFallback(), 0u);
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), newPod("127.0.0.1:5002")});
  EXPECT_EQ(members.terminatingFallbacks(), 2u);
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  EXPECT_TRUE(rotation().empty());
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  EXPECT_EQ(members.terminatingFallbacks(), 3u);
  // The new pod ready by both: the fallback ends.
  members.setEndpoints(std::vector{terminatingPod("127.0.0.1:5001"), readyPod("127.0.0.1:5002")});
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  EXPECT_EQ(rotation(), std::vector<std::string>{"127.0.0.1:5002"});
  EXPECT_FALSE(view("127.0.0.1:5001")->terminatingFallback);
  EXPECT_EQ(members.terminatingFallback(), 0u);
}

TEST_F(ServiceMembersTest, AnAddressListedTwiceTakesTheConditionsOfTheCopyThatHasThem) {
  start(config(kKubernetes));
  members_->setEndpoints(
      std::vector{DiscoveredEndpoint{address("127.0.0.1:5001"), {}}, newPod("127.0.0.1:5001")});
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  EXPECT_EQ(view("127.0.0.1:5001")->reason, "k8s_not_ready");
}

// The console's timeline: one event per change of state, with its cause and reason, in
// order, from a backend's appearance to the moment its last connection is gone.
TEST_F(ServiceMembersTest, EveryStateChangeGoesToTheEventLogWithItsCauseAndReason) {
  ServiceMembers& members = start(config(kTwoWithReadiness));
  result("127.0.0.1:5001", ProbeKind::Readiness, true);
  result("127.0.0.1:5001", ProbeKind::Readiness, true);  // no change: no event
  result("127.0.0.1:5001", ProbeKind::Readiness, false, "http_503");
  members.setAdminState(address("127.0.0.1:5002"), AdminState::Draining);
  members.setEndpoints({address("127.0.0.1:5001")});  // 5002 has no connection: gone at once
  StateEventLog::Page page = events_.since(0);
  std::vector<std::string> lines;
  for (const StateEvent* event : page.events) {
    EXPECT_EQ(event->service, "web");
    lines.push_back(event->backend + " " + event->from + ">" + event->to + " " + event->cause +
                    " " + event->reason);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "127.0.0.1:5001 new>starting added awaiting_probe",
                       "127.0.0.1:5002 new>starting added awaiting_probe",
                       "127.0.0.1:5001 starting>ready readiness ok",
                       "127.0.0.1:5001 ready>not_ready readiness http_503",
                       "127.0.0.1:5002 starting>draining admin drain",
                       "127.0.0.1:5002 draining>removed config removed",
                       "127.0.0.1:5002 removed>gone connections_closed removed",
                   }));
  EXPECT_EQ(page.next, 8u);
  EXPECT_FALSE(page.truncated);
}

TEST_F(ServiceMembersTest, EachBackendKeepsItsLastSixtyProbeLatenciesAndWhichFailed) {
  start(config(kTwoWithReadiness));
  for (int i = 0; i < 70; ++i) {
    ProbeResult outcome = i == 65 ? ProbeResult::failed("http_503") : ProbeResult::passed();
    outcome.latencySeconds = i / 1000.0;
    clock_.advance(0.1);
    hooks_.at("127.0.0.1:5001").onResult(ProbeKind::Readiness, outcome);
  }
  std::vector<LatencyHistory::Sample> samples =
      members_->find(address("127.0.0.1:5001"))->latencies.samples();
  ASSERT_EQ(samples.size(), LatencyHistory::kSamples);
  EXPECT_FLOAT_EQ(samples.front().millis, 10);  // the 11th probe: the first ten fell out
  EXPECT_FLOAT_EQ(samples.back().millis, 69);
  for (size_t i = 0; i < samples.size(); ++i) EXPECT_EQ(samples[i].failed, i == 55) << i;
  EXPECT_TRUE(members_->find(address("127.0.0.1:5002"))->latencies.samples().empty());
}

TEST_F(ServiceMembersTest, TheConsoleViewCountsStatesAndServesOnePageOfBackends) {
  start(config(R"(
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"]}
    readinessProbe: {httpGet: {path: /ready}, failureThreshold: 1}
)"));
  result("127.0.0.1:5002", ProbeKind::Readiness, true);
  std::vector<std::unique_ptr<ServiceMembers>> services;
  services.push_back(std::move(members_));
  ConsoleQuery query;
  query.summary = true;
  query.service = "web";
  query.offset = 1;
  query.limit = 1;
  query.eventsSince = 1;
  std::optional<std::string> view = renderConsoleView(services, events_, query, clock_.now());
  ASSERT_TRUE(view);
  EXPECT_NE(view->find(R"("states":{"starting":2,"ready":1,"not_ready":0)"), std::string::npos)
      << *view;
  // One backend: the second, with its sparkline; the whole /status has none.
  EXPECT_NE(view->find(R"("page":{"service":"web","total":3,"offset":1,"limit":1,"backends":[{"address":"127.0.0.1:5002")"),
            std::string::npos)
      << *view;
  EXPECT_EQ(view->find("127.0.0.1:5003\",\"state"), std::string::npos) << *view;
  EXPECT_NE(view->find(R"("probe_latencies_ms":[0])"), std::string::npos) << *view;
  EXPECT_NE(view->find(R"("events":{"events":[{"seq":1,)"), std::string::npos) << *view;
  EXPECT_NE(view->find(R"("next":5,"truncated":false},"events_next":5)"), std::string::npos)
      << *view;
  // Only what was asked for.
  ConsoleQuery countsOnly;
  countsOnly.summary = true;
  std::string counts = *renderConsoleView(services, events_, countsOnly, clock_.now());
  EXPECT_EQ(counts.find("\"page\""), std::string::npos);
  EXPECT_EQ(counts.find("\"events\""), std::string::npos);
  EXPECT_EQ(counts.find("\"address\""), std::string::npos);
  ConsoleQuery unknown;
  unknown.service = "nope";
  EXPECT_FALSE(renderConsoleView(services, events_, unknown, clock_.now()));
  members_ = std::move(services[0]);
}

}  // namespace
}  // namespace readygate
