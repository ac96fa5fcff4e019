// explainBackend and decideRotation.
#include "proxy/health/rotation.h"

namespace readygate {

BackendView explainBackend(const BackendFacts& facts) {
  BackendView view;
  view.cause = facts.healthCause;
  view.reason = facts.healthReason;
  if (facts.membership == Membership::Removed) {
    view.state = EffectiveState::Removed;
    view.cause = "config";
    view.reason = "removed";
    return view;
  }
  if (facts.admin == AdminState::Disabled) {
    view.state = EffectiveState::Disabled;
    view.cause = "admin";
    view.reason = "disable";
    return view;
  }
  if (facts.admin == AdminState::Draining) {
    view.state = EffectiveState::Draining;
    view.cause = "admin";
    view.reason = "drain";
    return view;
  }
  if (facts.ejected) {
    view.state = EffectiveState::Ejected;
    view.cause = "outlier";
    view.reason = facts.ejectReason;
    return view;
  }
  if (facts.cluster != nullptr && facts.cluster->terminating) {
    // No new requests from the moment the pod terminates, but for spillover; its open
    // connections go on until the pod leaves the slices and drains.
    view.cause = "kubernetes";
    view.reason = "terminating";
    bool serves = facts.health == BackendHealth::Ready && facts.cluster->serving;
    if (serves && facts.spillover) {
      view.state = EffectiveState::Leaving;
      view.heldByMinReady = true;
      view.inRotation = true;
    } else {
      view.state = EffectiveState::Removed;
    }
    return view;
  }
  bool clusterReady = facts.cluster == nullptr || facts.cluster->ready;
  if (!clusterReady) {
    // Out whatever the probes say; `starting` until it has been ready once.
    view.state = facts.health == BackendHealth::NotReady || facts.everReady
                     ? EffectiveState::NotReady
                     : EffectiveState::Starting;
    view.cause = "kubernetes";
    view.reason = "k8s_not_ready";
    return view;
  }
  switch (facts.health) {
    case BackendHealth::Starting:
      view.state = EffectiveState::Starting;
      break;
    case BackendHealth::NotReady:
      view.state = EffectiveState::NotReady;
      break;
    case BackendHealth::Ready:
      if (facts.membership == Membership::Leaving) {
        view.state = EffectiveState::Leaving;
        view.heldByMinReady = true;
        view.cause = "config";
        view.reason = "min_ready";
      } else {
        view.state = EffectiveState::Ready;
        view.countsAsReady = true;
      }
      view.inRotation = true;
      break;
  }
  return view;
}

RotationDecision decideRotation(std::span<const BackendFacts> backends,
                                WhenNoneReady whenNoneReady, bool terminatingFallback) {
  RotationDecision decision;
  decision.views.reserve(backends.size());
  bool anyInRotation = false;
  for (const BackendFacts& facts : backends) {
    decision.views.push_back(explainBackend(facts));
    anyInRotation = anyInRotation || decision.views.back().inRotation;
    if (decision.views.back().countsAsReady) ++decision.readyCount;
  }
  if (anyInRotation) return decision;
  // kube-proxy's last resort: terminating pods that still serve (and pass our probes).
  for (size_t i = 0; terminatingFallback && i < backends.size(); ++i) {
    const BackendFacts& facts = backends[i];
    if (facts.cluster == nullptr || !facts.cluster->terminating || !facts.cluster->serving ||
        facts.health != BackendHealth::Ready || facts.admin != AdminState::Enabled ||
        facts.membership != Membership::Configured || facts.ejected) {
      continue;
    }
    decision.views[i].state = EffectiveState::Leaving;
    decision.views[i].inRotation = true;
    decision.views[i].terminatingFallback = true;
    ++decision.terminatingFallback;
  }
  if (decision.terminatingFallback > 0 || whenNoneReady != WhenNoneReady::All) return decision;
  // Fail open, but never to a backend an operator took out or the configuration dropped.
  for (size_t i = 0; i < backends.size(); ++i) {
    const BackendFacts& facts = backends[i];
    if (facts.admin != AdminState::Enabled || facts.membership != Membership::Configured) continue;
    if (facts.cluster != nullptr && facts.cluster->terminating && !facts.cluster->serving) continue;
    decision.views[i].inRotation = true;
    decision.views[i].failingOpen = true;
    decision.failOpen = true;
  }
  return decision;
}

}  // namespace readygate
