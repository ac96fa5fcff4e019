// makeProber implementation.
#include "proxy/probe/prober_factory.h"

#include "proxy/probe/exec_prober.h"
#include "proxy/probe/http_prober.h"
#include "proxy/probe/tcp_prober.h"

namespace readygate {

std::unique_ptr<Prober> makeProber(const ProberContext& context, const ProbeSpec& spec,
                                   const SocketAddress& backend,
                                   std::shared_ptr<const TlsClientContext> tls) {
  auto portOr = [&](const std::optional<int>& port) {
    return port ? backend.withPort(static_cast<uint16_t>(*port)) : backend;
  };
  switch (spec.handler) {
    case ProbeSpec::Handler::HttpGet:
      return std::make_unique<HttpProber>(context.base, portOr(spec.httpGet.port), spec.httpGet,
                                          spec.timeoutSeconds,
                                          spec.httpGet.https ? std::move(tls) : nullptr);
    case ProbeSpec::Handler::TcpSocket:
      return std::make_unique<TcpProber>(context.base, portOr(spec.tcpSocket.port),
                                         spec.timeoutSeconds);
    case ProbeSpec::Handler::Exec:
      return std::make_unique<ExecProber>(
          context.base, context.reaper, spec.exec.command,
          std::vector<std::string>{"READYGATE_BACKEND_HOST=" + backend.host(),
                                   "READYGATE_BACKEND_PORT=" + std::to_string(backend.port()),
                                   "READYGATE_SERVICE=" + context.serviceName},
          spec.timeoutSeconds);
  }
  return nullptr;
}

}  // namespace readygate
