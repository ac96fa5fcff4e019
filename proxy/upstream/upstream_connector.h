// Choosing and connecting to a backend for one client: pick, exclude, retry, connect timeout.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "proxy/core/clock.h"
#include "proxy/core/timer.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/upstream/backend_lease.h"
#include "proxy/upstream/multiplexed_connections.h"
#include "proxy/upstream/service.h"
#include "proxy/upstream/upstream_pool.h"

namespace readygate {

/// Shared by TCP sessions and HTTP exchanges; knows nothing of its client's
/// type. Picks a backend from the current rotation snapshot, connects with the
/// service's connect timeout, and on a refused or timed-out connect tries another one,
/// never the same backend twice for one client, up to retries. Holds the
/// BackendLease (connection accounting, drain) for the backend it ends up on.
///
/// A session keeps one connector for its life and calls connect() per request: its
/// timers, lease and list of tried backends are reused, so a request allocates nothing.
class UpstreamConnector : private StreamConnection::Handler {
 public:
  class Client {
   public:
    virtual ~Client() = default;
    /// Connected: take the connection with takeConnection().
    virtual void onUpstreamConnected() = 0;
    /// No backend could be had: "no_ready_backend", "connect_retries_exhausted",
    /// "all_backends_failed", "upstream_tls_verify_failed", "upstream_tls_handshake_failed".
    /// Never called inside connect().
    virtual void onUpstreamFailed(std::string_view reason) = 0;
  };

  /// With a `pool`, an idle connection to the picked backend is reused when there is one.
  UpstreamConnector(event_base* base, std::shared_ptr<Service> service,
                    std::shared_ptr<const ServiceSettings> settings, BackendLeases& leases,
                    DrainTarget* drainTarget, Client& client, BufferPool& buffers,
                    UpstreamPool* pool = nullptr);
  ~UpstreamConnector();
  UpstreamConnector(const UpstreamConnector&) = delete;
  UpstreamConnector& operator=(const UpstreamConnector&) = delete;

  /// The client's addresses, for the PROXY header a service with sendProxyProtocol puts
  /// before every new upstream connection (such connections are never pooled: each
  /// speaks for one client).
  /// Not owned: the session's, which outlive every connect().
  void setClientAddresses(const SocketAddress* client, const SocketAddress* local) {
    clientAddress_ = client;
    localAddress_ = local;
  }
  /// The request's Host without its port, for a TLS upstream without a configured
  /// serverName: the SNI sent and the name verified. "" (TCP mode, no Host): the
  /// endpoint's address. Not copied: the caller keeps it alive until connected.
  void setServerName(std::string_view name) { requestName_ = name; }
  /// For the next connect(): the backend protocol multiplexes (HTTP/2). A picked backend
  /// with a connection that has room is reported connected at once with no connection
  /// to take (reused() true): the caller opens its stream there. Null: HTTP/1.1.
  /// Not owned: the worker's.
  void setMultiplexed(MultiplexedConnections* connections) { multiplexed_ = connections; }
  /// Starts with the first pick (a new request: whatever the last one did is let go).
  /// The outcome arrives through `client`.
  void connect();
  /// For a new request: `service` (a route's), its settings, and who a drain deadline of
  /// the backend closes.
  void retarget(std::shared_ptr<Service> service, std::shared_ptr<const ServiceSettings> settings,
                DrainTarget& drainTarget);
  /// After onUpstreamConnected: the connected connection; its handler is still this
  /// connector, so set another before reading.
  /// A multiplexed connection taken is the taker's to adopt (or abandon) in the pool.
  std::unique_ptr<StreamConnection> takeConnection() {
    pendingMultiplexed_ = false;
    return std::move(connection_);
  }
  /// The backend connected or connecting to; null before, after failure and after release.
  const Backend* backend() const { return lease_ ? &lease_->backend() : nullptr; }
  /// Ends the connection's accounting (the session closed its upstream side); nothing
  /// more is reported to the client.
  void release();
  /// The connection failed after it was handed over, before any answer: move on to
  /// another backend as after a failed connect (same budget, never the same backend).
  void retry(std::string_view reason);
  /// The connection came from the pool and failed before any answer (the backend had
  /// closed it, or dropped the request): once per request, a new connection to the same
  /// backend, outside the retry budget. False when that was done already or the
  /// connection was new; then retry() is what is left.
  bool retryFresh();
  /// The backend never began the request (an HTTP/2 stream refused, or above a GOAWAY's
  /// last stream): another backend, outside the retry budget (at most kMaxUnprocessed
  /// times a request). The same backend may be picked again while it is in rotation:
  /// its new connection is a new chance. False when that budget is spent.
  bool retryUnprocessed();
  static constexpr int kMaxUnprocessed = 8;
  /// Backends tried so far for this request (1 + retries).
  size_t attempts() const { return tried_.size(); }
  /// The last connection handed over came from the pool.
  bool reused() const { return reused_; }
  /// The backend connected to, shared (for the pool), null when none.
  std::shared_ptr<Backend> backendPtr() const;
  /// What the connection is bound to beyond its backend, for the pool: "" for plain TCP;
  /// with TLS the client context and the server name, so a connection is reused only
  /// for the same backend, SNI and client certificate.
  const std::string& identity() const { return identity_; }

