// ServiceHealth implementation.
#include "proxy/health/service_members.h"

#include <algorithm>
#include <chrono>

#include "proxy/core/log.h"

namespace readygate {
namespace {

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ServiceHealth::ServiceHealth(event_base* base, ChildReaper& reaper, const Clock& clock,
                             std::shared_ptr<Service> service, ProbeTimingStats& stats)
    : context_{base, reaper, service->name()},
      clock_(clock),
      service_(std::move(service)),
      stats_(stats) {
  reap_.reset(event_new(
      base, -1, 0,
      [](evutil_socket_t, short, void* self) {
        static_cast<ServiceHealth*>(self)->graveyard_.clear();
      },
      this));
}

std::optional<std::string> ServiceHealth::start() {
  const ServiceConfig& config = service_->config();
  for (ProbeKind kind : kAllProbeKinds) {
    const std::optional<ProbeSpec>& spec = probeOf(config, kind);
    if (!spec || spec->handler != ProbeSpec::Handler::HttpGet || !spec->httpGet.https) continue;
    auto created = TlsClientContext::create(spec->httpGet.tls);
    if (auto* error = std::get_if<std::string>(&created)) {
      return std::string(toString(kind)) + " probe TLS: " + *error;
    }
    tls_[static_cast<size_t>(kind)] = std::get<std::shared_ptr<TlsClientContext>>(created);
  }
  for (const SocketAddress& address : config.staticEndpoints) {
    members_.push_back(makeMember(address));
  }
  publish();
  return std::nullopt;
}

std::unique_ptr<ServiceHealth::Member> ServiceHealth::makeMember(const SocketAddress& address) {
  auto member = std::make_unique<Member>();
  member->backend = std::make_shared<Backend>(address);
  Member* raw = member.get();
  member->probes = std::make_unique<BackendProbes>(
      context_, clock_, service_->config(), member->backend, tls_, stats_,
      [this, raw](const Backend&, const HealthChange& change) { onHealthChange(*raw, change); });
  member->state = effectiveState(member->probes->tracker().health(), member->admin);
  member->lastTransitionUnixSeconds = unixNow();
  return member;
}

void ServiceHealth::setEndpoints(const std::vector<SocketAddress>& endpoints) {
  auto wanted = [&](const Member& member) {
    return std::find(endpoints.begin(), endpoints.end(), member.backend->address()) !=
           endpoints.end();
  };
  for (const auto& member : members_) {
    bool keep = wanted(*member);
    if (member->leaving && keep) member->leaving = false;  // configured again
    if (keep || member->leaving) continue;
    if (member->state == BackendState::Ready && service_->config().minReady > 0) {
      // Rollout guard: an old pod that still serves stays in rotation until enough new
      // ones are ready, so dropping it from the config early loses no connections.
      member->leaving = true;
      logEvent(LogLevel::Info, "backend_leaving",
               {{"service", service_->name()},
                {"backend", member->backend->name()},
                {"min_ready", service_->config().minReady},
                {"ready_backends", readyCount()}});
    } else {
      member->removed = true;
    }
  }
  for (const SocketAddress& address : endpoints) {
    bool known = std::any_of(members_.begin(), members_.end(), [&](const auto& member) {
      return member->backend->address() == address;
    });
    if (known) continue;
    members_.push_back(makeMember(address));
    logEvent(LogLevel::Info, "backend_added",
             {{"service", service_->name()}, {"backend", address.toString()}});
  }
  settleLeaving();
  publish();
}

void ServiceHealth::settleLeaving() {
  bool enoughReady = readyCount() >= static_cast<size_t>(service_->config().minReady);
  for (const auto& member : members_) {
    // A leaving backend goes once the new ones can carry the service, or once it stops
    // serving itself: keeping an unready old pod helps nobody.
    if (member->leaving && (enoughReady || member->state != BackendState::Ready)) {
      member->removed = true;
    }
  }
  double drainDeadline = clock_.now() + service_->config().drainTimeoutSeconds;
  for (const auto& member : members_) {
    if (!member->removed) continue;
    member->backend->retire(drainDeadline);
    logEvent(LogLevel::Info, "backend_removed",
             {{"service", service_->name()},
              {"backend", member->backend->name()},
              {"open_connections", member->backend->activeConnections()},
              {"drain_timeout_seconds", service_->config().drainTimeoutSeconds}});
  }
  // Out of members_ now, freed on the next loop pass: this may run inside a probe
  // callback of the very backend being removed, which must not be deleted under it.
  for (auto& member : members_) {
    if (member->removed) graveyard_.push_back(std::move(member));
  }
  std::erase_if(members_, [](const std::unique_ptr<Member>& member) { return !member; });
  if (!graveyard_.empty()) event_active(reap_.get(), EV_TIMEOUT, 0);
}

bool ServiceHealth::setAdminState(const std::string& address, AdminState admin) {
  for (const auto& member : members_) {
    if (member->backend->name() != address) continue;
    member->admin = admin;
    if (updateState(*member, "admin", toString(admin))) publish();
    return true;
  }
  return false;
}

size_t ServiceHealth::readyCount() const {
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& m) {
    return !m->leaving && m->probes->tracker().ready();
  }));
}

size_t ServiceHealth::configuredCount() const {
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(), [](const auto& m) { return !m->leaving; }));
}

void ServiceHealth::onHealthChange(Member& member, const HealthChange& change) {
  bool changed = updateState(member, toString(change.probe), change.reason);
  if (!changed && change.restarted) {
    // Starting over inside the startup phase: no new state, still worth a line.
    logEvent(LogLevel::Warn, "backend_restarted",
             {{"service", service_->name()},
              {"backend", member.backend->name()},
              {"probe", toString(change.probe)},
              {"reason", change.reason}});
  }
  if (changed) {
    settleLeaving();
    publish();
  }
}

bool ServiceHealth::updateState(Member& member, const char* cause, const std::string& reason) {
  BackendState next = effectiveState(member.probes->tracker().health(), member.admin);
  if (next == member.state) return false;
  BackendState previous = member.state;
  member.state = next;
  ++member.transitions[{previous, next}];
  member.lastTransitionUnixSeconds = unixNow();
  logEvent(next == BackendState::Ready ? LogLevel::Info : LogLevel::Warn, "backend_state",
           {{"service", service_->name()},
            {"backend", member.backend->name()},
            {"from", toString(previous)},
            {"to", toString(next)},
            {"cause", cause},
            {"reason", reason},
            {"restarts", member.probes->tracker().restarts()},
            {"ready_backends", readyCount()},
            {"backends", configuredCount()}});
  return true;
}

void ServiceHealth::publish() {
  std::vector<std::shared_ptr<Backend>> eligible;
  for (const auto& member : members_) {
    if (member->state == BackendState::Ready) eligible.push_back(member->backend);
  }
  bool failOpen = false;
  if (eligible.empty() && service_->config().whenNoneReady == WhenNoneReady::All) {
    // Fail open, but never to a backend an operator took out.
    for (const auto& member : members_) {
      if (member->admin == AdminState::Enabled) eligible.push_back(member->backend);
    }
    failOpen = !eligible.empty();
  }
  service_->publish(std::move(eligible), failOpen);
}

}  // namespace readygate
