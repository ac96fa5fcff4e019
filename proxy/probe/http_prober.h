// httpGet probe: one GET, success iff 200 <= status < 400, over HTTP or HTTPS.
#pragma once

#include <memory>
#include <string>

#include "config/config_types.h"
#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"
#include "proxy/transport/tls_client_context.h"

struct event_base;

namespace readygate {

/// As the kubelet: redirects are not followed (3xx passes), at most 10 KiB of the body
/// is read, the connection is closed after each probe, and HTTPS does not verify the
/// certificate unless the (non-Kubernetes) `tls.verify` extension asks for it.
class HttpProber : public Prober {
 public:
  /// `tls` null for plain HTTP. The request is built once here.
  HttpProber(event_base* base, SocketAddress target, const HttpGetAction& action,
             double timeoutSeconds, std::shared_ptr<const TlsClientContext> tls);
  std::unique_ptr<ProbeAttempt> start(ProbeDone done) override;

  const std::string& request() const { return request_; }

 private:
  event_base* base_;
  SocketAddress target_;
  double timeoutSeconds_;
  std::shared_ptr<const TlsClientContext> tls_;
  std::string serverName_;
  std::string request_;
};

}  // namespace readygate
