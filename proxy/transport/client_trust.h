// What a TLS listener trusts client certificates by (mTLS): CAs and CRLs, from PEM in memory.
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace readygate {

struct StoreFree {
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
using X509StorePtr = std::unique_ptr<X509_STORE, StoreFree>;

/// Adds every certificate of the PEM bundle `pem` to `store`: how many, or -1 when the
/// store refused one. Shared by listeners' client trust and clients' CA files.
int addPemCertificates(X509_STORE* store, std::string_view pem);

/// An X509_STORE holding every CA certificate of `caPem` and, when `crlPem` is not empty,
/// its CRLs, with CRL checking on for the leaf and the chain; or why not (no CA in the
/// bundle, a bad CRL). Immutable once made; a handshake takes its own reference.
std::variant<std::shared_ptr<X509_STORE>, std::string> clientTrustFromPem(std::string_view caPem,
                                                                          std::string_view crlPem);

/// The verified client of a finished handshake: its subject (RFC 2253) and URI SANs, as
/// one header value (`Subject="CN=a,O=b";URI=spiffe://...`, Envoy's XFCC form); "" when
/// the client showed no certificate or it did not verify.
std::string verifiedClientSubject(SSL* ssl);

}  // namespace readygate
