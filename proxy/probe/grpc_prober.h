// grpc probe (the kubelet's): grpc.health.v1.Health/Check over HTTP/2, cleartext (h2c,
// prior knowledge) or TLS; SERVING passes.
#pragma once

#include <memory>
#include <string>

#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"
#include "proxy/transport/tls_client_context.h"

struct event_base;

namespace readygate {

class GrpcProber : public Prober {
 public:
  /// `tls` null: h2c (prior knowledge); else HTTP/2 over TLS, offered by ALPN ("h2").
  GrpcProber(event_base* base, SocketAddress target, std::string service, double timeoutSeconds,
             std::shared_ptr<const TlsClientContext> tls)
      : base_(base),
        target_(target),
        service_(std::move(service)),
        timeoutSeconds_(timeoutSeconds),
        tls_(std::move(tls)) {}
  std::unique_ptr<ProbeAttempt> start(ProbeDone done) override;

 private:
  event_base* base_;
  SocketAddress target_;
  std::string service_;
  double timeoutSeconds_;
  std::shared_ptr<const TlsClientContext> tls_;
};

}  // namespace readygate
