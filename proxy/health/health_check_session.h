// The probing of one backend: a scheduler per configured probe, results handed to its owner.
#pragma once

#include <array>
#include <functional>
#include <memory>

#include "config/config_types.h"
#include "proxy/core/clock.h"
#include "proxy/core/socket_address.h"
#include "proxy/probe/probe_scheduler.h"
#include "proxy/probe/prober.h"

namespace readygate {

/// The I/O side of health checking one backend, as ServiceMembers sees it. The real
/// one (HealthCheckSession) runs probers on the control loop; tests put in their own
/// and hand results in by hand on a manual clock.
class HealthChecks {
 public:
  virtual ~HealthChecks() = default;
  /// Starts, restarts (spec changed) or stops (null) the probe of `kind`.
  virtual void setProbe(ProbeKind kind, std::shared_ptr<const ProbeSpec> spec) = 0;
  /// From now on no probe starts and no result or question reaches the hooks; safe
  /// inside a probe callback (the checks themselves are freed later).
  virtual void stop() = 0;
};

/// How a backend's checks report back, and ask whether a probe should run now.
struct HealthCheckHooks {
  std::function<bool(ProbeKind, double now)> isActive;
  std::function<void(ProbeKind, const ProbeResult&)> onResult;
};

/// Makes the checks of one backend; the probes are set with setProbe afterwards.
using HealthCheckFactory =
    std::function<std::unique_ptr<HealthChecks>(const SocketAddress& backend, HealthCheckHooks)>;

/// Makes the prober of one probe of one backend (HTTP, TCP, exec per the spec).
using ProberMaker = std::function<std::unique_ptr<Prober>(ProbeKind kind, const ProbeSpec& spec,
                                                          const SocketAddress& backend)>;

/// The real checks: one ProbeScheduler per configured probe on the control loop.
/// Probe starts are jittered within the first period so that backends added together
/// are not probed in lock step.
class HealthCheckSession : public HealthChecks {
 public:
  HealthCheckSession(event_base* base, const Clock& clock, ProbeTimingStats& stats,
                     ProberMaker makeProber, SocketAddress backend, HealthCheckHooks hooks);
  void setProbe(ProbeKind kind, std::shared_ptr<const ProbeSpec> spec) override;
  void stop() override { stopped_ = true; }

  /// A factory of these for ServiceMembers.
  static HealthCheckFactory factory(event_base* base, const Clock& clock, ProbeTimingStats& stats,
                                    ProberMaker makeProber);

 private:
  event_base* base_;
  const Clock& clock_;
  ProbeTimingStats& stats_;
  ProberMaker makeProber_;
  const SocketAddress backend_;
  HealthCheckHooks hooks_;
  std::array<std::unique_ptr<ProbeScheduler>, 3> schedulers_;  // by ProbeKind
  bool stopped_ = false;
};

}  // namespace readygate
