// A worker's multiplexed HTTP/2 connections to backends, by backend: found with room, made
// when none has any, retired when their backend leaves rotation or they idle out.
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/core/clock.h"
#include "proxy/http/http2_upstream.h"
#include "proxy/upstream/multiplexed_connections.h"

namespace readygate {

/// Each connection carries up to its backend's SETTINGS_MAX_CONCURRENT_STREAMS; a new
/// one is opened (by the exchange's connector) only when every connection to the backend
/// is full, retiring or gone. A backend out of rotation or retired gets GOAWAY on its
/// connections at the next sweep; they close once their open streams are over, within
/// the drain timeout the streams' leases enforce. Connections are deleted only in
/// sweep(), never inside their own callbacks.
class Http2UpstreamPool : public MultiplexedConnections {
 public:
  /// An exchange waiting for a connection being made to its backend.
  class Waiter {
   public:
    virtual ~Waiter() = default;
    /// The connection it waited for is up or will not come: look again (find()). Called
    /// outside the waiter's own callbacks but maybe inside another exchange's: defer.
    virtual void onConnectionSettled() = 0;
  };

  Http2UpstreamPool(event_base* base, const Clock& clock) : base_(base), clock_(clock) {}
  ~Http2UpstreamPool() override;
  Http2UpstreamPool(const Http2UpstreamPool&) = delete;
  Http2UpstreamPool& operator=(const Http2UpstreamPool&) = delete;

  bool hasRoom(const Backend& backend, std::string_view identity) const override;
  void connectStarted(std::shared_ptr<Backend> backend, std::string_view identity) override;
  void connectAbandoned(const Backend& backend, std::string_view identity) override;
  /// Waits for a connection being made to `backend` (not owned; cancelWait() before it
  /// goes). False when none is being made with room left: open one.
  bool wait(const Backend& backend, std::string_view identity, Waiter& waiter);
  void cancelWait(const Backend& backend, Waiter& waiter);
  /// The connection to `backend` with that identity and room for a stream: the one with
  /// the most streams open (so idle ones can time out), or null.
  Http2Upstream* find(const Backend& backend, std::string_view identity) const;
  /// A new connection to `backend` (just connected and through TLS when h2) is started
  /// and kept; null when its session could not start.
  Http2Upstream* adopt(std::shared_ptr<Service> service, std::shared_ptr<Backend> backend,
                       std::string_view identity, std::unique_ptr<StreamConnection> connection,
                       double idleTimeoutSeconds);
  /// Retires connections whose backend left rotation or that idled out, deletes dead ones.
  void sweep();

 private:
  /// Connections being made to one backend with one identity, and who waits for them.
  struct Pending {
    std::string identity;
    int connecting = 0;
    std::vector<Waiter*> waiters;  // not owned
  };
  struct PerBackend {
    std::shared_ptr<Backend> backend;  // keeps the key alive while connections exist
    std::vector<std::unique_ptr<Http2Upstream>> connections;
    std::vector<Pending> pending;
    mutable uint32_t knownMaxStreams = 100;  // what its connections last said (100 until then)
  };
  Pending* pendingFor(PerBackend& entry, std::string_view identity);
  /// One fewer connection is being made: its waiters look again.
  void settle(const Backend& backend, std::string_view identity);
  event_base* base_;
  const Clock& clock_;
  std::unordered_map<const Backend*, PerBackend> byBackend_;
};

}  // namespace readygate
