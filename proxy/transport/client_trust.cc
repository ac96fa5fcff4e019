// clientTrustFromPem and verifiedClientSubject implementation.
#include "proxy/transport/client_trust.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "proxy/transport/tls_errors.h"

namespace readygate {

int addPemCertificates(X509_STORE* store, std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  int added = 0;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    int ok = X509_STORE_add_cert(store, certificate);
    X509_free(certificate);
    if (ok != 1) return -1;
    ++added;
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  return added;
}

std::variant<std::shared_ptr<X509_STORE>, std::string> clientTrustFromPem(std::string_view caPem,
                                                                          std::string_view crlPem) {
  ERR_clear_error();
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), StoreFree());
  int added = addPemCertificates(store.get(), caPem);
  if (added < 0) return "CA certificate: " + takeOpensslError();
  if (added == 0) return std::string("no CA certificate in the bundle");
  if (!crlPem.empty()) {
    std::unique_ptr<BIO, decltype(&BIO_free)> crls(
        BIO_new_mem_buf(crlPem.data(), static_cast<int>(crlPem.size())), BIO_free);
    int crlCount = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(crls.get(), nullptr, nullptr, nullptr)) {
      int ok = X509_STORE_add_crl(store.get(), crl);
      X509_CRL_free(crl);
      if (ok != 1) return "CRL: " + takeOpensslError();
      ++crlCount;
    }
    ERR_clear_error();
    if (crlCount == 0) return std::string("no CRL in the CRL file");
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  return store;
}

std::string verifiedClientSubject(SSL* ssl) {
  X509* client = SSL_get0_peer_certificate(ssl);
  if (client == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> text(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(text.get(), X509_get_subject_name(client), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long length = BIO_get_mem_data(text.get(), &data);
  std::string subject(data, static_cast<size_t>(length));
  std::string value = "Subject=\"";
  for (char c : subject) {
    if (c == '"' || c == '\\') value += '\\';
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) value += c;  // never a CR or LF
  }
  value += '"';
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(client, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* entry = sk_GENERAL_NAME_value(sans, i);
      if (entry->type != GEN_URI) continue;
      std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(entry->d.uniformResourceIdentifier)),
                           static_cast<size_t>(ASN1_STRING_length(entry->d.uniformResourceIdentifier)));
      value += ";URI=";
      for (char c : uri) {
        if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != ';' && c != ',') value += c;
      }
    }
    GENERAL_NAMES_free(sans);
  }
  return value;
}

}  // namespace readygate
