// ListenerCertificates implementation.
#include "proxy/app/listener_certificates.h"

#include <set>

#include "proxy/core/file_reader.h"
#include "proxy/core/log.h"
#include "proxy/transport/client_trust.h"

namespace readygate {
namespace {

/// How long a burst of file changes is let settle before the files are read again.
constexpr double kSettleSeconds = 0.1;
/// The periodic check of each file, beside inotify: a new certificate is served within
/// about a second even where inotify misses (network file systems).
constexpr double kPollSeconds = 1;

TlsServerOptions optionsOf(const ListenerTls& config, ProxyMode mode, bool offerH2) {
  TlsServerOptions options;
  options.minVersion = config.tls13Only ? TLS1_3_VERSION : TLS1_2_VERSION;
  options.strictSni = config.strictSni;
  // TCP mode does not know what its clients speak: it agrees to no protocol by ALPN.
  if (mode != ProxyMode::Http) options.alpn.clear();
  // h2 first: a client that offers both prefers it, and so does the listener.
  if (mode == ProxyMode::Http && offerH2) options.alpn.insert(options.alpn.begin(), "h2");
  if (config.clientAuth) {
    options.clientAuth = config.clientAuth->required ? TlsServerOptions::ClientAuth::Required
                                                     : TlsServerOptions::ClientAuth::Optional;
  }
  return options;
}

}  // namespace

std::variant<std::shared_ptr<const ServerCertificates>, std::string> ListenerCertificates::load(
    const std::vector<CertificateFiles>& files, size_t maxFileBytes, std::string* contents) {
  std::vector<std::shared_ptr<const ServerCertificate>> certificates;
  for (const CertificateFiles& pair : files) {
    auto certificate = readRegularFile(pair.cert, maxFileBytes);
    if (!fileContent(certificate)) return pair.cert + ": " + fileError(certificate);
    auto key = readRegularFile(pair.key, maxFileBytes);
    if (!fileContent(key)) return pair.key + ": " + fileError(key);
    auto made = ServerCertificate::fromPem(*fileContent(certificate), *fileContent(key));
    if (auto* error = std::get_if<std::string>(&made)) return pair.cert + ": " + *error;
    certificates.push_back(std::get<std::shared_ptr<const ServerCertificate>>(made));
    if (contents) contents->append(*fileContent(certificate)).append(*fileContent(key));
  }
  return std::make_shared<const ServerCertificates>(std::move(certificates));
}

std::variant<std::shared_ptr<X509_STORE>, std::string> ListenerCertificates::loadTrust(
    const ClientAuth& auth, size_t maxFileBytes, std::string* contents) {
  auto ca = readRegularFile(auth.ca, maxFileBytes);
  if (!fileContent(ca)) return auth.ca + ": " + fileError(ca);
  std::string crl;
  if (!auth.crl.empty()) {
    auto read = readRegularFile(auth.crl, maxFileBytes);
    if (!fileContent(read)) return auth.crl + ": " + fileError(read);
    crl = *fileContent(read);
  }
  auto trust = clientTrustFromPem(*fileContent(ca), crl);
  if (auto* error = std::get_if<std::string>(&trust)) {
    return (auth.crl.empty() ? auth.ca : auth.ca + " / " + auth.crl) + ": " + *error;
  }
  if (contents) contents->append(*fileContent(ca)).append(crl);
  return std::get<std::shared_ptr<X509_STORE>>(trust);
}

std::variant<std::unique_ptr<ListenerCertificates>, std::string> ListenerCertificates::create(
    event_base* base, const ListenerTls& config, ProxyMode mode, bool offerH2, size_t maxFileBytes,
    std::shared_ptr<TicketKeyRing> tickets) {
  std::string contents;
  auto loaded = load(config.certificates, maxFileBytes, &contents);
  if (auto* error = std::get_if<std::string>(&loaded)) return *error;
  std::shared_ptr<X509_STORE> trust;
  if (config.clientAuth) {
    auto made = loadTrust(*config.clientAuth, maxFileBytes, &contents);
    if (auto* error = std::get_if<std::string>(&made)) return "clientAuth: " + *error;
    trust = std::get<std::shared_ptr<X509_STORE>>(made);
  }
  auto context = TlsServerContext::create(
      optionsOf(config, mode, offerH2), std::get<std::shared_ptr<const ServerCertificates>>(loaded),
      std::move(tickets));
  if (auto* error = std::get_if<std::string>(&context)) return *error;
  if (trust) std::get<std::shared_ptr<TlsServerContext>>(context)->replaceClientTrust(trust);
  return std::unique_ptr<ListenerCertificates>(
      new ListenerCertificates(base, config, maxFileBytes,
                               std::get<std::shared_ptr<TlsServerContext>>(context),
                               std::move(contents)));
}

ListenerCertificates::ListenerCertificates(event_base* base, const ListenerTls& config,
                                           size_t maxFileBytes,
                                           std::shared_ptr<TlsServerContext> context,
                                           std::string contents)
    : base_(base),
      config_(config),
      maxFileBytes_(maxFileBytes),
      context_(std::move(context)),
      contents_(std::move(contents)),
      settle_(Timer::calling<&ListenerCertificates::reload>(base, this)) {}

void ListenerCertificates::attach(std::shared_ptr<Service> service) {
  service_ = std::move(service);
  if (!watches_.empty()) return;
  std::set<std::string> paths;
  for (const CertificateFiles& pair : config_.certificates) {
    paths.insert(pair.cert);
    paths.insert(pair.key);
  }
  if (config_.clientAuth) {
    paths.insert(config_.clientAuth->ca);
    if (!config_.clientAuth->crl.empty()) paths.insert(config_.clientAuth->crl);
  }
  for (const std::string& path : paths) {
    watches_.push_back(
        std::make_unique<FileWatch>(base_, path, kPollSeconds, [this] { onFileChanged(); }));
  }
}

void ListenerCertificates::onFileChanged() {
  if (!settle_.armed()) settle_.arm(kSettleSeconds);
}

void ListenerCertificates::reload() {
  std::string contents;
  auto loaded = load(config_.certificates, maxFileBytes_, &contents);
  std::string name = service_ ? service_->name() : std::string();
  std::variant<std::shared_ptr<X509_STORE>, std::string> trust = std::shared_ptr<X509_STORE>();
  if (loaded.index() == 0 && config_.clientAuth) {
    trust = loadTrust(*config_.clientAuth, maxFileBytes_, &contents);
    if (auto* error = std::get_if<std::string>(&trust)) loaded = "clientAuth: " + *error;
  }
  if (auto* error = std::get_if<std::string>(&loaded)) {
    if (service_) ServiceTraffic::add(service_->traffic().certificateReloadsFailed);
    logEvent(LogLevel::Error, "tls_certificate_reload_failed",
             {{"service", name}, {"error", *error}, {"kept", "previous certificates"}});
    return;
  }
  if (contents == contents_) return;  // touched, not changed
  contents_ = std::move(contents);
  auto certificates = std::get<std::shared_ptr<const ServerCertificates>>(loaded);
  std::string names;
  for (const auto& certificate : certificates->all()) {
    if (!names.empty()) names += ",";
    names += certificate->label;
  }
  // Both halves in one go: certificates, then the client trust (CAs, CRLs).
  context_->replaceCertificates(std::move(certificates));
  if (auto* store = std::get_if<std::shared_ptr<X509_STORE>>(&trust); store && *store) {
    context_->replaceClientTrust(*store);
  }
  if (service_) ServiceTraffic::add(service_->traffic().certificateReloadsOk);
  logEvent(LogLevel::Info, "tls_certificates_reloaded", {{"service", name}, {"certificates", names}});
}

}  // namespace readygate
