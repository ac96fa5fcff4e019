// A proxied service as workers see it: its settings, its published rotation, its traffic counters.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "proxy/upstream/connection_admission.h"
#include "proxy/upstream/rotation_snapshot.h"
#include "proxy/upstream/service_settings.h"
#include "proxy/upstream/service_traffic.h"

namespace readygate {

/// Shared by the control thread (which publishes settings and rotations) and the
/// workers (which read them and count traffic). Backends and their health live on the
/// control thread (health/); workers only see them through a snapshot.
class Service {
 public:
  Service(std::string name, std::shared_ptr<const ServiceSettings> settings);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const { return name_; }
  ServiceTraffic& traffic() { return traffic_; }
  const ServiceTraffic& traffic() const { return traffic_; }
  /// Open client connections, for maxConnections and maxConnectionsPerClient.
  ConnectionCount& clients() { return clients_; }

  /// Lock-free for the reader; safe from any thread.
  std::shared_ptr<const RotationSnapshot> snapshot() const { return snapshot_.load(); }
  std::shared_ptr<const ServiceSettings> settings() const { return settings_.load(); }

  /// Control thread only: swap in a new rotation / new settings.
  void publish(std::vector<std::shared_ptr<Backend>> eligible, bool failOpen,
               std::vector<double> readySince = {}, double slowStartSeconds = 0);
  void publishSettings(std::shared_ptr<const ServiceSettings> settings) {
    settings_.store(std::move(settings));
  }

 private:
  const std::string name_;
  ServiceTraffic traffic_;
  ConnectionCount clients_;
  std::atomic<std::shared_ptr<const RotationSnapshot>> snapshot_;
  std::atomic<std::shared_ptr<const ServiceSettings>> settings_;
};

}  // namespace readygate
