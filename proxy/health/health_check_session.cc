// HealthCheckSession implementation.
#include "proxy/health/health_check_session.h"

#include <random>

namespace readygate {
namespace {

/// Where in its first period a probe starts: spread uniformly so that many backends
/// added at once (a start, a reload) are not probed in lock step, as the kubelet does.
double jitter(double periodSeconds) {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, periodSeconds)(random);
}

}  // namespace

HealthCheckSession::HealthCheckSession(event_base* base, const Clock& clock,
                                       ProbeTimingStats& stats, ProberMaker makeProber,
                                       SocketAddress backend, HealthCheckHooks hooks)
    : base_(base),
      clock_(clock),
      stats_(stats),
      makeProber_(std::move(makeProber)),
      backend_(backend),
      hooks_(std::move(hooks)) {}

void HealthCheckSession::setProbe(ProbeKind kind, std::shared_ptr<const ProbeSpec> spec) {
  auto& slot = schedulers_[static_cast<size_t>(kind)];
  // Never called from inside this backend's probe callbacks (reloads come from signal
  // and admin handlers): the attempt in flight is destroyed here, which cancels it.
  slot.reset();
  if (!spec) return;
  slot = std::make_unique<ProbeScheduler>(
      base_, clock_, makeProber_(kind, *spec, backend_), spec->periodSeconds,
      spec->initialDelaySeconds + jitter(spec->periodSeconds), stats_,
      [this, kind](double now) { return !stopped_ && hooks_.isActive(kind, now); },
      [this, kind](const ProbeResult& result) {
        if (!stopped_) hooks_.onResult(kind, result);
      });
}

HealthCheckFactory HealthCheckSession::factory(event_base* base, const Clock& clock,
                                               ProbeTimingStats& stats, ProberMaker makeProber) {
  return [base, &clock, &stats, makeProber](const SocketAddress& backend, HealthCheckHooks hooks) {
    return std::make_unique<HealthCheckSession>(base, clock, stats, makeProber, backend,
                                                std::move(hooks));
  };
}

}  // namespace readygate
