// AdminServer implementation.
#include "proxy/admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "proxy/core/json_writer.h"

namespace readygate {
namespace {

const char* methodName(evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "UNKNOWN";
}

bool matches(const std::string& pattern, const std::string& path) {
  if (!pattern.empty() && pattern.back() == '/') return path.rfind(pattern, 0) == 0;
  return pattern == path;
}

}  // namespace

namespace {

constexpr std::string_view kAdminRefusal =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

std::mutex& serversMutex() {
  static std::mutex mutex;
  return mutex;
}

std::unordered_map<evhttp*, AdminServer*>& servers() {
  static std::unordered_map<evhttp*, AdminServer*> byHttp;
  return byHttp;
}

}  // namespace

AdminResponse jsonError(int code, const std::string& message) {
  JsonWriter json;
  json.beginObject().key("error").value(message).endObject();
  return AdminResponse{code, "application/json", json.str() + "\n"};
}

AdminServer::AdminServer(event_base* base) : http_(evhttp_new(base)) {
  {
    std::lock_guard lock(serversMutex());
    servers()[http_] = this;
  }
  acceptBackoff_ = std::make_unique<AcceptBackoff>(base, "admin", [this](bool paused) {
    if (listener_ == nullptr) return;
    if (paused) {
      evconnlistener_disable(listener_);
    } else {
      evconnlistener_enable(listener_);
    }
  });
  evhttp_set_gencb(http_, &AdminServer::onRequest, this);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
  evhttp_set_timeout(http_, 10);
  // The admin API takes no uploads: small limits keep a confused client from costing memory.
  evhttp_set_max_headers_size(http_, 16 * 1024);
  evhttp_set_max_body_size(http_, 64 * 1024);
}

AdminServer::~AdminServer() {
  {
    std::lock_guard lock(serversMutex());
    servers().erase(http_);
  }
  acceptBackoff_.reset();
  evhttp_free(http_);
}

void AdminServer::route(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler)});
}

std::optional<std::string> AdminServer::listen(const SocketAddress& address) {
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(http_, address.host().c_str(), address.port());
  if (bound == nullptr) return "bind " + address.toString() + ": " + strerror(errno);
  // Without an error callback libevent retries a failing accept() on every loop pass and
  // logs each time: out of descriptors, the control thread would spin.
  listener_ = evhttp_bound_socket_get_listener(bound);
  evconnlistener_set_error_cb(listener_, &AdminServer::onAcceptError);
  return std::nullopt;
}

void AdminServer::onAcceptError(evconnlistener* listener, void* http) {
  // The listener's argument is evhttp's own (its evhttp*), so find ourselves by it.
  AdminServer* self = nullptr;
  {
    std::lock_guard lock(serversMutex());
    auto found = servers().find(static_cast<evhttp*>(http));
    if (found != servers().end()) self = found->second;
  }
  if (self == nullptr) return;
  self->acceptBackoff_->onAcceptError(evconnlistener_get_fd(listener), EVUTIL_SOCKET_ERROR(),
                                      kAdminRefusal);
}

void AdminServer::onRequest(evhttp_request* request, void* self) {
  static_cast<AdminServer*>(self)->handle(request);
}

void AdminServer::handle(evhttp_request* request) {
  AdminRequest parsed;
  parsed.method = methodName(evhttp_request_get_command(request));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = evhttp_uri_get_path(uri);
  const char* query = evhttp_uri_get_query(uri);
  parsed.path = path && *path ? path : "/";
  parsed.query = query ? query : "";
  if (parsed.method == "HEAD") parsed.method = "GET";
  evkeyvalq* input = evhttp_request_get_input_headers(request);
  auto header = [&](const char* name) {
    const char* value = evhttp_find_header(input, name);
    return std::string(value ? value : "");
  };
  parsed.host = header("Host");
  parsed.origin = header("Origin");
  parsed.authorization = header("Authorization");

  AdminResponse response;
  bool pathKnown = false;
  const Route* chosen = nullptr;
  for (const Route& route : routes_) {
    if (!matches(route.path, parsed.path)) continue;
    pathKnown = true;
    if (route.method == parsed.method) {
      chosen = &route;
      break;
    }
  }
  if (chosen) {
    response = chosen->handler(parsed);
  } else if (pathKnown) {
    response = jsonError(405, "method " + parsed.method + " not allowed on " + parsed.path);
  } else {
    response = jsonError(404, "no such endpoint: " + parsed.path);
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", response.contentType.c_str());
  evbuffer* body = evbuffer_new();
  evbuffer_add(body, response.body.data(), response.body.size());
  evhttp_send_reply(request, response.code, nullptr, body);
  evbuffer_free(body);
}

}  // namespace readygate
