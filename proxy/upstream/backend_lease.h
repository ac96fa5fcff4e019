// RAII accounting of one connection to a backend, and the per-worker index that drains by backend.
#pragma once

#include <memory>
#include <unordered_map>

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

class BackendLease;

/// One worker's open leases, indexed by backend, so a drain deadline is checked per
/// backend (a few hundred a worker) rather than per connection. Worker thread only.
/// Each backend's leases form an intrusive list through the leases themselves, and a
/// backend's entry stays while it has none (until the next closeExpired), so taking and
/// letting go of a lease per request allocates nothing.
class BackendLeases {
 public:
  /// Closes every target whose backend was retired and whose deadline is past `now`.
  void closeExpired(double now);
  /// Backends with at least one lease.
  size_t backendCount() const;

 private:
  friend class BackendLease;
  void add(BackendLease* lease);
  void remove(BackendLease* lease);

  std::unordered_map<Backend*, BackendLease*> byBackend_;  // not owned: the list heads
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
  friend class BackendLeases;
  std::shared_ptr<Backend> backend_;
  BackendLeases& leases_;
  DrainTarget& target_;
  BackendLease* previous_ = nullptr;  // not owned: the backend's list in leases_
  BackendLease* next_ = nullptr;
};

}  // namespace readygate
