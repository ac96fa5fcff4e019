// tcpSocket probe: success iff a TCP connection completes within the timeout.
#pragma once

#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"

struct event_base;

namespace readygate {

class TcpProber : public Prober {
 public:
  TcpProber(event_base* base, SocketAddress target, double timeoutSeconds)
      : base_(base), target_(target), timeoutSeconds_(timeoutSeconds) {}
  std::unique_ptr<ProbeAttempt> start(ProbeDone done) override;

 private:
  event_base* base_;
  SocketAddress target_;
  double timeoutSeconds_;
};

}  // namespace readygate
