// Keeps one service's rotation in step with its backends' probe results and admin states.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/core/child_reaper.h"
#include "proxy/core/clock.h"
#include "proxy/health/health_check_session.h"
#include "proxy/health/backend_state.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Control loop only. Owns the backends of a service and their probes; whenever a
/// backend's effective state changes it logs one line, counts the transition and
/// publishes a new RotationSnapshot (ready and enabled backends).
class ServiceHealth {
 public:
  /// One backend as the control thread knows it.
  struct Member {
    std::shared_ptr<Backend> backend;
    std::unique_ptr<BackendProbes> probes;
    AdminState admin = AdminState::Enabled;
    BackendState state = BackendState::Starting;
    std::map<std::pair<BackendState, BackendState>, uint64_t> transitions;
    double lastTransitionUnixSeconds = 0;
    /// Gone from the configuration but still serving, until minReady configured
    /// backends are ready (the rollout guard).
    bool leaving = false;
    bool removed = false;  // leaves members_ at the end of the current change
  };

  ServiceHealth(event_base* base, ChildReaper& reaper, const Clock& clock,
                std::shared_ptr<Service> service, ProbeTimingStats& stats);

  /// Builds TLS contexts and starts probing the configured endpoints; publishes the
  /// first rotation. Returns an error text on failure.
  std::optional<std::string> start();
  /// Reload: starts probing endpoints that are new, keeps the state of the rest, and
  /// forgets the ones that are gone (their series and status entries go; their open
  /// connections may finish within drainTimeoutSeconds, then workers close them).
  /// With minReady > 0, a gone backend that is still ready keeps serving ("leaving")
  /// until minReady configured backends are ready.
  void setEndpoints(const std::vector<SocketAddress>& endpoints);
  /// Admin API: false when `address` is not a backend of this service.
  bool setAdminState(const std::string& address, AdminState admin);

  const Service& service() const { return *service_; }
  std::shared_ptr<Service> servicePtr() const { return service_; }
  const std::vector<std::unique_ptr<Member>>& members() const { return members_; }
  /// Ready backends that are configured (leaving ones do not count toward minReady).
  size_t readyCount() const;
  /// Backends in the configuration (not the leaving ones).
  size_t configuredCount() const;

 private:
  std::unique_ptr<Member> makeMember(const SocketAddress& address);
  void onHealthChange(Member& member, const HealthChange& change);
  /// Recomputes `member.state`; counts and logs a transition when it changed.
  bool updateState(Member& member, const char* cause, const std::string& reason);
  /// Drops leaving backends once the configured ones satisfy minReady (or once they
  /// stop being ready), and every backend marked removed.
  void settleLeaving();
  void publish();

  ProberContext context_;
  const Clock& clock_;
  std::shared_ptr<Service> service_;
  ProbeTimingStats& stats_;
  ProbeTlsContexts tls_;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<std::unique_ptr<Member>> graveyard_;  // removed, freed on the next loop pass
  EventPtr reap_;
};

}  // namespace readygate
