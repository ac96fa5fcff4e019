// Idle keep-alive connections to backends, per worker: reused by HTTP requests, closed when stale.
#pragma once

#include <list>
#include <memory>
#include <unordered_map>

#include "proxy/core/clock.h"
#include "proxy/core/libevent_handles.h"
#include "proxy/upstream/backend.h"

namespace readygate {

/// One worker's idle upstream connections, by backend. A connection is kept only
/// while its backend is in rotation and not retired, for at most its idle timeout
/// (keep it below the backend's own, so the backend never closes one we are about to
/// use), and at most `maxIdle` per backend. An idle connection on which the backend
/// says anything (a close, stray bytes) is closed at once: it is never handed out.
/// Idle connections hold no BackendLease: they are not traffic.
class UpstreamPool {
 public:
  UpstreamPool(event_base* base, const Clock& clock);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  /// Keeps `connection` (its last response fully read, nothing pending) for reuse, or
  /// closes it when the backend is out of rotation or already has `maxIdle` idle.
  void release(std::shared_ptr<Backend> backend, BufferEventPtr connection, int maxIdle,
               double idleTimeoutSeconds);
  /// The most recently used idle connection to `backend` (callbacks unset), or null.
  BufferEventPtr take(const Backend& backend);
  /// Closes idle connections past their time or whose backend left rotation.
  void sweep();
  size_t idleCount() const { return count_; }

 private:
  struct Entry {
    UpstreamPool* pool;
    std::shared_ptr<Backend> backend;
    BufferEventPtr connection;
    double expiresAt;
  };
  using Entries = std::list<std::unique_ptr<Entry>>;

  static void onIdleEvent(bufferevent*, short, void* entry);
  static void onIdleRead(bufferevent*, void* entry);
  void drop(Entry* entry);

  const Clock& clock_;
  std::unordered_map<const Backend*, Entries> idle_;
  size_t count_ = 0;
};

}  // namespace readygate
