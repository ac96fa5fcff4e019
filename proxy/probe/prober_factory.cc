// makeProber implementation.
#include "proxy/probe/prober_factory.h"

#include "proxy/core/file_reader.h"

#include "proxy/probe/exec_prober.h"
#include "proxy/probe/grpc_prober.h"
#include "proxy/probe/http_prober.h"
#include "proxy/probe/tcp_prober.h"

namespace readygate {
namespace {

TlsClientOptions clientOptions(const ProbeTlsOptions& probe, size_t maxFileBytes) {
  TlsClientOptions options;
  options.verify = probe.verify;
  options.caFile = probe.caFile;
  options.serverName = probe.serverName;
  options.maxFileBytes = maxFileBytes;
  return options;
}

}  // namespace

std::optional<std::string> ProbeTlsContexts::prepare(const Config& config) {
  for (const ServiceConfig& service : config.services) {
    for (ProbeKind kind : kAllProbeKinds) {
      const std::optional<ProbeSpec>& spec = probeOf(service, kind);
      const ProbeTlsOptions* tls = spec ? tlsOptionsOf(*spec) : nullptr;
      if (tls == nullptr) continue;
      bool known = false;
      for (const auto& [options, context] : contexts_) known = known || options == *tls;
      if (known) continue;
      auto created = TlsClientContext::create(clientOptions(*tls, config.maxFileBytes));
      if (auto* error = std::get_if<std::string>(&created)) {
        return "service " + service.name + ": " + toString(kind) + " probe TLS: " + *error;
      }
      contexts_.emplace_back(*tls, std::get<std::shared_ptr<TlsClientContext>>(created));
    }
  }
  return std::nullopt;
}

std::shared_ptr<const TlsClientContext> ProbeTlsContexts::get(const ProbeTlsOptions& options) {
  for (const auto& [known, context] : contexts_) {
    if (known == options) return context;
  }
  auto created = TlsClientContext::create(clientOptions(options, kDefaultMaxFileBytes));
  if (auto* context = std::get_if<std::shared_ptr<TlsClientContext>>(&created)) {
    contexts_.emplace_back(options, *context);
    return *context;
  }
  return nullptr;  // prepare() reports this error before any prober is made
}

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
    case ProbeSpec::Handler::Grpc:
      return std::make_unique<GrpcProber>(
          context.base, backend.withPort(static_cast<uint16_t>(spec.grpc.port)), spec.grpc.service,
          spec.timeoutSeconds, spec.grpc.tls ? std::move(tls) : nullptr);
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
