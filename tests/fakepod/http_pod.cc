// Test pod HTTP routes.
#include "tests/fakepod/http_pod.h"

#include <algorithm>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/fakepod/grpc_pod.h"

namespace fakepod {

struct HttpPod::DelayedReply {
  HttpPod* pod;
  evhttp_request* request;
  int code;
  std::string reason;
  std::string body;
  event* timer = nullptr;
};

HttpPod::HttpPod(event_base* base, const Options& options) : base_(base), options_(options) {
  http_ = evhttp_new(base_);
  evhttp_set_gencb(http_, &HttpPod::onRequest, this);
  if (options_.idleTimeoutSeconds > 0) {
    timeval idle = {static_cast<time_t>(options_.idleTimeoutSeconds),
                    static_cast<suseconds_t>((options_.idleTimeoutSeconds -
                                              static_cast<time_t>(options_.idleTimeoutSeconds)) *
                                             1e6)};
    evhttp_set_timeout_tv(http_, &idle);
  }
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
  if (!options_.tlsCert.empty()) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(tls_, options_.tlsCert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, options_.tlsKey.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::cerr << "fakepod: cannot load TLS certificate or key\n";
      std::exit(2);
    }
    evhttp_set_bevcb(http_, &HttpPod::makeTlsBufferevent, this);
  }
}

HttpPod::~HttpPod() {
  if (http_) evhttp_free(http_);
  if (tls_) SSL_CTX_free(tls_);
}

bufferevent* HttpPod::makeTlsBufferevent(event_base* base, void* self) {
  auto* pod = static_cast<HttpPod*>(self);
  return bufferevent_openssl_socket_new(base, -1, SSL_new(pod->tls_), BUFFEREVENT_SSL_ACCEPTING,
                                        BEV_OPT_CLOSE_ON_FREE);
}

bool HttpPod::listen() {
  for (int port : options_.ports) {
    if (evhttp_bind_socket_with_handle(http_, options_.host.c_str(), static_cast<uint16_t>(port)) ==
        nullptr) {
      std::cerr << "fakepod: cannot listen on " << options_.host << ":" << port << ": "
                << std::strerror(errno) << "\n";
      return false;
    }
  }
  return true;
}

void HttpPod::onRequest(evhttp_request* request, void* self) {
  static_cast<HttpPod*>(self)->handle(request);
}

bool HttpPod::readyNow() {
  ++readyHits_;
  if (forcedReady_ >= 0) return forcedReady_ == 1;
  if (options_.readyToggleEvery > 0) {
    // The flask example with integer division: hits 1..N-1 unready, N..2N-1 ready, ...
    return (readyHits_ / options_.readyToggleEvery) % 2 != 0;
  }
  return !options_.startUnready;
}

