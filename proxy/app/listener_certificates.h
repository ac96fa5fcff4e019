// A TLS listener's certificates on the control loop: read from their files, watched, swapped whole.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/config_types.h"
#include "proxy/core/timer.h"
#include "proxy/discovery/file_watch.h"
#include "proxy/transport/server_certificates.h"
#include "proxy/transport/ticket_keys.h"
#include "proxy/transport/tls_server_context.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Reads every certificate and key of a service's `tls:` through readRegularFile (regular
/// files, capped, never blocking) and hands them to OpenSSL from memory. Watches each file
/// as the file endpoint source does (inotify on its directory, so a rename and a Secret
/// volume's `..data` symlink swap are both seen, plus a stat every second): on a change
/// it reads them all again and swaps the new set into the context in one store, or, when
/// any file is bad or a pair does not match, keeps serving the old set and counts the
/// failure. Control loop only.
class ListenerCertificates {
 public:
  /// Loads the files and makes the context; the first error (a bad file, a bad pair, an
  /// OpenSSL refusal) otherwise, so a start or a reload can refuse the configuration.
  /// `offerH2`: ALPN offers h2 before http/1.1 (mode http with http2.enabled).
  static std::variant<std::unique_ptr<ListenerCertificates>, std::string> create(
      event_base* base, const ListenerTls& config, ProxyMode mode, bool offerH2, size_t maxFileBytes,
      std::shared_ptr<TicketKeyRing> tickets);
  ListenerCertificates(const ListenerCertificates&) = delete;
  ListenerCertificates& operator=(const ListenerCertificates&) = delete;

  std::shared_ptr<TlsServerContext> context() const { return context_; }
  /// Where reloads are counted and named in logs; the watches start with the first call.
  void attach(std::shared_ptr<Service> service);

  /// The client trust set of `auth` (its CA bundle and CRLs).
  static std::variant<std::shared_ptr<X509_STORE>, std::string> loadTrust(
      const ClientAuth& auth, size_t maxFileBytes, std::string* contents);
  /// Every certificate pair in `files`, all or nothing.
  static std::variant<std::shared_ptr<const ServerCertificates>, std::string> load(
      const std::vector<CertificateFiles>& files, size_t maxFileBytes, std::string* contents);

 private:
  ListenerCertificates(event_base* base, const ListenerTls& config, size_t maxFileBytes,
                       std::shared_ptr<TlsServerContext> context, std::string contents);
  void onFileChanged();
  void reload();

  event_base* base_;
  ListenerTls config_;
  size_t maxFileBytes_;
  std::shared_ptr<TlsServerContext> context_;
  std::shared_ptr<Service> service_;
  std::string contents_;  // the PEM bytes now served: a change that changes nothing is no reload
  std::vector<std::unique_ptr<FileWatch>> watches_;
  /// A certificate and its key are written one after the other: the reload waits this
  /// long after the last change seen, so it reads the pair, not half of it.
  Timer settle_;
};

}  // namespace readygate
