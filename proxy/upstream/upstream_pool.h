// Idle keep-alive connections to backends, per worker: reused by HTTP requests, closed when stale.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/core/clock.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/upstream/backend.h"

namespace readygate {

/// One worker's idle upstream connections, by backend. A connection is kept only
/// while its backend is in rotation and not retired, for at most its idle timeout
/// (keep it below the backend's own, so the backend never closes one we are about to
/// use), and at most `maxIdle` per backend. An idle connection on which the backend
/// says anything (a close, stray bytes) is closed at once: it is never handed out.
/// Idle connections hold no BackendLease: they are not traffic.
///
/// A backend's list stays (empty) once made, until sweep(), so keeping and taking a
/// connection per request allocates nothing.
class UpstreamPool : private StreamConnection::Handler {
 public:
  explicit UpstreamPool(const Clock& clock);
  ~UpstreamPool() override;
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  /// Keeps `connection` (its last response fully read, nothing pending) for reuse, or
  /// closes it when the backend is out of rotation or already has `maxIdle` idle.
  /// `identity` is what else the connection is bound to beyond its backend (TLS: the
  /// client context and the server name); "" for plain TCP.
  void release(std::shared_ptr<Backend> backend, std::unique_ptr<StreamConnection> connection,
               std::string_view identity, int maxIdle, double idleTimeoutSeconds);
  /// The most recently used idle connection to `backend` with that identity, or null.
  /// Its read event is still registered; the new owner sets its handler.
  std::unique_ptr<StreamConnection> take(const Backend& backend, std::string_view identity = {});
  /// Closes idle connections past their time or whose backend left rotation.
  void sweep();
  size_t idleCount() const { return count_; }

 private:
  struct Entry {
    std::unique_ptr<StreamConnection> connection;
    double expiresAt;
    std::string identity;
  };
  struct Idle {
    std::shared_ptr<Backend> backend;  // keeps the key alive while entries exist
    std::vector<Entry> entries;
  };

  // Any callback on an idle connection (bytes nobody asked for, a close, an error): it
  // is out of step with HTTP or gone, and must never be handed out.
  void onInput(StreamConnection& connection) override { drop(connection); }
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection& connection, int) override { drop(connection); }
  void drop(StreamConnection& connection);

  const Clock& clock_;
  std::unordered_map<const Backend*, Idle> idle_;
  size_t count_ = 0;
};

}  // namespace readygate
