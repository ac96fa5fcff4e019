// Builds the prober a probe spec asks for, aimed at one backend; keeps HTTPS probes' TLS contexts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_types.h"
#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"
#include "proxy/transport/tls_client_context.h"

struct event_base;

namespace readygate {

class ChildReaper;

struct ProberContext {
  event_base* base;
  ChildReaper& reaper;
  std::string serviceName;
};

/// The TLS client contexts of HTTPS probes, one per distinct `tls` block, made before
/// probing starts (or a reload applies) so a bad CA file is a start or reload error.
class ProbeTlsContexts {
 public:
  /// Makes the contexts every HTTPS probe of `config` needs; the first error, if any.
  std::optional<std::string> prepare(const Config& config);
  /// The context for an HTTPS probe's options, made on first use if `prepare` did not.
  std::shared_ptr<const TlsClientContext> get(const ProbeTlsOptions& options);

 private:
  std::vector<std::pair<ProbeTlsOptions, std::shared_ptr<const TlsClientContext>>> contexts_;
};

/// The probe port is the spec's, else the backend's. `tls` is used by HTTPS probes only.
std::unique_ptr<Prober> makeProber(const ProberContext& context, const ProbeSpec& spec,
                                   const SocketAddress& backend,
                                   std::shared_ptr<const TlsClientContext> tls);

}  // namespace readygate
