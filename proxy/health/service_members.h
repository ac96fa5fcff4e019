// One service's backends on the control loop: membership diff, probes, admin state, rollout guard.
#pragma once

#include <prometheus/histogram.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config_types.h"
#include "proxy/core/clock.h"
#include "proxy/core/deferred_delete.h"
#include "proxy/core/libevent_handles.h"
#include "proxy/core/timer.h"
#include "proxy/health/backend_state.h"
#include "proxy/health/endpoint_conditions.h"
#include "proxy/health/health_check_session.h"
#include "proxy/health/latency_history.h"
#include "proxy/health/readiness_tracker.h"
#include "proxy/health/rotation.h"
#include "proxy/health/state_event_log.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Control loop only. Owns the backends of a service: their trackers, their checks,
/// their admin state and membership. After every change it asks decideRotation()
/// for each backend's view, logs one line per backend whose state changed, counts the
/// transition, and publishes the new rotation snapshot to the Service.
class ServiceMembers {
 public:
  /// Results so far of one probe of one backend, for readygate_probe_total.
  struct ProbeStats {
    struct OutcomeKey {
      bool success;
      std::string reason;
      auto operator<=>(const OutcomeKey&) const = default;
    };
    std::map<OutcomeKey, uint64_t> outcomes;
    std::unique_ptr<prometheus::Histogram> durations;
  };

  struct Member {
    Member(std::shared_ptr<Backend> backend, ProbeSpecs specs, double now)
        : backend(std::move(backend)), tracker(std::move(specs), now) {}
    std::shared_ptr<Backend> backend;
    ReadinessTracker tracker;
    std::unique_ptr<HealthChecks> checks;  // null once removed
    AdminState admin = AdminState::Enabled;
    Membership membership = Membership::Configured;
    std::string healthCause;  // the probe whose result last changed health
    std::array<ProbeStats, 3> probes;
    LatencyHistory latencies;  // every probe's, of any kind: the console's sparkline
    /// As last decided and published (see decideRotation).
    BackendView view;
    std::map<std::pair<EffectiveState, EffectiveState>, uint64_t> transitions;
    double stateSince = 0;      // Clock seconds of the last change of view.state
    double stateSinceUnix = 0;  // the same as Unix time, for metrics and /status
    double closeDeadline = 0;   // removed: Clock seconds its connections are closed at
    // Passive outlier detection.
    bool ejected = false;
    std::string ejectReason;
    double ejectedUntil = 0;  // Clock seconds
    uint64_t ejections = 0;
    /// What the cluster says of it; none for static, file and DNS endpoints.
    std::optional<ClusterConditions> cluster;
    bool spillover = false;  // terminating, held in rotation by minReady (see BackendFacts)
    bool everReady = false;  // ready at least once since it appeared or started over
  };

  /// What the Kubernetes source adds to its status: its conversation with the API server.
  struct KubernetesSourceStats {
    std::string namespaceName;
    std::string service;
    std::string apiServer;  // where the target came from (in-cluster, kubeconfig FILE ...)
    bool synced = false;    // a whole list has been seen
    std::vector<std::pair<std::string, uint64_t>> eventsByType;   // ADDED, ..., ERROR
    std::vector<std::pair<std::string, uint64_t>> relistsByCause;  // initial, gone_status, ...
    std::map<int, uint64_t> apiErrorsByCode;  // HTTP status; 0: no answer at all
    double lastEventUnix = 0;                 // the last event or bookmark (or list end)
    /// From the arrival of the bytes that changed the set to the rotation change they
    /// caused; shared with the source, which observes into it.
    std::shared_ptr<const prometheus::Histogram> eventToRotation;
  };

  /// One endpoint source as discovery last saw it, for /status and metrics.
  struct SourceStatus {
    std::string source;         // static, file, dns, kubernetes
    size_t endpoints = 0;       // in its last good set
    double lastUpdateUnix = 0;  // when that set was read (0: never / static)
    uint64_t errors = 0;        // failed reads or lookups (the last good set stayed)
    std::string lastError;      // "" after a good read
    std::optional<KubernetesSourceStats> kubernetes;
  };

  ServiceMembers(event_base* base, const Clock& clock, HealthCheckFactory checks,
                 std::shared_ptr<Service> service, std::shared_ptr<const ServiceConfig> config);
  ~ServiceMembers();
  ServiceMembers(const ServiceMembers&) = delete;
  ServiceMembers& operator=(const ServiceMembers&) = delete;

