// ReadinessTracker: every transition, thresholds, initial delays, startup gating and the
// liveness restart, on a manual clock.
#include "proxy/health/readiness_tracker.h"

#include <gtest/gtest.h>

#include "proxy/core/clock.h"

namespace readygate {
namespace {

ProbeSpec spec(int successThreshold = 1, int failureThreshold = 3, double initialDelay = 0) {
  ProbeSpec probe;
  probe.successThreshold = successThreshold;
  probe.failureThreshold = failureThreshold;
  probe.initialDelaySeconds = initialDelay;
  probe.periodSeconds = 1;
  return probe;
}

/// The tracker with copies of these specs (null: not configured), in kubelet order.
ReadinessTracker makeTracker(const ProbeSpec* startup, const ProbeSpec* readiness,
                             const ProbeSpec* liveness, double now) {
  auto copy = [](const ProbeSpec* spec) {
    return spec ? std::make_shared<const ProbeSpec>(*spec) : nullptr;
  };
  ProbeSpecs specs;
  specs[static_cast<size_t>(ProbeKind::Startup)] = copy(startup);
  specs[static_cast<size_t>(ProbeKind::Readiness)] = copy(readiness);
  specs[static_cast<size_t>(ProbeKind::Liveness)] = copy(liveness);
  return ReadinessTracker(specs, now);
}

ProbeResult ok() { return ProbeResult::passed(); }
ProbeResult fail(const char* reason = "http_503") { return ProbeResult::failed(reason); }

TEST(ReadinessTracker, WithoutProbesABackendIsReadyAtOnce) {
  ReadinessTracker tracker = makeTracker(nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(tracker.ready());
  for (ProbeKind kind : {ProbeKind::Startup, ProbeKind::Readiness, ProbeKind::Liveness}) {
    EXPECT_FALSE(tracker.isActive(kind, 100));
    EXPECT_FALSE(tracker.record(kind, fail(), 100));
  }
  EXPECT_TRUE(tracker.ready());
}

TEST(ReadinessTracker, NewBackendIsNotReadyUntilItsFirstReadinessSuccess) {
  ProbeSpec readiness = spec();
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  EXPECT_EQ(tracker.health(), BackendHealth::Starting);
  EXPECT_EQ(tracker.counters(ProbeKind::Readiness).verdict, ProbeVerdict::Failure);
  // Failures do not make a starting backend "not ready": it never was ready.
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, fail(), 1));
  EXPECT_EQ(tracker.health(), BackendHealth::Starting);
  auto change = tracker.record(ProbeKind::Readiness, ok(), 2);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, BackendHealth::Starting);
  EXPECT_EQ(change->to, BackendHealth::Ready);
  EXPECT_EQ(change->probe, ProbeKind::Readiness);
  EXPECT_EQ(change->reason, "ok");
  EXPECT_FALSE(change->restarted);
  EXPECT_TRUE(tracker.ready());
  EXPECT_DOUBLE_EQ(tracker.lastTransitionAt(), 2);
}

TEST(ReadinessTracker, FailureThresholdConsecutiveFailuresTakeItOut) {
  ProbeSpec readiness = spec(1, 3);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  tracker.record(ProbeKind::Readiness, ok(), 1);
  ASSERT_TRUE(tracker.ready());
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, fail(), 2));
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, fail(), 3));
  EXPECT_EQ(tracker.counters(ProbeKind::Readiness).consecutiveFailures, 2);
  EXPECT_TRUE(tracker.ready());
  auto change = tracker.record(ProbeKind::Readiness, fail("timeout"), 4);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, BackendHealth::NotReady);
  EXPECT_EQ(change->reason, "timeout");
  EXPECT_EQ(tracker.lastTransitionReason(), "timeout");
  EXPECT_FALSE(tracker.ready());
}

