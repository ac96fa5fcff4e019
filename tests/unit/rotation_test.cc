// decideRotation: the one place that says whether a backend is in rotation and why.
#include "proxy/health/rotation.h"

#include <gtest/gtest.h>

namespace readygate {
namespace {

BackendFacts ready() {
  return BackendFacts{
      BackendHealth::Ready, AdminState::Enabled, Membership::Configured, false, "readiness", "ok"};
}
BackendFacts notReady() {
  return BackendFacts{BackendHealth::NotReady,
                      AdminState::Enabled,
                      Membership::Configured,
                      false,
                      "readiness",
                      "http_503"};
}

BackendFacts with(BackendFacts facts, AdminState admin) {
  facts.admin = admin;
  return facts;
}
BackendFacts with(BackendFacts facts, Membership membership) {
  facts.membership = membership;
  return facts;
}

TEST(Rotation, EachStateWithItsCauseAndReason) {
  struct Case {
    BackendFacts facts;
    EffectiveState state;
    bool inRotation;
    bool countsAsReady;
    const char* cause;
    const char* reason;
  };
  BackendFacts starting{
      BackendHealth::Starting, AdminState::Enabled, Membership::Configured, false, "",
      "awaiting_probe"};
  BackendFacts ejected = ready();
  ejected.ejected = true;
  ejected.ejectReason = "consecutive_5xx";
  const Case cases[] = {
      {starting, EffectiveState::Starting, false, false, "", "awaiting_probe"},
      {ready(), EffectiveState::Ready, true, true, "readiness", "ok"},
      {notReady(), EffectiveState::NotReady, false, false, "readiness", "http_503"},
      {with(ready(), AdminState::Draining), EffectiveState::Draining, false, false, "admin",
       "drain"},
      {with(ready(), AdminState::Disabled), EffectiveState::Disabled, false, false, "admin",
       "disable"},
      {with(ready(), Membership::Leaving), EffectiveState::Leaving, true, false, "config",
       "min_ready"},
      {with(notReady(), Membership::Leaving), EffectiveState::NotReady, false, false, "readiness",
       "http_503"},
      {with(ready(), Membership::Removed), EffectiveState::Removed, false, false, "config",
       "removed"},
      {ejected, EffectiveState::Ejected, false, false, "outlier", "consecutive_5xx"},
  };
  for (const Case& c : cases) {
    BackendView view = explainBackend(c.facts);
    SCOPED_TRACE(toString(c.state));
    EXPECT_EQ(view.state, c.state);
    EXPECT_EQ(view.inRotation, c.inRotation);
    EXPECT_EQ(view.countsAsReady, c.countsAsReady);
    EXPECT_EQ(view.cause, c.cause);
    EXPECT_EQ(view.reason, c.reason);
    EXPECT_FALSE(view.failingOpen);
  }
}

TEST(Rotation, LeavingIsHeldByMinReady) {
  BackendView view = explainBackend(with(ready(), Membership::Leaving));
  EXPECT_TRUE(view.heldByMinReady);
  EXPECT_TRUE(view.inRotation);
}

// Before: /status and readygate_backend_in_rotation said false/0 for the backends that
// whenNoneReady: all was sending traffic to.
TEST(Rotation, FailOpenBackendsAreInRotationAndSaySo) {
  std::vector<BackendFacts> facts = {notReady(), notReady()};
  RotationDecision decision = decideRotation(facts, WhenNoneReady::All);
  EXPECT_TRUE(decision.failOpen);
  for (const BackendView& view : decision.views) {
    EXPECT_TRUE(view.inRotation);
    EXPECT_TRUE(view.failingOpen);
    EXPECT_EQ(view.state, EffectiveState::NotReady);  // the state stays what it is
  }
  EXPECT_EQ(decision.readyCount, 0u);
}

TEST(Rotation, FailOpenNeverSendsToWhatAnOperatorOrTheConfigTookOut) {
  std::vector<BackendFacts> facts = {notReady(), with(notReady(), AdminState::Disabled),
                                     with(notReady(), AdminState::Draining),
                                     with(notReady(), Membership::Removed)};
  RotationDecision decision = decideRotation(facts, WhenNoneReady::All);
  EXPECT_TRUE(decision.failOpen);
  EXPECT_TRUE(decision.views[0].inRotation);
  for (size_t i = 1; i < facts.size(); ++i) {
    EXPECT_FALSE(decision.views[i].inRotation) << i;
    EXPECT_FALSE(decision.views[i].failingOpen) << i;
  }
}

TEST(Rotation, NoFailOpenWhileAnythingIsInRotationOrWhenRejecting) {
  std::vector<BackendFacts> facts = {notReady(), ready()};
  RotationDecision decision = decideRotation(facts, WhenNoneReady::All);
  EXPECT_FALSE(decision.failOpen);
  EXPECT_FALSE(decision.views[0].inRotation);
  std::vector<BackendFacts> none = {notReady()};
  EXPECT_FALSE(decideRotation(none, WhenNoneReady::Reject).views[0].inRotation);
  // Only a disabled backend: nothing to fail open to.
  std::vector<BackendFacts> disabled = {with(notReady(), AdminState::Disabled)};
  EXPECT_FALSE(decideRotation(disabled, WhenNoneReady::All).failOpen);
}

// Before: an admin-disabled but healthy backend counted toward minReady.
TEST(Rotation, DisabledAndDrainingBackendsNeverCountAsReady) {
  std::vector<BackendFacts> facts = {ready(), with(ready(), AdminState::Disabled),
                                     with(ready(), AdminState::Draining),
                                     with(ready(), Membership::Leaving)};
  EXPECT_EQ(decideRotation(facts, WhenNoneReady::Reject).readyCount, 1u);
}

TEST(Rotation, TerminatingPodsServeOnlyAsTheLastResortBeforeFailOpen) {
  ClusterConditions serving{false, true, true, "old", "", ""};
  ClusterConditions gone{false, false, true, "older", "", ""};
  BackendFacts old = ready();
  old.cluster = &serving;
  BackendFacts older = ready();
  older.cluster = &gone;
  BackendFacts failing = notReady();
  // Nothing else in rotation: the serving terminating pod is, whatever whenNoneReady says.
  for (WhenNoneReady when : {WhenNoneReady::Reject, WhenNoneReady::All}) {
    std::vector<BackendFacts> facts{old, older, failing};
    RotationDecision decision = decideRotation(facts, when);
    EXPECT_EQ(decision.terminatingFallback, 1u);
    EXPECT_FALSE(decision.failOpen);
    EXPECT_TRUE(decision.views[0].inRotation);
    EXPECT_TRUE(decision.views[0].terminatingFallback);
    EXPECT_EQ(decision.views[0].reason, "terminating");
    EXPECT_FALSE(decision.views[1].inRotation);
    EXPECT_FALSE(decision.views[2].inRotation);
    // Turned off (terminatingFallback: false), nothing serves, as Traefik has it.
    RotationDecision strict = decideRotation(facts, WhenNoneReady::Reject, false);
    EXPECT_EQ(strict.terminatingFallback, 0u);
    EXPECT_FALSE(strict.views[0].inRotation);
  }
  // Its probe failing, it is no fallback; fail-open then skips the one no longer serving.
  old.health = BackendHealth::NotReady;
  std::vector<BackendFacts> facts{old, older, failing};
  RotationDecision decision = decideRotation(facts, WhenNoneReady::All);
  EXPECT_EQ(decision.terminatingFallback, 0u);
  EXPECT_TRUE(decision.failOpen);
  EXPECT_TRUE(decision.views[0].failingOpen);
  EXPECT_FALSE(decision.views[1].inRotation);
  EXPECT_TRUE(decision.views[2].failingOpen);
  // Anything ready by both words: no fallback.
  facts.push_back(ready());
  EXPECT_EQ(decideRotation(facts, WhenNoneReady::All).terminatingFallback, 0u);
}

}  // namespace
}  // namespace readygate
