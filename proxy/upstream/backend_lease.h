// RAII accounting of one connection to a backend, and the per-worker index that drains by backend.
#pragma once

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "proxy/upstream/backend.h"

namespace readygate {

/// Something holding an upstream connection that a drain deadline can close: a client
/// session today, a pooled idle connection with HTTP.
class DrainTarget {
 public:
  virtual ~DrainTarget() = default;
  /// The backend was removed and its drain time is up: close now.
  virtual void closeForDrain() = 0;
};

/// One worker's open leases, indexed by backend, so a drain deadline is checked per
/// backend (a few hundred a worker) rather than per connection. Worker thread only.
class BackendLeases {
 public:
  /// Closes every target whose backend was retired and whose deadline is past `now`.
  void closeExpired(double now);
  size_t backendCount() const { return byBackend_.size(); }

 private:
  friend class BackendLease;
  void add(Backend* backend, DrainTarget* target) { byBackend_[backend].insert(target); }
  void remove(Backend* backend, DrainTarget* target);

  std::unordered_map<Backend*, std::unordered_set<DrainTarget*>> byBackend_;
};

/// Counts a connection to `backend` for as long as it lives (active connections for
/// least_conn and /status, the total for metrics) and registers `target` for drain.
class BackendLease {
 public:
  BackendLease(std::shared_ptr<Backend> backend, BackendLeases& leases, DrainTarget& target);
  ~BackendLease();
  BackendLease(const BackendLease&) = delete;
  BackendLease& operator=(const BackendLease&) = delete;

  Backend& backend() const { return *backend_; }
  const std::shared_ptr<Backend>& backendPtr() const { return backend_; }

 private:
  std::shared_ptr<Backend> backend_;
  BackendLeases& leases_;
  DrainTarget& target_;
};

}  // namespace readygate
