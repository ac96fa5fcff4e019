// One upstream endpoint of a service, shared by the control thread and the workers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>

#include "proxy/core/socket_address.h"

namespace readygate {

/// An upstream endpoint. The control thread decides whether it is in rotation;
/// workers only count the connections they open to it (for least_conn), which is
/// why those counters are atomic and nothing else here is mutable.
class Backend {
 public:
  explicit Backend(SocketAddress address) : address_(address), name_(address.toString()) {}
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const SocketAddress& address() const { return address_; }
  /// "host:port" as used in logs, /status and metric labels.
  const std::string& name() const { return name_; }

  int activeConnections() const { return active_.load(std::memory_order_relaxed); }
  uint64_t connectionsTotal() const { return total_.load(std::memory_order_relaxed); }
  uint64_t connectFailures() const { return connectFailures_.load(std::memory_order_relaxed); }
  /// A worker picked this backend for a connection (counted from the pick, so that
  /// least_conn sees connections that are still connecting). Called by BackendLease only.
  void connectionOpened() {
    active_.fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
  }
  void connectionClosed() { active_.fetch_sub(1, std::memory_order_relaxed); }
  void connectFailed() {
    connectFailures_.fetch_add(1, std::memory_order_relaxed);
    consecutiveConnectFailures_.fetch_add(1, std::memory_order_relaxed);
  }
  void connected() { consecutiveConnectFailures_.store(0, std::memory_order_relaxed); }
  /// HTTP: a response from this backend with `status` reached the client.
  void responded(int status) {
    int index = status / 100 - 1;
    if (index >= 0 && index < 5)
      responses_[static_cast<size_t>(index)].fetch_add(1, std::memory_order_relaxed);
    if (status >= 500) {
      consecutive5xx_.fetch_add(1, std::memory_order_relaxed);
    } else {
      consecutive5xx_.store(0, std::memory_order_relaxed);
    }
  }
  /// Failures in a row that passive outlier detection reads (control thread); reset
  /// by the next success, and by the control thread when it ejects.
  int consecutive5xx() const { return consecutive5xx_.load(std::memory_order_relaxed); }
  int consecutiveConnectFailures() const {
    return consecutiveConnectFailures_.load(std::memory_order_relaxed);
  }
  void resetConsecutiveFailures() {
    consecutive5xx_.store(0, std::memory_order_relaxed);
    consecutiveConnectFailures_.store(0, std::memory_order_relaxed);
  }
  /// HTTP/2 to backends: connections open (all workers), GOAWAYs the backend sent.
  void h2ConnectionOpened() { h2Connections_.fetch_add(1, std::memory_order_relaxed); }
  void h2ConnectionClosed() { h2Connections_.fetch_sub(1, std::memory_order_relaxed); }
  int h2Connections() const { return h2Connections_.load(std::memory_order_relaxed); }
  void h2GoawaysReceived(uint64_t count) { h2Goaways_.fetch_add(count, std::memory_order_relaxed); }
  uint64_t h2GoawaysReceived() const { return h2Goaways_.load(std::memory_order_relaxed); }
  /// Responses by class: [0] 1xx ... [4] 5xx.
  uint64_t responses(size_t classIndex) const {
    return responses_[classIndex].load(std::memory_order_relaxed);
  }

  /// Control thread, at every publication: whether new traffic may go to it. Workers
  /// read it to close pooled idle connections to a backend that left rotation.
  void setInRotation(bool inRotation) { inRotation_.store(inRotation, std::memory_order_relaxed); }
  bool inRotation() const { return inRotation_.load(std::memory_order_relaxed); }

  /// Control thread, when the backend leaves the configuration: its open connections
  /// may run until `deadline` (SteadyClock seconds), then their workers close them.
  void retire(double deadline) { retireDeadline_.store(deadline, std::memory_order_relaxed); }
  /// Control thread: listed again before its connections were gone.
  void unretire() {
    retireDeadline_.store(std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
  }
  /// +infinity while the backend is configured.
  double retireDeadline() const { return retireDeadline_.load(std::memory_order_relaxed); }

 private:
  const SocketAddress address_;
  const std::string name_;
  std::atomic<int> active_{0};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> connectFailures_{0};
  std::array<std::atomic<uint64_t>, 5> responses_{};
  std::atomic<int> h2Connections_{0};
  std::atomic<uint64_t> h2Goaways_{0};
  std::atomic<int> consecutive5xx_{0};
  std::atomic<int> consecutiveConnectFailures_{0};
  std::atomic<bool> inRotation_{false};
  std::atomic<double> retireDeadline_{std::numeric_limits<double>::infinity()};
};

}  // namespace readygate
