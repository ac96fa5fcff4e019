// Builds the prober a probe spec asks for, aimed at one backend.
#pragma once

#include <memory>
#include <string>

#include "config/config_types.h"
#include "proxy/core/socket_address.h"
#include "proxy/probe/tls_client_context.h"
#include "proxy/probe/prober.h"

struct event_base;

namespace readygate {

class ChildReaper;

struct ProberContext {
  event_base* base;
  ChildReaper& reaper;
  std::string serviceName;
};

/// `tls` is used by HTTPS probes only. The probe port is the spec's, else the backend's.
std::unique_ptr<Prober> makeProber(const ProberContext& context, const ProbeSpec& spec,
                                   const SocketAddress& backend,
                                   std::shared_ptr<const TlsClientContext> tls);

}  // namespace readygate
