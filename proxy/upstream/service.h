// A proxied service as workers see it: config, balancer, published rotation, traffic counters.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "config/config_types.h"
#include "proxy/upstream/balancer.h"
#include "proxy/upstream/rotation_snapshot.h"
#include "proxy/upstream/service_traffic.h"

namespace readygate {

/// Shared by the control thread (which publishes rotations) and the workers (which
/// read them and count traffic). Backends and their state live with the control thread
/// (ServiceHealth); workers only ever see them through a snapshot.
class Service {
 public:
  explicit Service(ServiceConfig config);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const ServiceConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  Balancer& balancer() const { return *balancer_; }
  ServiceTraffic& traffic() { return traffic_; }
  const ServiceTraffic& traffic() const { return traffic_; }

  /// The current rotation. Lock-free for the reader; safe from any thread.
  std::shared_ptr<const RotationSnapshot> snapshot() const { return snapshot_.load(); }
  /// Control thread only: swaps in a new rotation.
  void publish(std::vector<std::shared_ptr<Backend>> eligible, bool failOpen);

 private:
  const ServiceConfig config_;
  std::unique_ptr<Balancer> balancer_;
  ServiceTraffic traffic_;
  std::atomic<std::shared_ptr<const RotationSnapshot>> snapshot_;
};

}  // namespace readygate
