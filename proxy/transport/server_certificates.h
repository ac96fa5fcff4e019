// The certificates a TLS listener serves, parsed from PEM in memory, and the SNI rule that picks one.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace readygate {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
struct ChainFree {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_pop_free(chain, X509_free); }
};
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;

/// True when `name` (a host name, lowercase) is what `pattern` covers: the same name, or
/// for `*.example.com` exactly one label in front of example.com (RFC 6125: the wildcard
/// is the whole leftmost label and matches one label, never several, never none).
bool serverNameMatches(std::string_view pattern, std::string_view name);

/// What signs a handshake: clients that cannot verify ECDSA get an RSA certificate.
enum class KeyKind { Rsa, Ecdsa, Other };

/// One certificate with its chain and key: immutable once made, shared by handshakes.
struct ServerCertificate {
  X509Ptr certificate{nullptr, X509_free};
  ChainPtr chain;  // the intermediates after it in the PEM file; may be empty
  PkeyPtr key{nullptr, EVP_PKEY_free};
  std::vector<std::string> names;  // lowercase DNS names (SAN, else the subject's CN)
  std::time_t notAfter = 0;        // expiry, Unix time
  KeyKind kind = KeyKind::Other;
  std::string label;               // the first name, or the file, for metrics and logs

  /// The certificate (plus chain) and key in `certificatePem` and `keyPem`, checked to be
  /// a pair, or the reason they are not usable.
  static std::variant<std::shared_ptr<const ServerCertificate>, std::string> fromPem(
      std::string_view certificatePem, std::string_view keyPem);
};

/// The certificates of one listener, in configuration order: the first is the default.
class ServerCertificates {
 public:
  explicit ServerCertificates(std::vector<std::shared_ptr<const ServerCertificate>> certificates)
      : certificates_(std::move(certificates)) {}

  struct Choice {
    const ServerCertificate* certificate = nullptr;  // never null when there is one at all
    bool matched = false;                             // false: the default, for want of a name
  };
  /// SNI's rule: an exact name, then a wildcard, else the default (the first, or a
  /// certificate for the same names as the first). `name` as the client sent it (case
  /// does not matter; one trailing dot is ignored). Where certificates of both kinds fit,
  /// ECDSA goes to a client that takes it (`takesEcdsa`), RSA to one that does not.
  Choice choose(std::string_view name, bool takesEcdsa = true) const;

  const std::vector<std::shared_ptr<const ServerCertificate>>& all() const { return certificates_; }

 private:
  std::vector<std::shared_ptr<const ServerCertificate>> certificates_;
};

}  // namespace readygate
