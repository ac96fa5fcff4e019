// AdminServer implementation: one AdminConnection per client, http-parser for requests.
#include "proxy/admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/http_status.h"
#include "proxy/core/json_writer.h"
#include "proxy/core/log.h"
#include "proxy/core/timer.h"

namespace readygate {
namespace {

constexpr std::string_view kAdminRefusal =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// On every answer, the console's and the API's alike: scripts and styles only from the
// admin's own origin (no inline script, so a pod's string that slipped into markup could not
// run), never framed (clickjacking of its buttons), no type guessing, nothing cached.
constexpr const char* kSecurityHeaders =
    "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n";

bool matches(const std::string& pattern, const std::string& path) {
  // "/" is the console's page alone: as a prefix it would answer every path.
  if (pattern.size() > 1 && pattern.back() == '/') return path.rfind(pattern, 0) == 0;
  return pattern == path;
}

}  // namespace

/// One admin client: reads requests one after another (pipelined ones wait their turn),
/// answers each, closes on error, at the request deadline or when idle too long.
class AdminConnection {
 public:
  /// `reserved`: accepted past maxConnections, for /healthz and /readyz only.
  AdminConnection(AdminServer& server, evutil_socket_t fd, bool reserved)
      : server_(server),
        timer_(Timer::calling<&AdminConnection::onDeadline>(server.base_, this)),
        reserved_(reserved) {
    // An answer leaves as its head and its body: with Nagle's algorithm the body would wait
    // for the client's delayed ACK of the head (40 ms on Linux) on every large answer.
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    bev_.reset(bufferevent_socket_new(server.base_, fd, BEV_OPT_CLOSE_ON_FREE));
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_message_begin = &AdminConnection::onMessageBegin;
    settings_.on_url = &AdminConnection::onUrl;
    settings_.on_header_field = &AdminConnection::onHeaderField;
    settings_.on_header_value = &AdminConnection::onHeaderValue;
    settings_.on_headers_complete = &AdminConnection::onHeadersComplete;
    settings_.on_body = &AdminConnection::onBody;
    settings_.on_message_complete = &AdminConnection::onMessageComplete;
  }

  bool start() {
    if (!bev_) return false;
    bufferevent_setcb(bev_.get(), &AdminConnection::onRead, &AdminConnection::onWrite,
                      &AdminConnection::onEvent, this);
    bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
    arm(server_.limits_.requestSeconds);  // a client that connects must say something
    return true;
  }

 private:
  static AdminConnection* from(http_parser* parser) {
    return static_cast<AdminConnection*>(parser->data);
  }

  static int onMessageBegin(http_parser* parser) {
    AdminConnection* self = from(parser);
    self->request_ = AdminRequest{};
    self->url_.clear();
    self->field_.clear();
    self->value_.clear();
    self->lastWasValue_ = false;
    self->headerBytes_ = 0;
    self->bodyBytes_ = 0;
    self->arm(self->server_.limits_.requestSeconds);
    return 0;
  }

  static int onUrl(http_parser* parser, const char* at, size_t length) {
    AdminConnection* self = from(parser);
    self->url_.append(at, length);
    return self->countHeader(length);
  }

  static int onHeaderField(http_parser* parser, const char* at, size_t length) {
    AdminConnection* self = from(parser);
    if (self->lastWasValue_) self->keepHeader();
    self->lastWasValue_ = false;
    self->field_.append(at, length);
    return self->countHeader(length);
  }

  static int onHeaderValue(http_parser* parser, const char* at, size_t length) {
    AdminConnection* self = from(parser);
    self->lastWasValue_ = true;
    self->value_.append(at, length);
    return self->countHeader(length);
  }

  static int onHeadersComplete(http_parser* parser) {
    AdminConnection* self = from(parser);
    if (self->lastWasValue_) self->keepHeader();
    return 0;
  }

  static int onBody(http_parser* parser, const char*, size_t length) {
    AdminConnection* self = from(parser);
    self->bodyBytes_ += length;
    if (self->bodyBytes_ > self->server_.limits_.maxBodyBytes) {
      self->tooLarge_ = 413;
      return -1;
    }
    return 0;
  }

  static int onMessageComplete(http_parser* parser) {
    http_parser_pause(parser, 1);  // answered after execute returns, one at a time
    return 0;
  }

  int countHeader(size_t length) {
    headerBytes_ += length;
    if (headerBytes_ > server_.limits_.maxHeaderBytes) {
      tooLarge_ = 431;
      return -1;
    }
    return 0;
  }

