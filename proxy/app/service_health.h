// Keeps one service's rotation in step with its backends' probe results.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/core/child_reaper.h"
#include "proxy/core/clock.h"
#include "proxy/probe/backend_probes.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Control loop only. Owns the BackendProbes of a service; whenever a backend's health
/// changes it logs one line and publishes a new RotationSnapshot of the ready ones.
class ServiceHealth {
 public:
  ServiceHealth(event_base* base, ChildReaper& reaper, const Clock& clock,
                std::shared_ptr<Service> service, ProbeTimingStats& stats);

  /// Builds TLS contexts and starts probing; publishes the first rotation (only
  /// backends without a readiness probe are in it). Returns an error text on failure.
  std::optional<std::string> start();

  const Service& service() const { return *service_; }
  const std::vector<std::unique_ptr<BackendProbes>>& backends() const { return backends_; }
  size_t readyCount() const;

 private:
  void onChange(const Backend& backend, const HealthChange& change);
  void publish();

  ProberContext context_;
  const Clock& clock_;
  std::shared_ptr<Service> service_;
  ProbeTimingStats& stats_;
  std::vector<std::unique_ptr<BackendProbes>> backends_;
};

}  // namespace readygate
