// fakepod's gRPC face: grpc.health.v1.Health/Check over h2c, or TLS with --tls-cert
// (nghttp2 server side), its status flipped over the HTTP face's /control/grpc/...
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include "tests/fakepod/fakepod_options.h"

struct ssl_ctx_st;

namespace fakepod {

/// What Check answers for the server ("") and for the service named like the pod; any
/// other service name is NOT_FOUND (grpc-status 5). 1 = SERVING, 2 = NOT_SERVING.
int& grpcServingStatus();
/// Check calls answered so far (the HTTP face's /grpc-requests, for the probe benchmark).
long& grpcRequests();

class GrpcPod {
 public:
  GrpcPod(event_base* base, const Options& options) : base_(base), options_(options) {}
  ~GrpcPod();
  /// Binds --grpc-port; false (with a message on stderr) when it cannot.
  bool listen();

 private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self);

  event_base* base_;
  const Options& options_;
  evconnlistener* listener_ = nullptr;
  ssl_ctx_st* tls_ = nullptr;  // with --tls-cert: HTTP/2 over TLS, h2 chosen by ALPN
};

}  // namespace fakepod
