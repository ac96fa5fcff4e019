// The startup, readiness and liveness probes of one backend, feeding its ReadinessTracker.
#pragma once

#include <prometheus/histogram.h>

#include <array>
#include <functional>
#include <map>
#include <memory>

#include "config/config_types.h"
#include "proxy/core/clock.h"
#include "proxy/probe/tls_client_context.h"
#include "proxy/probe/probe_scheduler.h"
#include "proxy/probe/prober_factory.h"
#include "proxy/upstream/backend.h"
#include "proxy/health/readiness_tracker.h"

namespace readygate {

/// TLS contexts of a service's HTTPS probes, one per probe kind (null when not HTTPS).
using ProbeTlsContexts = std::array<std::shared_ptr<const TlsClientContext>, 3>;

/// Owns one backend's probe schedulers and its tracker; runs on the control loop.
/// Results flow one way: scheduler -> tracker -> `onChange` (which republishes).
class BackendProbes {
 public:
  using OnChange = std::function<void(const Backend&, const HealthChange&)>;

  BackendProbes(const ProberContext& context, const Clock& clock, const ServiceConfig& service,
                std::shared_ptr<Backend> backend, const ProbeTlsContexts& tls,
                ProbeTimingStats& stats, OnChange onChange);

  const Backend& backend() const { return *backend_; }
  const std::shared_ptr<Backend>& backendPtr() const { return backend_; }
  const ReadinessTracker& tracker() const { return tracker_; }

  /// Results so far of one probe kind, by outcome and reason (for readygate_probe_total).
  struct OutcomeKey {
    bool success;
    std::string reason;
    auto operator<=>(const OutcomeKey&) const = default;
  };
  const std::map<OutcomeKey, uint64_t>& outcomes(ProbeKind kind) const {
    return outcomes_[static_cast<size_t>(kind)];
  }
  /// Latency of one probe kind (null when that probe is not configured).
  const prometheus::Histogram* durations(ProbeKind kind) const {
    return durations_[static_cast<size_t>(kind)].get();
  }

 private:
  void onResult(ProbeKind kind, const ProbeResult& result);

  std::array<std::map<OutcomeKey, uint64_t>, 3> outcomes_;
  std::array<std::unique_ptr<prometheus::Histogram>, 3> durations_;
  const Clock& clock_;
  std::shared_ptr<Backend> backend_;
  ReadinessTracker tracker_;
  OnChange onChange_;
  std::array<std::unique_ptr<ProbeScheduler>, 3> schedulers_;  // by ProbeKind
};

}  // namespace readygate
