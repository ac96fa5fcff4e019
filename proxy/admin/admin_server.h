// The admin HTTP listener on the control loop: connections, limits, routes to handlers.
#pragma once

#include <event2/listener.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/core/accept_backoff.h"
#include "proxy/core/deferred_delete.h"
#include "proxy/core/socket_address.h"

namespace readygate {

struct AdminResponse {
  AdminResponse(int code = 200, std::string contentType = "application/json",
                std::string body = "")
      : code(code), contentType(std::move(contentType)), body(std::move(body)) {}
  int code = 200;
  std::string contentType = "application/json";
  std::string body;
  /// Instead of `body`: one rendered answer shared by every client that gets it (a
  /// /metrics scrape of 10,000 backends is megabytes; it is queued by reference, never
  /// copied per connection).
  std::shared_ptr<const std::string> sharedBody;
};

struct AdminRequest {
  std::string method;         // "GET", "POST", ...
  std::string path;           // without the query, still percent-encoded
  std::string query;          // after '?', "" when none
  std::string host;           // the Host header ("" when absent)
  std::string origin;         // the Origin header ("" when absent)
  std::string authorization;  // the Authorization header ("" when absent)
};

/// What one admin client may cost. The admin API is a control plane: a flood of
/// connections or a client that never finishes its request must not hold it.
struct AdminLimits {
  int maxConnections = 64;  // open at once; more wait in the kernel's queue
  /// Beyond maxConnections, this many more for /healthz and /readyz only: a liveness
  /// probe must answer even when slow clients hold every other slot.
  int reservedConnections = 4;
  double requestSeconds = 10;  // from a request's first byte to its last
  double writeSeconds = 10;    // for an answer to be taken by the client, else it is closed
  double idleSeconds = 60;     // a kept-alive connection between requests
  size_t maxHeaderBytes = 16 * 1024;
  size_t maxBodyBytes = 64 * 1024;  // the admin API takes no uploads
  /// Answers queued on one connection (shared bodies not counted) past which its next
  /// pipelined request waits: a client that sends and never reads holds this much.
  size_t maxQueuedBytes = 1 << 20;
};

class AdminConnection;

/// Serves the admin API (HTTP/1.1 with keep-alive, read with http-parser). Handlers run
/// on the control loop, so they may read the probe state directly. Unknown paths answer
/// 404, known paths with a wrong method 405.
class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(event_base* base, AdminLimits limits = AdminLimits());
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// `path` is exact, or a prefix when it ends with '/'.
  void route(std::string method, std::string path, Handler handler);
  /// Binds; returns an error text on failure.
  std::optional<std::string> listen(const SocketAddress& address);
  size_t openConnections() const { return connections_.size(); }

 private:
  friend class AdminConnection;
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };
  AdminResponse handle(const AdminRequest& request) const;
  void connectionClosed(AdminConnection* connection);
  void updateAccepting();
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self);
  static void onAcceptError(evconnlistener* listener, void* self);

  event_base* base_;
  AdminLimits limits_;
  std::vector<Route> routes_;
  ListenerPtr listener_;
  std::unordered_map<AdminConnection*, std::unique_ptr<AdminConnection>> connections_;
  std::unique_ptr<DeferredDelete<AdminConnection>> closed_;
  std::unique_ptr<AcceptBackoff> acceptBackoff_;
  bool pausedForLimit_ = false;
};

/// `{"error": message}` with `code`.
AdminResponse jsonError(int code, const std::string& message);

}  // namespace readygate
