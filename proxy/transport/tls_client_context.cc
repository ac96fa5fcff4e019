// TlsClientContext implementation.
#include "proxy/transport/tls_client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/core/file_reader.h"
#include "proxy/transport/client_trust.h"
#include "proxy/transport/tls_errors.h"

namespace readygate {
namespace {

bool isIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

std::variant<std::shared_ptr<TlsClientContext>, std::string> TlsClientContext::create(
    const TlsClientOptions& options) {
  SslCtxPtr context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!context) return "SSL_CTX_new: " + takeOpensslError();
  if (options.verify) {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    if (options.caFile.empty()) {
      if (SSL_CTX_set_default_verify_paths(context.get()) != 1) {
        return "cannot load the system's CA certificates: " + takeOpensslError();
      }
    } else {
      // Read like every file readygate is told about (regular, capped, never blocking),
      // then handed to OpenSSL from memory.
      auto read = readRegularFile(options.caFile, options.maxFileBytes);
      const std::string* pem = fileContent(read);
      if (pem == nullptr) return "cannot load CA " + options.caFile + ": " + fileError(read);
      if (addPemCertificates(SSL_CTX_get_cert_store(context.get()), *pem) <= 0) {
        return "cannot load CA " + options.caFile + ": no usable certificate in it";
      }
    }
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  }
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(std::move(context), options));
}

SslPtr TlsClientContext::newSsl(const std::string& serverName) const {
  SslPtr ssl(SSL_new(context_.get()), SSL_free);
  if (!ssl) return ssl;
  const std::string& name = options_.serverName.empty() ? serverName : options_.serverName;
  // SNI only carries host names; an IP literal there is a protocol violation.
  if (!name.empty() && !isIpAddress(name)) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (options_.verify && !name.empty()) {
    if (isIpAddress(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    } else {
      SSL_set1_host(ssl.get(), name.c_str());
    }
  }
  return ssl;
}

}  // namespace readygate