  void keepHeader() {
    if (strcasecmp(field_.c_str(), "Host") == 0) request_.host = value_;
    if (strcasecmp(field_.c_str(), "Origin") == 0) request_.origin = value_;
    if (strcasecmp(field_.c_str(), "Authorization") == 0) request_.authorization = value_;
    field_.clear();
    value_.clear();
  }

  static void onRead(bufferevent*, void* self) { static_cast<AdminConnection*>(self)->readInput(); }

  void readInput() {
    evbuffer* input = bufferevent_get_input(bev_.get());
    while (!closing_ && evbuffer_get_length(input) > 0) {
      if (queuedBytes() > server_.limits_.maxQueuedBytes) {
        // A client that sends and never reads: its next request waits for it to read.
        bufferevent_disable(bev_.get(), EV_READ);
        return;
      }
      size_t available = evbuffer_get_contiguous_space(input);
      const char* data = reinterpret_cast<const char*>(evbuffer_pullup(input, available));
      size_t parsed = http_parser_execute(&parser_, &settings_, data, available);
      evbuffer_drain(input, parsed);
      enum http_errno error = HTTP_PARSER_ERRNO(&parser_);
      if (error == HPE_PAUSED) {
        http_parser_pause(&parser_, 0);
        answer();
        continue;
      }
      if (error != HPE_OK) {
        int code = tooLarge_ != 0 ? tooLarge_ : 400;
        respond(
            jsonError(code, tooLarge_ != 0 ? "request too large" : http_errno_description(error)),
            false, true);
        return;
      }
      if (parsed == 0) break;
    }
  }

  void answer() {
    request_.method = http_method_str(static_cast<http_method>(parser_.method));
    bool head = request_.method == "HEAD";
    if (head) request_.method = "GET";
    std::string_view url = url_;
    // An absolute-form target ("http://host/path") names the path after the authority.
    if (size_t scheme = url.find("://"); scheme != std::string_view::npos && url[0] != '/') {
      size_t slash = url.find('/', scheme + 3);
      url = slash == std::string_view::npos ? "/" : url.substr(slash);
    }
    size_t question = url.find('?');
    request_.path = std::string(url.substr(0, question));
    if (request_.path.empty()) request_.path = "/";
    request_.query =
        question == std::string_view::npos ? "" : std::string(url.substr(question + 1));
    if (reserved_ && request_.path != "/healthz" && request_.path != "/readyz") {
      respond(jsonError(503, "every admin connection is in use; /healthz and /readyz answer"), head,
              true);
      return;
    }
    respond(server_.handle(request_), head, !http_should_keep_alive(&parser_));
  }

  /// Bytes of this connection's own answers still queued (shared bodies are referenced).
  size_t queuedBytes() const {
    size_t queued = evbuffer_get_length(bufferevent_get_output(bev_.get()));
    return queued > sharedQueued_ ? queued - sharedQueued_ : 0;
  }

  void respond(const AdminResponse& response, bool head, bool close) {
    evbuffer* output = bufferevent_get_output(bev_.get());
    const std::string& body = response.sharedBody ? *response.sharedBody : response.body;
    evbuffer_add_printf(output,
                        "HTTP/1.%d %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "%sConnection: %s\r\n\r\n",
                        parser_.http_minor == 0 ? 0 : 1, response.code,
                        httpStatusText(response.code), response.contentType.c_str(), body.size(),
                        kSecurityHeaders, close ? "close" : "keep-alive");
    if (!head && response.sharedBody) {
      // By reference: the rendered text lives as long as some connection still sends it.
      auto* keep = new std::shared_ptr<const std::string>(response.sharedBody);
      evbuffer_add_reference(
          output, body.data(), body.size(),
          [](const void*, size_t, void* extra) {
            delete static_cast<std::shared_ptr<const std::string>*>(extra);
          },
          keep);
      sharedQueued_ += body.size();
    } else if (!head) {
      evbuffer_add(output, body.data(), body.size());
    }
    if (close) {
      closing_ = true;
      bufferevent_disable(bev_.get(), EV_READ);
    }
    // A client that does not take its answer in time is closed: it holds a slot.
    writing_ = evbuffer_get_length(output) > 0;
    arm(writing_ ? server_.limits_.writeSeconds : server_.limits_.idleSeconds);
  }

  static void onWrite(bufferevent*, void* self) {
    auto* connection = static_cast<AdminConnection*>(self);
    if (connection->closing_) {
      connection->close();  // everything written
      return;
    }
    connection->writing_ = false;
    connection->sharedQueued_ = 0;
    connection->arm(connection->server_.limits_.idleSeconds);
    bufferevent_enable(connection->bev_.get(), EV_READ);
    connection->readInput();  // a pipelined request may have waited for this
  }

