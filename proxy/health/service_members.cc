// ServiceMembers implementation.
#include "proxy/health/service_members.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <unordered_set>

#include "proxy/core/clock.h"
#include "proxy/core/log.h"

namespace readygate {
namespace {

/// How often removed backends are looked at for their last connection.
constexpr double kSweepSeconds = 0.25;

std::shared_ptr<const ProbeSpec> specPtr(const std::optional<ProbeSpec>& spec) {
  return spec ? std::make_shared<const ProbeSpec>(*spec) : nullptr;
}

}  // namespace

ServiceMembers::ServiceMembers(event_base* base, const Clock& clock, HealthCheckFactory checks,
                               std::shared_ptr<Service> service,
                               std::shared_ptr<const ServiceConfig> config)
    : clock_(clock),
      makeChecks_(std::move(checks)),
      service_(std::move(service)),
      config_(std::move(config)),
      graveyard_(base),
      stoppedChecks_(base),
      sweep_(Timer::calling<&ServiceMembers::onSweep>(base, this)) {
  for (ProbeKind kind : kAllProbeKinds) {
    specs_[static_cast<size_t>(kind)] = specPtr(probeOf(*config_, kind));
  }
  sweep_.armEvery(kSweepSeconds);
}

ServiceMembers::~ServiceMembers() {
  // Checks first: their probes call back into members.
  for (auto& member : members_) member->checks.reset();
  stoppedChecks_.clear();
}

void ServiceMembers::start() {
  for (const SocketAddress& address : config_->staticEndpoints) {
    if (!index_.contains(address)) addMember(address);
  }
  refresh();
}

ServiceMembers::Member& ServiceMembers::addMember(const SocketAddress& address) {
  double now = clock_.now();
  auto member = std::make_unique<Member>(std::make_shared<Backend>(address), specs_, now);
  Member& raw = *member;
  raw.stateSince = now;
  raw.stateSinceUnix = unixSeconds();
  raw.view = explainBackend(factsOf(raw));
  index_[address] = &raw;
  members_.push_back(std::move(member));
  recordEvent(raw, kNewEvent, toString(raw.view.state), "added");
  startChecks(raw);
  return raw;
}

void ServiceMembers::recordEvent(const Member& member, const char* from, const char* to,
                                 const std::string& cause) {
  if (events_ == nullptr) return;
  events_->record(StateEvent{.unixTime = unixSeconds(),
                             .service = service_->name(),
                             .backend = member.backend->name(),
                             .pod = member.cluster ? member.cluster->pod : std::string(),
                             .from = from,
                             .to = to,
                             .cause = cause,
                             .reason = member.view.reason});
}

void ServiceMembers::startChecks(Member& member) {
  member.checks = makeChecks_(
      member.backend->address(),
      HealthCheckHooks{
          [&member](ProbeKind kind, double now) { return member.tracker.isActive(kind, now); },
          [this, &member](ProbeKind kind, const ProbeResult& result) {
            record(member, kind, result);
          }});
  for (ProbeKind kind : kAllProbeKinds) {
    const auto& spec = specs_[static_cast<size_t>(kind)];
    if (spec) member.checks->setProbe(kind, spec);
  }
}

void ServiceMembers::record(Member& member, ProbeKind kind, const ProbeResult& result) {
  if (logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "probe_result",
             {{"service", service_->name()},
              {"backend", member.backend->name()},
              {"probe", toString(kind)},
              {"result", result.success ? "success" : "failure"},
              {"reason", result.reason},
              {"latency_seconds", result.latencySeconds},
              {"message", result.message}});
  }
  ProbeStats& stats = member.probes[static_cast<size_t>(kind)];
  ++stats.outcomes[ProbeStats::OutcomeKey{result.success, result.reason}];
  if (!stats.durations) {
    stats.durations =
        std::make_unique<prometheus::Histogram>(prometheus::Histogram::BucketBoundaries{
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  }
  stats.durations->Observe(result.latencySeconds);
  member.latencies.add(result.latencySeconds, result.success);
  std::optional<HealthChange> change = member.tracker.record(kind, result, clock_.now());
  if (!change) {
    // Same health, so the same state and rotation for everyone: only this backend's
    // reason may have moved (a starting pod's http_503 becoming connect_refused). The
    // first probe to speak of a new backend is the cause of its reason.
    if (member.healthCause.empty()) member.healthCause = toString(kind);
    BackendView explained = explainBackend(factsOf(member));
    member.view.cause = std::move(explained.cause);
    member.view.reason = std::move(explained.reason);
    return;
  }
  member.healthCause = toString(change->probe);
  if (change->restarted && change->from == change->to) {
    // Starting over inside the startup phase: no new state, still worth a line.
    logEvent(LogLevel::Warn, "backend_restarted",
             {{"service", service_->name()},
              {"backend", member.backend->name()},
              {"probe", toString(change->probe)},
              {"reason", change->reason},
              {"restarts", member.tracker.restarts()}});
  }
  refresh();
}

void ServiceMembers::setEndpoints(const std::vector<SocketAddress>& endpoints) {
  std::vector<DiscoveredEndpoint> plain;
  plain.reserve(endpoints.size());
  for (const SocketAddress& address : endpoints) plain.push_back(DiscoveredEndpoint{address, {}});
  setEndpoints(plain);
}

void ServiceMembers::setEndpoints(const std::vector<DiscoveredEndpoint>& endpoints) {
  std::unordered_map<SocketAddress, const DiscoveredEndpoint*, SocketAddressHash> wanted;
  wanted.reserve(endpoints.size());
  for (const DiscoveredEndpoint& endpoint : endpoints) {
    auto [at, added] = wanted.emplace(endpoint.address, &endpoint);
    if (!added && !at->second->cluster && endpoint.cluster) at->second = &endpoint;
  }
  bool guard = config_->minReady > 0;
  for (const auto& member : members_) {
    auto found = wanted.find(member->backend->address());
    bool listed = found != wanted.end();
    switch (member->membership) {
      case Membership::Configured:
        if (listed) break;
        if (guard && member->view.countsAsReady) {
          // Rollout guard: an old pod that still serves stays in rotation until enough
          // new ones are ready, so dropping it from the list early loses no connections.
          member->membership = Membership::Leaving;
          logEvent(LogLevel::Info, "backend_leaving",
                   {{"service", service_->name()},
                    {"backend", member->backend->name()},
                    {"min_ready", config_->minReady},
                    {"ready_backends", readyCount_}});
        } else {
          member->membership = Membership::Removed;
        }
        break;
      case Membership::Leaving:
        if (listed) member->membership = Membership::Configured;  // listed again
        break;
      case Membership::Removed:
        if (!listed) break;
        // Listed again before its last connection went: the same backend starts over.
        member->membership = Membership::Configured;
        member->backend->unretire();
        member->tracker = ReadinessTracker(specs_, clock_.now());
        member->healthCause.clear();
        member->everReady = false;
        member->spillover = false;
        member->cluster.reset();
        startChecks(*member);
        break;
    }
    if (listed && member->membership == Membership::Configured) {
      updateConditions(*member, found->second->cluster, guard);
    }
  }
  for (const DiscoveredEndpoint& endpoint : endpoints) {
    if (index_.contains(endpoint.address)) continue;
    Member& added = addMember(endpoint.address);
    added.cluster = wanted.at(endpoint.address)->cluster;
    logEvent(LogLevel::Info, "backend_added",
             {{"service", service_->name()}, {"backend", endpoint.address.toString()}});
  }
  refresh();
}

void ServiceMembers::updateConditions(Member& member,
                                      const std::optional<ClusterConditions>& cluster, bool guard) {
  bool wasTerminating = member.cluster && member.cluster->terminating;
  bool terminating = cluster && cluster->terminating;
  if (terminating && !wasTerminating) {
    // Only a pod that was carrying traffic is worth keeping while minReady is unmet.
    member.spillover = guard && member.view.countsAsReady;
    logEvent(LogLevel::Info, "backend_terminating",
             {{"service", service_->name()},
              {"backend", member.backend->name()},
              {"pod", cluster->pod},
              {"serving", cluster->serving ? "true" : "false"},
              {"held_by_min_ready", member.spillover ? "true" : "false"}});
  } else if (!terminating) {
    member.spillover = false;
  }
  member.cluster = cluster;
}

void ServiceMembers::applyConfig(std::shared_ptr<const ServiceConfig> config) {
  double now = clock_.now();
  for (ProbeKind kind : kAllProbeKinds) {
    const std::optional<ProbeSpec>& next = probeOf(*config, kind);
    const std::shared_ptr<const ProbeSpec>& current = specs_[static_cast<size_t>(kind)];
    bool same = next ? current && *current == *next : !current;
    if (same) continue;
    auto spec = specPtr(next);
    specs_[static_cast<size_t>(kind)] = spec;
    logEvent(LogLevel::Info, "probe_changed",
             {{"service", service_->name()},
              {"probe", toString(kind)},
              {"configured", spec ? "yes" : "no"}});
    for (const auto& member : members_) {
      if (member->membership == Membership::Removed) continue;
      if (member->tracker.replaceProbe(kind, spec, now)) member->healthCause = toString(kind);
      if (member->checks) member->checks->setProbe(kind, spec);
    }
  }
  config_ = std::move(config);
  refresh();  // whenNoneReady, minReady and the like may decide differently now
}

void ServiceMembers::retire() {
  retired_ = true;
  for (const auto& member : members_) member->membership = Membership::Removed;
  refresh();
}

bool ServiceMembers::setAdminState(const SocketAddress& address, AdminState admin) {
  auto found = index_.find(address);
  if (found == index_.end() || found->second->membership == Membership::Removed) return false;
  found->second->admin = admin;
  refresh();
  return true;
}

BackendFacts ServiceMembers::factsOf(const Member& member) {
  BackendFacts facts;
  facts.health = member.tracker.health();
  facts.admin = member.admin;
  facts.membership = member.membership;
  facts.ejected = member.ejected;
  facts.ejectReason = member.ejectReason;
  facts.healthCause = member.healthCause;
  facts.healthReason = member.tracker.currentReason();
  facts.cluster = member.cluster ? &*member.cluster : nullptr;
  facts.spillover = member.spillover;
  facts.everReady = member.everReady;
  return facts;
}

void ServiceMembers::checkOutliers() {
  if (!config_->outlierDetection || retired_) return;
  const OutlierDetection& rules = *config_->outlierDetection;
  double now = clock_.now();
  bool changed = false;
  // The cap is taken over the backends that serve: ready ones and those ejected (which
  // were). Starting or failing backends take no traffic, so they cannot stand in for
  // the ready ones an ejection would leave.
  size_t pool = 0;
  size_t ejected = 0;
  size_t serving = 0;  // ready and not ejected
  for (const auto& member : members_) {
    if (member->membership != Membership::Configured) continue;
    bool inPool = member->ejected || member->view.state == EffectiveState::Ready ||
                  member->view.state == EffectiveState::Ejected;
    if (inPool) ++pool;
    if (member->ejected && now >= member->ejectedUntil) {
      member->ejected = false;
      member->backend->resetConsecutiveFailures();  // it starts with a clean slate
      changed = true;
      logEvent(LogLevel::Info, "backend_ejection_ended",
               {{"service", service_->name()}, {"backend", member->backend->name()}});
    }
    if (member->ejected) {
      ++ejected;
    } else if (inPool) {
      ++serving;
    }
  }
  // Never more than maxEjectionPercent out at once, but one of two or more always may go;
  // and never the last one serving (as Envoy, a backend answering 5xx to one path is
  // still ejected: outlier detection sees backends, not paths).
  size_t percent = static_cast<size_t>(rules.maxEjectionPercent);
  size_t allowed = pool >= 2 ? std::max<size_t>(1, pool * percent / 100) : 0;
  for (const auto& member : members_) {
    if (member->membership != Membership::Configured || member->ejected) continue;
    if (member->view.state != EffectiveState::Ready &&
        member->view.state != EffectiveState::Ejected) {
      continue;  // not serving: nothing to eject it from
    }
    const Backend& backend = *member->backend;
    const char* reason = nullptr;
    if (rules.consecutive5xx > 0 && backend.consecutive5xx() >= rules.consecutive5xx) {
      reason = "consecutive_5xx";
    } else if (rules.consecutiveConnectFailures > 0 &&
               backend.consecutiveConnectFailures() >= rules.consecutiveConnectFailures) {
      reason = "consecutive_connect_failures";
    }
    if (reason == nullptr || ejected >= allowed || serving <= 1) continue;
    ++member->ejections;
    double seconds = std::min(rules.baseEjectionSeconds * static_cast<double>(member->ejections),
                              rules.maxEjectionSeconds);
    member->ejected = true;
    member->ejectReason = reason;
    member->ejectedUntil = now + seconds;
    member->backend->resetConsecutiveFailures();
    ++ejected;
    --serving;
    changed = true;
    logEvent(LogLevel::Warn, "backend_ejected",
             {{"service", service_->name()},
              {"backend", backend.name()},
              {"reason", reason},
              {"seconds", seconds},
              {"ejections", member->ejections}});
  }
  if (changed) refresh();
}

void ServiceMembers::refresh() {
  std::vector<BackendFacts> facts;
  facts.reserve(members_.size());
  for (const auto& member : members_) facts.push_back(factsOf(*member));
  bool fallback = !config_->endpointsKubernetes || config_->endpointsKubernetes->terminatingFallback;
  RotationDecision decision = decideRotation(facts, config_->whenNoneReady, fallback);
  // A leaving backend goes once the configured ones can carry the service, or once it
  // stops serving itself: keeping an unready old pod helps nobody.
  bool enoughReady = decision.readyCount >= static_cast<size_t>(config_->minReady);
  bool released = false;
  for (size_t i = 0; i < members_.size(); ++i) {
    bool let = enoughReady || decision.views[i].state != EffectiveState::Leaving;
    if (members_[i]->membership == Membership::Leaving && let) {
      members_[i]->membership = facts[i].membership = Membership::Removed;
      released = true;
    }
    // A terminating pod held as spillover goes the same way, and is not held again.
    if (members_[i]->spillover && let && !decision.views[i].terminatingFallback) {
      members_[i]->spillover = facts[i].spillover = false;
      released = true;
    }
  }
  if (released) decision = decideRotation(facts, config_->whenNoneReady, fallback);

  double now = clock_.now();
  size_t configured = configuredCount();
  std::vector<std::shared_ptr<Backend>> eligible;
  std::vector<double> readySince;
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& member = *members_[i];
    BackendView& view = decision.views[i];
    if (view.inRotation != member.view.inRotation) ++rotationChanges_;
    member.backend->setInRotation(view.inRotation);
    EffectiveState previous = member.view.state;
    member.view = std::move(view);
    // Gone from the configuration: its checks stop and its connections get a deadline
    // (a terminating pod, shown as removed too, is probed on until it leaves the slices).
    if (member.membership == Membership::Removed && member.checks) onRemoved(member);
    if (member.view.state == previous) continue;
    ++member.transitions[{previous, member.view.state}];
    member.stateSince = now;
    member.stateSinceUnix = unixSeconds();
    if (member.view.state == EffectiveState::Ready) member.everReady = true;
    logEvent(member.view.state == EffectiveState::Ready ? LogLevel::Info : LogLevel::Warn,
             "backend_state",
             {{"service", service_->name()},
              {"backend", member.backend->name()},
              {"from", toString(previous)},
              {"to", toString(member.view.state)},
              {"cause", member.view.cause},
              {"reason", member.view.reason},
              {"in_rotation", member.view.inRotation ? "true" : "false"},
              {"restarts", member.tracker.restarts()},
              {"ready_backends", decision.readyCount},
              {"backends", configured}});
    recordEvent(member, toString(previous), toString(member.view.state), member.view.cause);
  }
  for (const auto& member : members_) {
    if (!member->view.inRotation) continue;
    eligible.push_back(member->backend);
    // Slow start counts from becoming ready; held and fail-open backends take full shares.
    readySince.push_back(member->view.state == EffectiveState::Ready
                             ? member->stateSince
                             : -std::numeric_limits<double>::infinity());
  }
  if (decision.failOpen != failOpen_) {
    logEvent(LogLevel::Warn, decision.failOpen ? "fail_open_started" : "fail_open_ended",
             {{"service", service_->name()}, {"backends", eligible.size()}});
  }
  if ((decision.terminatingFallback > 0) != (terminatingFallback_ > 0)) {
    if (decision.terminatingFallback > 0) ++terminatingFallbacks_;
    logEvent(LogLevel::Warn,
             decision.terminatingFallback > 0 ? "terminating_fallback_started"
                                              : "terminating_fallback_ended",
             {{"service", service_->name()}, {"backends", decision.terminatingFallback}});
  }
  readyCount_ = decision.readyCount;
  failOpen_ = decision.failOpen;
  terminatingFallback_ = decision.terminatingFallback;
  service_->publish(std::move(eligible), decision.failOpen, std::move(readySince),
                    config_->slowStartSeconds);
  sweepRemoved();
}

void ServiceMembers::onRemoved(Member& member) {
  member.closeDeadline = clock_.now() + config_->drainTimeoutSeconds;
  member.backend->retire(member.closeDeadline);
  // This may run inside that backend's own probe callback: its checks stop now (they
  // no longer reach this member, which may be freed first) and are freed next pass.
  if (member.checks) member.checks->stop();
  stoppedChecks_.later(std::move(member.checks));
  logEvent(LogLevel::Info, "backend_removed",
           {{"service", service_->name()},
            {"backend", member.backend->name()},
            {"open_connections", member.backend->activeConnections()},
            {"drain_timeout_seconds", config_->drainTimeoutSeconds}});
}

void ServiceMembers::sweepRemoved() {
  bool any = false;
  for (auto& member : members_) {
    if (member->membership != Membership::Removed || member->backend->activeConnections() > 0) {
      continue;
    }
    index_.erase(member->backend->address());
    recordEvent(*member, toString(EffectiveState::Removed), kGoneEvent, "connections_closed");
    graveyard_.later(std::move(member));
    any = true;
  }
  if (any) std::erase(members_, nullptr);
}

void ServiceMembers::onSweep() {
  sweepRemoved();
  checkOutliers();
}

const ServiceMembers::Member* ServiceMembers::find(const SocketAddress& address) const {
  auto found = index_.find(address);
  return found == index_.end() ? nullptr : found->second;
}

size_t ServiceMembers::configuredCount() const {
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& m) {
    return m->membership == Membership::Configured;
  }));
}

size_t ServiceMembers::leavingCount() const {
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& m) {
    return m->membership == Membership::Leaving;
  }));
}

double ServiceMembers::unixTime(double clockSeconds) const {
  return unixSeconds() + (clockSeconds - clock_.now());
}

}  // namespace readygate