  /// Where state changes are kept besides the log (not owned: the ServiceSet's, which
  /// outlives its services); before start(), or none are kept.
  void setEventLog(StateEventLog* events) { events_ = events; }
  /// Starts probing the configured endpoints and publishes the first rotation.
  void start();
  /// A membership change (reload, discovery): a keyed diff, O(n). New endpoints start
  /// probing; listed ones keep their state; gone ones are removed (their connections
  /// may finish within drainTimeoutSeconds) or, with minReady, leave once enough are ready.
  /// Endpoints with the cluster's conditions (the Kubernetes source): a terminating one gets
  /// no new connections (but as spillover while minReady is unmet, or when nothing else is
  /// left), one the cluster calls not ready is out whatever the probes say. An address
  /// listed twice counts once, with the conditions of the copy that has them.
  void setEndpoints(const std::vector<DiscoveredEndpoint>& endpoints);
  void setEndpoints(const std::vector<SocketAddress>& endpoints);
  /// Reload of this service's settings: changed probes restart on every backend from
  /// its current verdict; minReady and whenNoneReady decide the rotation again. The
  /// settings workers read (timeouts, balance, routes) are published by the app layer
  /// once every service of the reload is known, whole (ServiceSet::publishSettings).
  /// The endpoints come from discovery (setEndpoints).
  void applyConfig(std::shared_ptr<const ServiceConfig> config);
  /// The service left the configuration: every backend is removed (connections drain).
  void retire();
  /// Discovery: what each source says now (its set goes through setEndpoints).
  void setSources(std::vector<SourceStatus> sources) { sources_ = std::move(sources); }
  const std::vector<SourceStatus>& sources() const { return sources_; }
  /// Admin API: false when `address` is not a current backend of this service.
  bool setAdminState(const SocketAddress& address, AdminState admin);

  const Service& service() const { return *service_; }
  const std::shared_ptr<Service>& servicePtr() const { return service_; }
  const ServiceConfig& config() const { return *config_; }
  const std::vector<std::unique_ptr<Member>>& members() const { return members_; }
  const Member* find(const SocketAddress& address) const;
  /// Backends that count toward minReady (configured, enabled, ready).
  size_t readyCount() const { return readyCount_; }
  /// Backends in the configuration now.
  size_t configuredCount() const;
  size_t leavingCount() const;
  bool failingOpen() const { return failOpen_; }
  /// Terminating backends in rotation because nothing else is, and how often the service
  /// has fallen back to them.
  size_t terminatingFallback() const { return terminatingFallback_; }
  /// Moves whenever a backend enters or leaves rotation.
  uint64_t rotationChanges() const { return rotationChanges_; }
  uint64_t terminatingFallbacks() const { return terminatingFallbacks_; }
  bool retired() const { return retired_; }
  /// Retired and every connection gone: the owner may free it.
  bool finished() const { return retired_ && members_.empty(); }
  /// Unix time for a Clock time (close deadlines in /status).
  double unixTime(double clockSeconds) const;
  /// Passive outlier detection, from the failure counts workers keep on each backend:
  /// ejects and returns backends (every 0.25 s from the sweep timer; tests call it).
  void checkOutliers();

 private:
  Member& addMember(const SocketAddress& address);
  void startChecks(Member& member);
  void record(Member& member, ProbeKind kind, const ProbeResult& result);
  static BackendFacts factsOf(const Member& member);
  /// The cluster's new word on a listed member: a pod that starts terminating is held as
  /// spillover only when it counted as ready and `guard` (minReady) is on.
  void updateConditions(Member& member, const std::optional<ClusterConditions>& cluster,
                        bool guard);
  /// Decides every view, lets leaving backends go when minReady is met (or when they
  /// stop serving), logs and counts state changes, publishes the rotation.
  void refresh();
  void onRemoved(Member& member);
  /// A change of `member` for the event log (if any): `to` as it stands now.
  void recordEvent(const Member& member, const char* from, const char* to,
                   const std::string& cause);
  /// Frees removed backends whose last connection is gone (their series vanish).
  void sweepRemoved();
  void onSweep();

  const Clock& clock_;
  HealthCheckFactory makeChecks_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceConfig> config_;
  ProbeSpecs specs_;  // shared by every backend's tracker
  std::vector<SourceStatus> sources_;
  StateEventLog* events_ = nullptr;  // not owned; see setEventLog
  std::vector<std::unique_ptr<Member>> members_;
  std::unordered_map<SocketAddress, Member*, SocketAddressHash> index_;  // every member
  size_t readyCount_ = 0;
  bool failOpen_ = false;
  size_t terminatingFallback_ = 0;
  uint64_t terminatingFallbacks_ = 0;
  uint64_t rotationChanges_ = 0;
  bool retired_ = false;
  DeferredDelete<Member> graveyard_;  // may be freed inside their own probe callback
  DeferredDelete<HealthChecks> stoppedChecks_;
  Timer sweep_;
};

}  // namespace readygate
