// BackendProbes implementation.
#include "proxy/health/health_check_session.h"

#include <random>

#include "proxy/core/log.h"

namespace readygate {
namespace {

const ProbeSpec* specOf(const std::optional<ProbeSpec>& spec) { return spec ? &*spec : nullptr; }

/// Where in its first period a probe starts: spread uniformly so that many backends
/// added at once (a start, a reload) are not probed in lock step, as the kubelet does.
double jitter(double periodSeconds) {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, periodSeconds)(random);
}

}  // namespace

BackendProbes::BackendProbes(const ProberContext& context, const Clock& clock,
                             const ServiceConfig& service, std::shared_ptr<Backend> backend,
                             const ProbeTlsContexts& tls, ProbeTimingStats& stats,
                             OnChange onChange)
    : clock_(clock),
      backend_(std::move(backend)),
      tracker_(specOf(service.startupProbe), specOf(service.readinessProbe),
               specOf(service.livenessProbe), clock.now()),
      onChange_(std::move(onChange)) {
  for (ProbeKind kind : kAllProbeKinds) {
    const std::optional<ProbeSpec>& spec = probeOf(service, kind);
    if (!spec) continue;
    const ProbeSpec& probe = *spec;
    size_t slot = static_cast<size_t>(kind);
    durations_[slot] =
        std::make_unique<prometheus::Histogram>(prometheus::Histogram::BucketBoundaries{
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    auto prober = makeProber(context, probe, backend_->address(), tls[slot]);
    schedulers_[slot] = std::make_unique<ProbeScheduler>(
        context.base, clock_, std::move(prober), probe.periodSeconds,
        probe.initialDelaySeconds + jitter(probe.periodSeconds), stats,
        [this, kind](double now) { return tracker_.isActive(kind, now); },
        [this, kind](const ProbeResult& result) { onResult(kind, result); });
  }
}

void BackendProbes::onResult(ProbeKind kind, const ProbeResult& result) {
  if (logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "probe_result",
             {{"backend", backend_->name()},
              {"probe", toString(kind)},
              {"result", result.success ? "success" : "failure"},
              {"reason", result.reason},
              {"latency_seconds", result.latencySeconds},
              {"message", result.message}});
  }
  size_t slot = static_cast<size_t>(kind);
  ++outcomes_[slot][OutcomeKey{result.success, result.reason}];
  durations_[slot]->Observe(result.latencySeconds);
  std::optional<HealthChange> change = tracker_.record(kind, result, clock_.now());
  if (change) onChange_(*backend_, *change);
}

}  // namespace readygate
