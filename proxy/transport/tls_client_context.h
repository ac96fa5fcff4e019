// An OpenSSL client context (HTTPS and gRPC probes; upstreams next): no verification unless asked.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>

#include "proxy/transport/tls_transport.h"

namespace readygate {

/// What a client checks of a server, as configured (the kubelet verifies nothing).
struct TlsClientOptions {
  bool verify = false;
  std::string caFile;      // PEM bundle; empty: the system trust store
  std::string serverName;  // SNI and the name to verify; empty: the caller's
  size_t maxFileBytes = 64u << 20;  // the CA file is read with this cap
};

/// Shared by every connection made with the same options; immutable after creation.
class TlsClientContext {
 public:
  /// Builds the context; on failure (unreadable or empty CA file) returns the error text.
  static std::variant<std::shared_ptr<TlsClientContext>, std::string> create(
      const TlsClientOptions& options);

  /// A new SSL object for one connection, with SNI and host verification set when asked.
  SslPtr newSsl(const std::string& serverName) const;

 private:
  TlsClientContext(SslCtxPtr context, TlsClientOptions options)
      : context_(std::move(context)), options_(std::move(options)) {}

  SslCtxPtr context_;
  TlsClientOptions options_;
};

}  // namespace readygate
