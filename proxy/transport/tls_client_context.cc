// TlsClientContext implementation.
#include "proxy/transport/tls_client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <atomic>

#include "proxy/core/file_reader.h"
#include "proxy/transport/client_trust.h"
#include "proxy/transport/server_certificates.h"
#include "proxy/transport/tls_errors.h"

namespace readygate {
namespace {

bool isIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

/// The SSL's session key (a heap string it owns: freed with the SSL) and the context's
/// back pointer (not owned: the context outlives its SSL_CTX).
int sessionKeyIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::string*>(pointer);
      });
  return index;
}

int contextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::optional<std::string> readPem(const std::string& path, size_t maxBytes, std::string& into) {
  auto read = readRegularFile(path, maxBytes);
  const std::string* pem = fileContent(read);
  if (pem == nullptr) return "cannot read " + path + ": " + fileError(read);
  into = *pem;
  return std::nullopt;
}

}  // namespace

TlsClientContext::TlsClientContext(SslCtxPtr context, TlsClientOptions options)
    : context_(std::move(context)), options_(std::move(options)), id_([] {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1, std::memory_order_relaxed);
      }()) {}

TlsClientContext::~TlsClientContext() {
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
}

std::variant<std::shared_ptr<TlsClientContext>, std::string> TlsClientContext::create(
    const TlsClientOptions& options) {
  SslCtxPtr context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!context) return "SSL_CTX_new: " + takeOpensslError();
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(context.get(), SSL_MODE_RELEASE_BUFFERS);
  if (options.verify) {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    if (options.caFile.empty() && !options.caPem.empty()) {
      if (addPemCertificates(SSL_CTX_get_cert_store(context.get()), options.caPem) <= 0) {
        return "cannot load the CA data: no usable certificate in it";
      }
    } else if (options.caFile.empty()) {
      if (SSL_CTX_set_default_verify_paths(context.get()) != 1) {
        return "cannot load the system's CA certificates: " + takeOpensslError();
      }
    } else {
      // Read like every file readygate is told about (regular, capped, never blocking),
      // then handed to OpenSSL from memory.
      std::string pem;
      if (auto error = readPem(options.caFile, options.maxFileBytes, pem)) return *error;
      if (addPemCertificates(SSL_CTX_get_cert_store(context.get()), pem) <= 0) {
        return "cannot load CA " + options.caFile + ": no usable certificate in it";
      }
    }
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!options.certFile.empty() || !options.certPem.empty()) {
    std::string certificatePem = options.certPem;
    std::string keyPem = options.keyPem;
    if (!options.certFile.empty()) {
      if (auto error = readPem(options.certFile, options.maxFileBytes, certificatePem)) {
        return *error;
      }
    }
    if (!options.keyFile.empty()) {
      if (auto error = readPem(options.keyFile, options.maxFileBytes, keyPem)) return *error;
    }
    std::string named = options.certFile.empty() ? "the client certificate data" : options.certFile;
    auto pair = ServerCertificate::fromPem(certificatePem, keyPem);  // a pair, whoever shows it
    if (auto* error = std::get_if<std::string>(&pair)) return named + ": " + *error;
    const auto& made = *std::get<std::shared_ptr<const ServerCertificate>>(pair);
    if (SSL_CTX_use_cert_and_key(context.get(), made.certificate.get(), made.key.get(),
                                 made.chain.get(), 1) != 1) {
      return named + ": " + takeOpensslError();
    }
  }
  auto made =
      std::shared_ptr<TlsClientContext>(new TlsClientContext(std::move(context), options));
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    // 0 is success here, unlike the rest of OpenSSL.
    if (SSL_CTX_set_alpn_protos(made->context_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      return "SSL_CTX_set_alpn_protos: " + takeOpensslError();
    }
  }
  if (options.resumeSessions) {
    SSL_CTX* ctx = made->context_.get();
    SSL_CTX_set_ex_data(ctx, contextIndex(), made.get());
    // OpenSSL's own client cache is keyed by nothing useful: sessions are kept here, per
    // server, and offered by hand.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &TlsClientContext::onNewSession);
  }
  return made;
}

int TlsClientContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, sessionKeyIndex()));
  auto* self =
      static_cast<TlsClientContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextIndex()));
  if (key == nullptr || self == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  self->keep(*key, session);
  return 1;  // the reference is ours now
}

void TlsClientContext::keep(const std::string& key, SSL_SESSION* session) {
  std::lock_guard<std::mutex> lock(sessionsLock_);
  auto [slot, inserted] = sessions_.try_emplace(key, session);
  if (!inserted) {
    SSL_SESSION_free(slot->second);  // the newest ticket replaces the one before
    slot->second = session;
    return;
  }
  if (sessions_.size() > kMaxSessions) {
    auto victim = sessions_.begin() == slot ? std::next(sessions_.begin()) : sessions_.begin();
    SSL_SESSION_free(victim->second);
    sessions_.erase(victim);
  }
}

size_t TlsClientContext::cachedSessions() const {
  std::lock_guard<std::mutex> lock(sessionsLock_);
  return sessions_.size();
}

SslPtr TlsClientContext::newSsl(std::string_view serverName, std::string_view sessionKey) const {
  SslPtr ssl(SSL_new(context_.get()));
  if (!ssl) return ssl;
  const std::string name(nameFor(serverName));
  // SNI only carries host names; an IP literal there is a protocol violation.
  if (!name.empty() && !isIpAddress(name)) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (options_.verify && !name.empty()) {
    if (isIpAddress(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    } else {
      SSL_set1_host(ssl.get(), name.c_str());
    }
  }
  if (options_.resumeSessions && !sessionKey.empty()) {
    auto key = std::make_unique<std::string>(sessionKey);
    {
      std::lock_guard<std::mutex> lock(sessionsLock_);
      if (auto found = sessions_.find(*key); found != sessions_.end()) {
        SSL_set_session(ssl.get(), found->second);  // takes its own reference
      }
    }
    if (SSL_set_ex_data(ssl.get(), sessionKeyIndex(), key.get()) == 1) key.release();
  }
  return ssl;
}

}  // namespace readygate
