// TcpProber implementation: connect, then close at once (as the kubelet's dial).
#include "proxy/probe/tcp_prober.h"

#include "proxy/probe/connection_attempt.h"

namespace readygate {
namespace {

class TcpAttempt : public ConnectionAttempt {
 public:
  TcpAttempt(event_base* base, ProbeDone done) : ConnectionAttempt(base, std::move(done)) {}
  using ConnectionAttempt::begin;

 private:
  void onConnected() override { finish(ProbeResult::passed()); }
};

}  // namespace

std::unique_ptr<ProbeAttempt> TcpProber::start(ProbeDone done) {
  auto attempt = std::make_unique<TcpAttempt>(base_, std::move(done));
  attempt->begin(target_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
