// An OpenSSL client context (HTTPS and gRPC probes, TLS to backends): verification, client certificate, resumption.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "proxy/transport/tls_transport.h"

namespace readygate {

/// What a client checks of a server and shows it, as configured (the kubelet verifies
/// nothing; upstreamTls verifies by default).
struct TlsClientOptions {
  bool verify = false;
  std::string caFile;      // PEM bundle; empty: the system trust store
  std::string serverName;  // SNI and the name to verify; empty: the caller's
  std::string certFile;    // a client certificate (with its chain) for servers that ask
  std::string keyFile;
  /// The same as data instead of files (a kubeconfig's *-data fields); a file, when
  /// named, is read instead.
  std::string caPem;
  std::string certPem;
  std::string keyPem;
  /// Keep each server's last session and offer it on the next connection (by the key
  /// newSsl is given): a resumed handshake costs the backend a fraction of a full one.
  bool resumeSessions = false;
  /// Protocols offered by ALPN, preferred first ("h2"); none when empty.
  std::vector<std::string> alpn;
  size_t maxFileBytes = 64u << 20;  // files are read with this cap
};

/// Shared by every connection made with the same options (all workers); immutable after
/// creation but for the session cache, which has its own lock.
class TlsClientContext {
 public:
  /// Builds the context; on failure (unreadable or unusable CA, certificate or key file)
  /// returns the error text.
  static std::variant<std::shared_ptr<TlsClientContext>, std::string> create(
      const TlsClientOptions& options);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  /// A new SSL object for one connection, with SNI and host verification set when asked
  /// (`serverName` unless the options name one). With resumeSessions, `sessionKey` names
  /// the server (its address and the name): its last session is offered, and the new
  /// ones it sends are kept under that key.
  SslPtr newSsl(std::string_view serverName, std::string_view sessionKey = {}) const;
  /// The name newSsl uses for `serverName`: the configured one when there is one.
  std::string_view nameFor(std::string_view serverName) const {
    return options_.serverName.empty() ? serverName : std::string_view(options_.serverName);
  }
  bool verifies() const { return options_.verify; }
  /// Unique per context made in this process (an address could be reused after a reload).
  uint64_t id() const { return id_; }
  size_t cachedSessions() const;

  /// At most this many servers' sessions are kept (one each; a full cache drops one
  /// to make room): bounded however many backends come and go.
  static constexpr size_t kMaxSessions = 20000;

 private:
  TlsClientContext(SslCtxPtr context, TlsClientOptions options);
  static int onNewSession(SSL* ssl, SSL_SESSION* session);
  void keep(const std::string& key, SSL_SESSION* session);

  SslCtxPtr context_;
  TlsClientOptions options_;
  uint64_t id_;
  mutable std::mutex sessionsLock_;  // workers connect in parallel
  std::unordered_map<std::string, SSL_SESSION*> sessions_;  // owned: one reference each
};

}  // namespace readygate