// readygate out of descriptors is not the backend failing: shown as the last result,
// counted in neither run, so an fd exhaustion does not take every backend out.
TEST(ReadinessTracker, ALocalResourceFailureMovesNoThreshold) {
  ProbeSpec readiness = spec(2, 1);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  tracker.record(ProbeKind::Readiness, ok(), 1);
  tracker.record(ProbeKind::Readiness, ok(), 2);
  ASSERT_TRUE(tracker.ready());
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(tracker.record(ProbeKind::Readiness,
                                ProbeResult::localResource("socket: Too many open files"), 3 + i));
  }
  EXPECT_TRUE(tracker.ready());
  const ProbeCounters& counters = tracker.counters(ProbeKind::Readiness);
  EXPECT_EQ(counters.consecutiveFailures, 0);
  EXPECT_EQ(counters.consecutiveSuccesses, 2);
  ASSERT_TRUE(counters.last);
  EXPECT_EQ(counters.last->reason, "local_resource");
  // Real failures still count as before (failureThreshold 1).
  EXPECT_TRUE(tracker.record(ProbeKind::Readiness, fail(), 9));
  EXPECT_FALSE(tracker.ready());
}

TEST(ReadinessTracker, ASuccessInBetweenResetsTheFailureRun) {
  ProbeSpec readiness = spec(1, 2);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  tracker.record(ProbeKind::Readiness, ok(), 1);
  for (int i = 0; i < 10; ++i) {
    tracker.record(ProbeKind::Readiness, fail(), 2 + 2 * i);
    tracker.record(ProbeKind::Readiness, ok(), 3 + 2 * i);
    EXPECT_TRUE(tracker.ready());
  }
}

TEST(ReadinessTracker, SuccessThresholdConsecutiveSuccessesBringItBack) {
  ProbeSpec readiness = spec(3, 1);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  tracker.record(ProbeKind::Readiness, ok(), 1);
  tracker.record(ProbeKind::Readiness, ok(), 2);
  EXPECT_FALSE(tracker.ready());
  EXPECT_EQ(tracker.counters(ProbeKind::Readiness).consecutiveSuccesses, 2);
  tracker.record(ProbeKind::Readiness, fail(), 3);  // breaks the run
  tracker.record(ProbeKind::Readiness, ok(), 4);
  tracker.record(ProbeKind::Readiness, ok(), 5);
  EXPECT_FALSE(tracker.ready());
  EXPECT_TRUE(tracker.record(ProbeKind::Readiness, ok(), 6));
  EXPECT_TRUE(tracker.ready());
  // failureThreshold 1: one failure takes it out, and it needs 3 successes again.
  auto out = tracker.record(ProbeKind::Readiness, fail(), 7);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->to, BackendHealth::NotReady);
  tracker.record(ProbeKind::Readiness, ok(), 8);
  EXPECT_EQ(tracker.health(), BackendHealth::NotReady);
}

TEST(ReadinessTracker, InitialDelayCountsFromWhenTheBackendAppeared) {
  ProbeSpec readiness = spec(1, 3, 5);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 100);
  EXPECT_FALSE(tracker.isActive(ProbeKind::Readiness, 104.9));
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, ok(), 104.9));  // ignored: too early
  EXPECT_FALSE(tracker.ready());
  EXPECT_TRUE(tracker.isActive(ProbeKind::Readiness, 105));
  EXPECT_TRUE(tracker.record(ProbeKind::Readiness, ok(), 105));
  EXPECT_TRUE(tracker.ready());
}

TEST(ReadinessTracker, StartupGatesEveryOtherProbe) {
  ProbeSpec startup = spec(1, 3);
  ProbeSpec readiness = spec();
  ProbeSpec liveness = spec(1, 1);
  ReadinessTracker tracker = makeTracker(&startup, &readiness, &liveness, 0);
  EXPECT_TRUE(tracker.inStartupPhase());
  EXPECT_EQ(tracker.counters(ProbeKind::Startup).verdict, ProbeVerdict::Unknown);
  EXPECT_TRUE(tracker.isActive(ProbeKind::Startup, 1));
  EXPECT_FALSE(tracker.isActive(ProbeKind::Readiness, 1));
  EXPECT_FALSE(tracker.isActive(ProbeKind::Liveness, 1));
  // Readiness and liveness answers during startup are ignored, good or bad.
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, ok(), 1));
  EXPECT_FALSE(tracker.record(ProbeKind::Liveness, fail(), 1));
  EXPECT_EQ(tracker.health(), BackendHealth::Starting);

  EXPECT_FALSE(tracker.record(ProbeKind::Startup, ok(), 2));  // starting -> starting
  EXPECT_FALSE(tracker.inStartupPhase());
  EXPECT_FALSE(tracker.isActive(ProbeKind::Startup, 3));
  EXPECT_TRUE(tracker.isActive(ProbeKind::Readiness, 3));
  EXPECT_TRUE(tracker.isActive(ProbeKind::Liveness, 3));
  EXPECT_FALSE(tracker.ready());  // still needs readiness
  EXPECT_TRUE(tracker.record(ProbeKind::Readiness, ok(), 3));
  EXPECT_TRUE(tracker.ready());
}