void HttpPod::handle(evhttp_request* request) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  std::string path = evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/";
  const std::string& name = options_.name;

  int code = 200;
  const char* reason = "OK";
  std::string body;
  ++requests_;
  if (path == "/") {
    ++rootHits_;
    body = "hello from " + name + "\n";
    if (options_.failRoot) {
      code = 500;
      reason = "Internal Server Error";
    }
  } else if (path == "/_health" || path == "/healthz" || path == "/liveness") {
    if (failing_) {
      code = 500;
      reason = "Internal Server Error";
      body = name + " failing\n";
    } else {
      body = name + " ok\n";
    }
  } else if (path == "/ready" || path == "/readiness") {
    if (readyNow()) {
      body = name + " ready\n";
    } else {
      code = 503;
      reason = "Service Unavailable";
      body = name + " not ready\n";
    }
  } else if (path == "/start-failing") {
    failing_ = true;
    body = name + " will fail its health check from now on\n";
  } else if (path == "/stop-failing") {
    // What a container restart would do for the flask app: healthy again.
    failing_ = false;
    body = name + " healthy again\n";
  } else if (path == "/grpc-requests") {
    reply(request, 200, "OK", std::to_string(grpcRequests()) + "\n");
  } else if (path == "/control/grpc/serving" || path == "/control/grpc/not_serving") {
    grpcServingStatus() = path.ends_with("/serving") && !path.ends_with("not_serving") ? 1 : 2;
    reply(request, 200, "OK", path.substr(std::string("/control/grpc/").size()) + "\n");
  } else if (path == "/control/ready/on" || path == "/control/ready/off") {
    forcedReady_ = path.ends_with("/on") ? 1 : 0;
    body = name + " ready=" + std::to_string(forcedReady_) + "\n";
  } else if (path == "/echo") {
    // The request body back (what a proxy forwarded, re-framed or not).
    evbuffer* input = evhttp_request_get_input_buffer(request);
    body.assign(reinterpret_cast<const char*>(evbuffer_pullup(input, -1)),
                evbuffer_get_length(input));
  } else if (path == "/sink") {
    // How many body bytes arrived (a large upload's length, without echoing it).
    body = std::to_string(evbuffer_get_length(evhttp_request_get_input_buffer(request))) + "\n";
  } else if (path == "/headers") {
    // Every request header as it arrived, one "Name: value" line each.
    evkeyvalq* headers = evhttp_request_get_input_headers(request);
    for (evkeyval* header = headers->tqh_first; header; header = header->next.tqe_next) {
      body += std::string(header->key) + ": " + header->value + "\n";
    }
  } else if (path.starts_with("/bytes/")) {
    // A body of N bytes (at most 16 MiB): a large response without a large request.
    long wanted = std::atol(path.c_str() + 7);
    body.assign(static_cast<size_t>(std::clamp(wanted, 0L, 16L << 20)), 'b');
  } else if (path.starts_with("/status/")) {
    int wanted = std::atoi(path.c_str() + 8);
    code = wanted >= 200 && wanted <= 599 ? wanted : 400;
    reason = "Status";
    body = name + " answers " + std::to_string(code) + "\n";
  } else if (path == "/chunked") {
    // A response in several chunks (evhttp frames it: Transfer-Encoding: chunked).
    evhttp_send_reply_start(request, 200, "OK");
    for (int i = 0; i < 3; ++i) {
      evbuffer* chunk = evbuffer_new();
      std::string piece = name + " part " + std::to_string(i) + "\n";
      evbuffer_add(chunk, piece.data(), piece.size());
      evhttp_send_reply_chunk(request, chunk);
      evbuffer_free(chunk);
    }
    evhttp_send_reply_end(request);
    return;
  } else if (path == "/hits") {
    body = std::to_string(rootHits_) + "\n";
  } else if (path == "/requests") {
    // Every request this process answered before this one, on any of its ports: lets a
    // benchmark count the probes that really arrived.
    body = std::to_string(requests_) + "\n";
  } else {
    code = 404;
    reason = "Not Found";
    body = "not found\n";
  }

  long delayMs = 0;
  if (const char* query = evhttp_uri_get_query(uri)) {
    evkeyvalq params;
    if (evhttp_parse_query_str(query, &params) == 0) {
      if (const char* delay = evhttp_find_header(&params, "delay_ms")) delayMs = std::atol(delay);
      evhttp_clear_headers(&params);
    }
  }
  if (delayMs <= 0) {
    reply(request, code, reason, body);
    return;
  }
  auto* delayed = new DelayedReply{this, request, code, reason, body};
  delayed->timer = evtimer_new(
      base_,
      [](evutil_socket_t, short, void* arg) {
        auto* pending = static_cast<DelayedReply*>(arg);
        pending->pod->reply(pending->request, pending->code, pending->reason.c_str(),
                            pending->body);
        event_free(pending->timer);
        delete pending;
      },
      delayed);
  timeval tv{delayMs / 1000, static_cast<suseconds_t>((delayMs % 1000) * 1000)};
  evtimer_add(delayed->timer, &tv);
}

void HttpPod::reply(evhttp_request* request, int code, const char* reason,
                    const std::string& body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", "text/plain");
  evhttp_add_header(headers, "X-Pod", options_.name.c_str());
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(request, code, reason, out);
  evbuffer_free(out);
}

}  // namespace fakepod