 private:
  void tryNext();
  /// Opens a new connection to the leased backend.
  void connectLeased();
  void onConnectFailed(std::string_view reason);
  void fail(std::string_view reason);
  /// The current backend failed: logs `event`, lets it go, tries another while the
  /// retry budget lasts, else fails with `exhausted`.
  void moveOn(std::string_view event, std::string_view reason, std::string_view exhausted);
  void onDeferredConnected();
  void onBackoff();
  void onTimeout();
  void onDeferredFailure();
  // Until the client takes the connection its callbacks come here: onConnected for a new
  // one; for one from the pool (still reading, as idle ones do) a close or stray bytes
  // before the handover, which make it stale.
  void onConnected(StreamConnection& connection, int error) override;
  /// A new connection is up and the service speaks TLS to its backends: the PROXY
  /// header (plaintext, before the handshake), then the handshake.
  void startTls();
  void onHandshake(StreamConnection& connection, int error) override;
  /// Connected (and through the handshake): the backend and the duration are counted.
  void connected();
  void onInput(StreamConnection&) override { pooledWentStale(); }
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection&, int) override { pooledWentStale(); }
  void pooledWentStale();

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;
  BackendLeases& leases_;
  DrainTarget* drainTarget_;  // not owned: the session the connection serves
  Client& client_;
  BufferPool& buffers_;
  std::optional<BackendLease> lease_;
  std::vector<const Backend*> tried_;  // cleared per request, its capacity kept
  std::unique_ptr<StreamConnection> connection_;
  // Each made on first use: a request served from the pool needs no connect timeout,
  // failure or backoff timer.
  Timer timer_;
  Timer deferredFailure_;
  std::string_view failure_;
  // Every backend refused (one pod restarting on its port, say): they are all tried
  // again after a short backoff, while the connect timeout since the first try lasts.
  static constexpr int kMaxBackoffs = 8;
  Timer backoffTimer_;
  int backoffs_ = 0;
  bool lastRefused_ = false;
  timeval firstAttemptAt_{};
  bool freshRetried_ = false;
  int unprocessedRetries_ = 0;
  size_t unprocessedKept_ = 0;  // of tried_, backends left after an unprocessed stream
  MultiplexedConnections* multiplexed_ = nullptr;  // not owned (see setMultiplexed)
  bool pendingMultiplexed_ = false;  // told multiplexed_ of a connection being made
  /// The connection being made, if multiplexed_ was told of it, is not coming.
  void abandonPending();
  bool closeRetried_ = false;  // retry() after a new connection closed: backoff once
  timeval connectStartedAt_{};
  SteadyClock clock_;  // the control thread's clock: slow-start times come from it
  UpstreamPool* pool_;
  const SocketAddress* clientAddress_ = nullptr;  // not owned (see setClientAddresses)
  const SocketAddress* localAddress_ = nullptr;   // not owned
  bool reused_ = false;
  Timer deferredConnected_;
  std::string_view requestName_;  // not owned (see setServerName)
  std::string serverName_;        // TLS: the name of the current backend's connection
  std::string identity_;
  std::string_view tlsFailure_;  // the last attempt's TLS failure (a literal), if it was one
};

}  // namespace readygate
