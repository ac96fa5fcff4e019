// grpc probe (the kubelet's): grpc.health.v1.Health/Check over HTTP/2 cleartext (h2c,
// prior knowledge); SERVING passes.
#pragma once

#include <string>

#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"

struct event_base;

namespace readygate {

class GrpcProber : public Prober {
 public:
  GrpcProber(event_base* base, SocketAddress target, std::string service, double timeoutSeconds)
      : base_(base),
        target_(target),
        service_(std::move(service)),
        timeoutSeconds_(timeoutSeconds) {}
  std::unique_ptr<ProbeAttempt> start(ProbeDone done) override;

 private:
  event_base* base_;
  SocketAddress target_;
  std::string service_;
  double timeoutSeconds_;
};

}  // namespace readygate
