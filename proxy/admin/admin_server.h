// The admin HTTP listener (libevent evhttp) on the control loop: routes to handlers.
#pragma once

#include <event2/http.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/core/accept_backoff.h"
#include "proxy/core/socket_address.h"

namespace readygate {

struct AdminResponse {
  int code = 200;
  std::string contentType = "application/json";
  std::string body;
};

struct AdminRequest {
  std::string method;         // "GET", "POST", ...
  std::string path;           // without the query, still percent-encoded
  std::string query;          // after '?', "" when none
  std::string host;           // the Host header ("" when absent)
  std::string origin;         // the Origin header ("" when absent)
  std::string authorization;  // the Authorization header ("" when absent)
};

/// Serves the admin API. Handlers run on the control loop, so they may read the
/// probe state directly. Unknown paths answer 404, known paths with a wrong method 405.
class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(event_base* base);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// `path` is exact, or a prefix when it ends with '/'.
  void route(std::string method, std::string path, Handler handler);
  /// Binds; returns an error text on failure.
  std::optional<std::string> listen(const SocketAddress& address);

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };
  static void onRequest(evhttp_request* request, void* self);
  static void onAcceptError(evconnlistener* listener, void* self);
  void handle(evhttp_request* request);

  evhttp* http_;
  std::vector<Route> routes_;
  evconnlistener* listener_ = nullptr;  // owned by http_
  std::unique_ptr<AcceptBackoff> acceptBackoff_;
};

/// `{"error": message}` with `code`.
AdminResponse jsonError(int code, const std::string& message);

}  // namespace readygate