TEST(ReadinessTracker, StartupWithoutReadinessMakesReadyOnSuccess) {
  ProbeSpec startup = spec();
  ReadinessTracker tracker = makeTracker(&startup, nullptr, nullptr, 0);
  EXPECT_FALSE(tracker.ready());
  auto change = tracker.record(ProbeKind::Startup, ok(), 1);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, BackendHealth::Ready);
}

TEST(ReadinessTracker, StartupFailuresStartItOverWithoutTraffic) {
  ProbeSpec startup = spec(1, 2, 3);
  ReadinessTracker tracker = makeTracker(&startup, nullptr, nullptr, 0);
  tracker.record(ProbeKind::Startup, fail("connect_refused"), 3);
  auto change = tracker.record(ProbeKind::Startup, fail("connect_refused"), 4);
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->restarted);
  EXPECT_EQ(change->to, BackendHealth::Starting);
  EXPECT_EQ(tracker.restarts(), 1);
  // The initial delay applies again from the restart.
  EXPECT_FALSE(tracker.isActive(ProbeKind::Startup, 6.9));
  EXPECT_TRUE(tracker.isActive(ProbeKind::Startup, 7));
  EXPECT_EQ(tracker.counters(ProbeKind::Startup).verdict, ProbeVerdict::Unknown);
}

TEST(ReadinessTracker, LivenessFailureTakesItOutAndBackToStartup) {
  ProbeSpec startup = spec(1, 10);
  ProbeSpec readiness = spec(1, 3);
  ProbeSpec liveness = spec(1, 2, 3);
  ReadinessTracker tracker = makeTracker(&startup, &readiness, &liveness, 0);
  tracker.record(ProbeKind::Startup, ok(), 1);
  tracker.record(ProbeKind::Readiness, ok(), 2);
  ASSERT_TRUE(tracker.ready());
  EXPECT_EQ(tracker.counters(ProbeKind::Liveness).verdict, ProbeVerdict::Success);

  EXPECT_FALSE(tracker.record(ProbeKind::Liveness, fail("http_500"), 3));
  EXPECT_TRUE(tracker.ready());
  auto change = tracker.record(ProbeKind::Liveness, fail("http_500"), 4);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, BackendHealth::Ready);
  EXPECT_EQ(change->to, BackendHealth::Starting);
  EXPECT_EQ(change->probe, ProbeKind::Liveness);
  EXPECT_EQ(change->reason, "http_500");
  EXPECT_TRUE(change->restarted);
  EXPECT_FALSE(tracker.ready());
  EXPECT_TRUE(tracker.inStartupPhase());
  EXPECT_EQ(tracker.restarts(), 1);
  // Readiness is back to its initial Failure; liveness to Unknown: the same pod must
  // pass it again (nothing restarted it).
  EXPECT_EQ(tracker.counters(ProbeKind::Readiness).verdict, ProbeVerdict::Failure);
  EXPECT_EQ(tracker.counters(ProbeKind::Liveness).verdict, ProbeVerdict::Unknown);

  // Back only after startup, readiness and liveness pass again.
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, ok(), 5));
  tracker.record(ProbeKind::Startup, ok(), 6);
  EXPECT_FALSE(tracker.ready());
  EXPECT_FALSE(tracker.isActive(ProbeKind::Liveness, 6.5));  // its initial delay again
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, ok(), 7));
  EXPECT_FALSE(tracker.ready());
  auto back = tracker.record(ProbeKind::Liveness, ok(), 7.5);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->probe, ProbeKind::Liveness);
  EXPECT_TRUE(tracker.ready());
}

TEST(ReadinessTracker, LivenessFailureWithoutStartupProbeNeedsReadinessAgain) {
  ProbeSpec readiness = spec(2, 3);
  ProbeSpec liveness = spec(1, 1);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, &liveness, 0);
  tracker.record(ProbeKind::Readiness, ok(), 1);
  tracker.record(ProbeKind::Readiness, ok(), 2);
  ASSERT_TRUE(tracker.ready());
  auto change = tracker.record(ProbeKind::Liveness, fail("timeout"), 3);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, BackendHealth::Starting);
  tracker.record(ProbeKind::Readiness, ok(), 4);
  EXPECT_FALSE(tracker.ready());  // successThreshold 2 counts from the restart
  tracker.record(ProbeKind::Readiness, ok(), 5);
  EXPECT_FALSE(tracker.ready());  // and liveness has not passed again yet
  tracker.record(ProbeKind::Liveness, ok(), 6);
  EXPECT_TRUE(tracker.ready());
}