  static void onEvent(bufferevent* bev, short what, void* self) {
    auto* connection = static_cast<AdminConnection*>(self);
    // A client that half-closes after its request still gets the answer.
    if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
      connection->closing_ = true;
      return;
    }
    connection->close();
  }

  void onDeadline() {
    if (closing_ || writing_) {
      close();  // its answer was not taken in time
      return;
    }
    // Mid-request: the client gets told; between requests it is simply closed.
    if (parser_.nread > 0 || !url_.empty()) {
      respond(jsonError(408, "request not complete in time"), false, true);
    } else {
      close();
    }
  }

  void arm(double seconds) { timer_.arm(seconds); }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    bev_.reset();
    server_.connectionClosed(this);
  }

  AdminServer& server_;
  BufferEventPtr bev_;
  Timer timer_;
  http_parser parser_;
  http_parser_settings settings_;
  AdminRequest request_;
  std::string url_;
  std::string field_;
  std::string value_;
  bool lastWasValue_ = false;
  size_t headerBytes_ = 0;
  size_t bodyBytes_ = 0;
  int tooLarge_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  bool reserved_ = false;
  bool writing_ = false;     // an answer is queued: the write deadline runs
  size_t sharedQueued_ = 0;  // bytes of shared bodies queued since the output was last empty
};

AdminResponse jsonError(int code, const std::string& message) {
  JsonWriter json;
  json.beginObject().key("error").value(message).endObject();
  return AdminResponse{code, "application/json", json.str() + "\n"};
}

AdminServer::AdminServer(event_base* base, AdminLimits limits) : base_(base), limits_(limits) {
  closed_ = std::make_unique<DeferredDelete<AdminConnection>>(base);
  acceptBackoff_ =
      std::make_unique<AcceptBackoff>(base, "admin", [this](bool) { updateAccepting(); });
}

AdminServer::~AdminServer() {
  listener_.reset();
  connections_.clear();
  closed_.reset();
  acceptBackoff_.reset();
}

void AdminServer::route(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler)});
}

std::optional<std::string> AdminServer::listen(const SocketAddress& address) {
  listener_.reset(
      evconnlistener_new_bind(base_, &AdminServer::onAccept, this,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
                              128, address.sockaddrPtr(), static_cast<int>(address.length())));
  if (!listener_) return "bind " + address.toString() + ": " + strerror(errno);
  // Without an error callback libevent retries a failing accept() on every loop pass and
  // logs each time: out of descriptors, the control thread would spin.
  evconnlistener_set_error_cb(listener_.get(), &AdminServer::onAcceptError);
  return std::nullopt;
}

void AdminServer::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) {
  auto* server = static_cast<AdminServer*>(self);
  bool reserved = static_cast<int>(server->connections_.size()) >= server->limits_.maxConnections;
  auto connection = std::make_unique<AdminConnection>(*server, fd, reserved);
  AdminConnection* raw = connection.get();
  if (!raw->start()) return;
  server->connections_.emplace(raw, std::move(connection));
  server->updateAccepting();
}

void AdminServer::onAcceptError(evconnlistener* listener, void* self) {
  static_cast<AdminServer*>(self)->acceptBackoff_->onAcceptError(
      evconnlistener_get_fd(listener), EVUTIL_SOCKET_ERROR(), kAdminRefusal);
}

void AdminServer::connectionClosed(AdminConnection* connection) {
  auto found = connections_.find(connection);
  if (found == connections_.end()) return;
  closed_->later(std::move(found->second));
  connections_.erase(found);
  updateAccepting();
}

void AdminServer::updateAccepting() {
  if (!listener_) return;
  // At the limit the listener pauses: further clients wait in the kernel's queue (bounded
  // by its backlog) instead of each taking a descriptor and a buffer here.
  bool full =
      static_cast<int>(connections_.size()) >= limits_.maxConnections + limits_.reservedConnections;
  if (full && !pausedForLimit_) {
    logEvent(LogLevel::Warn, "admin_connection_limit",
             {{"connections", connections_.size()}, {"max", limits_.maxConnections}});
  }
  pausedForLimit_ = full;
  if (full || acceptBackoff_->paused()) {
    evconnlistener_disable(listener_.get());
  } else {
    evconnlistener_enable(listener_.get());
  }
}

AdminResponse AdminServer::handle(const AdminRequest& request) const {
  bool pathKnown = false;
  for (const Route& route : routes_) {
    if (!matches(route.path, request.path)) continue;
    pathKnown = true;
    if (route.method == request.method) return route.handler(request);
  }
  if (pathKnown) {
    return jsonError(405, "method " + request.method + " not allowed on " + request.path);
  }
  return jsonError(404, "no such endpoint: " + request.path);
}

}  // namespace readygate
