// A proxied service: its backends, its balancer and the rotation it publishes.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "config/config_types.h"
#include "proxy/upstream/balancer.h"
#include "proxy/upstream/rotation_snapshot.h"

namespace readygate {

/// Owned by the Server. The control thread changes membership and calls `publish`;
/// workers call `snapshot` and `balancer().pick` from any thread.
class Service {
 public:
  explicit Service(ServiceConfig config);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const ServiceConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  Balancer& balancer() const { return *balancer_; }

  /// The current rotation. Lock-free for the reader; safe from any thread.
  std::shared_ptr<const RotationSnapshot> snapshot() const { return snapshot_.load(); }

  /// Control thread only.
  const std::vector<std::shared_ptr<Backend>>& backends() const { return backends_; }
  /// Control thread only: rebuilds and swaps in the rotation from `eligible`.
  void publish(std::vector<std::shared_ptr<Backend>> eligible);

 private:
  const ServiceConfig config_;
  std::unique_ptr<Balancer> balancer_;
  std::vector<std::shared_ptr<Backend>> backends_;
  std::atomic<std::shared_ptr<const RotationSnapshot>> snapshot_;
};

}  // namespace readygate