// The field notes' Flask pod with /start-failing and only a livenessProbe: before the
// fix the tracker started over with liveness Success and readiness Success (not
// configured), so the failing pod was ready again at once and kept its traffic.
TEST(ReadinessTracker, LivenessOnlyPodStaysOutWhileLivenessFails) {
  ProbeSpec liveness = spec(1, 2);
  ReadinessTracker tracker = makeTracker(nullptr, nullptr, &liveness, 0);
  ASSERT_TRUE(tracker.ready());  // as the kubelet: liveness starts as Success
  tracker.record(ProbeKind::Liveness, fail("http_500"), 1);
  auto out = tracker.record(ProbeKind::Liveness, fail("http_500"), 2);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->to, BackendHealth::Starting);
  EXPECT_FALSE(tracker.ready());
  for (double t = 3; t < 4; t += 0.5) {
    tracker.record(ProbeKind::Liveness, fail("http_500"), t);
    EXPECT_FALSE(tracker.ready()) << "at " << t;
  }
  EXPECT_EQ(tracker.currentReason(), "http_500");
  auto back = tracker.record(ProbeKind::Liveness, ok(), 5);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, BackendHealth::Ready);
  EXPECT_TRUE(tracker.ready());
}

// Reload: a probe replaced or added starts from the backend's current verdict.
TEST(ReadinessTracker, ReplacedProbeKeepsTheVerdictUntilTheNewOneDecides) {
  ReadinessTracker tracker = makeTracker(nullptr, nullptr, nullptr, 0);
  ASSERT_TRUE(tracker.ready());
  ProbeSpec readiness = spec(1, 2);
  // Adding a readinessProbe never empties a service: still ready.
  EXPECT_FALSE(
      tracker.replaceProbe(ProbeKind::Readiness, std::make_shared<const ProbeSpec>(readiness), 1));
  EXPECT_TRUE(tracker.ready());
  EXPECT_TRUE(tracker.isActive(ProbeKind::Readiness, 1));
  EXPECT_FALSE(tracker.record(ProbeKind::Readiness, fail(), 2));
  EXPECT_TRUE(tracker.ready());
  EXPECT_TRUE(tracker.record(ProbeKind::Readiness, fail(), 3));
  EXPECT_EQ(tracker.health(), BackendHealth::NotReady);
  // Removing it counts as passed again.
  auto change = tracker.replaceProbe(ProbeKind::Readiness, nullptr, 4);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, BackendHealth::Ready);
  EXPECT_FALSE(tracker.configured(ProbeKind::Readiness));
}

TEST(ReadinessTracker, KeepsTheLastResultOfEachProbe) {
  ProbeSpec readiness = spec();
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  ProbeResult result = ProbeResult::failed("http_503", "not ready");
  result.latencySeconds = 0.012;
  tracker.record(ProbeKind::Readiness, result, 1);
  const auto& last = tracker.counters(ProbeKind::Readiness).last;
  ASSERT_TRUE(last);
  EXPECT_EQ(last->reason, "http_503");
  EXPECT_EQ(last->message, "not ready");
  EXPECT_DOUBLE_EQ(last->latencySeconds, 0.012);
}

TEST(ReadinessTracker, FlappingPodFollowsTheToggle) {
  // The field notes' /ready that flips every 5 hits, with thresholds 1/1.
  ProbeSpec readiness = spec(1, 1);
  ReadinessTracker tracker = makeTracker(nullptr, &readiness, nullptr, 0);
  ManualClock clock(0);
  int transitions = 0;
  for (int hit = 1; hit <= 30; ++hit) {
    clock.advance(1);
    bool up = (hit / 5) % 2 != 0;
    if (tracker.record(ProbeKind::Readiness, up ? ok() : fail(), clock.now())) ++transitions;
    EXPECT_EQ(tracker.ready(), up) << "hit " << hit;
  }
  EXPECT_EQ(transitions, 6);
}

}  // namespace
}  // namespace readygate
