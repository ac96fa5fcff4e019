// An OpenSSL client context for HTTPS probes: no verification unless asked, as the kubelet.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>

#include "config/config_types.h"

namespace readygate {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

/// Shared by every HTTPS prober of one probe spec; immutable after creation.
class TlsClientContext {
 public:
  /// Builds the context; on failure (unreadable CA file) returns the error text.
  static std::variant<std::shared_ptr<TlsClientContext>, std::string> create(
      const ProbeTlsOptions& options);

  /// A new SSL object for one connection, with SNI and host verification set when asked.
  SslPtr newSsl(const std::string& serverName) const;

 private:
  TlsClientContext(SslCtxPtr context, ProbeTlsOptions options)
      : context_(std::move(context)), options_(std::move(options)) {}

  SslCtxPtr context_;
  ProbeTlsOptions options_;
};

}  // namespace readygate
