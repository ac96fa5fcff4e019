// ServerCertificates implementation: PEM from memory, names from the certificate, SNI choice.
#include "proxy/transport/server_certificates.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "proxy/transport/tls_errors.h"

namespace readygate {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr memoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::vector<std::string> namesOf(X509* certificate) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* entry = sk_GENERAL_NAME_value(sans, i);
      if (entry->type != GEN_DNS) continue;
      const ASN1_IA5STRING* text = entry->d.dNSName;
      names.push_back(lowercase(std::string_view(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
          static_cast<size_t>(ASN1_STRING_length(text)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {  // no DNS SAN: the subject's common name, as clients once used
    X509_NAME* subject = X509_get_subject_name(certificate);
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index >= 0) {
      ASN1_STRING* text = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
      names.push_back(lowercase(
          std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                           static_cast<size_t>(ASN1_STRING_length(text)))));
    }
  }
  return names;
}

std::time_t expiryOf(X509* certificate) {
  std::tm parts{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &parts) != 1) return 0;
  return timegm(&parts);
}

}  // namespace

bool serverNameMatches(std::string_view pattern, std::string_view name) {
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    size_t dot = name.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;  // one non-empty label
    return name.substr(dot) == pattern.substr(1);
  }
  return pattern == name;
}

std::variant<std::shared_ptr<const ServerCertificate>, std::string> ServerCertificate::fromPem(
    std::string_view certificatePem, std::string_view keyPem) {
  ERR_clear_error();
  auto made = std::make_shared<ServerCertificate>();
  BioPtr certificates = memoryBio(certificatePem);
  made->certificate.reset(PEM_read_bio_X509(certificates.get(), nullptr, nullptr, nullptr));
  if (!made->certificate) return "no certificate in PEM: " + takeOpensslError();
  made->chain.reset(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(certificates.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(made->chain.get(), next);
  }
  ERR_clear_error();  // the end of the file reads as an error
  BioPtr key = memoryBio(keyPem);
  made->key.reset(PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr));
  if (!made->key) return "no private key in PEM: " + takeOpensslError();
  if (X509_check_private_key(made->certificate.get(), made->key.get()) != 1) {
    return "certificate and key do not match: " + takeOpensslError();
  }
  made->names = namesOf(made->certificate.get());
  made->notAfter = expiryOf(made->certificate.get());
  made->label = made->names.empty() ? std::string("(unnamed)") : made->names.front();
  switch (EVP_PKEY_get_base_id(made->key.get())) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      made->kind = KeyKind::Rsa;
      break;
    case EVP_PKEY_EC:
      made->kind = KeyKind::Ecdsa;
      break;
    default:
      made->kind = KeyKind::Other;
  }
  return std::shared_ptr<const ServerCertificate>(std::move(made));
}

ServerCertificates::Choice ServerCertificates::choose(std::string_view name,
                                                      bool takesEcdsa) const {
  if (certificates_.empty()) return {};
  std::string wanted = lowercase(name);
  if (!wanted.empty() && wanted.back() == '.') wanted.pop_back();
  KeyKind preferred = takesEcdsa ? KeyKind::Ecdsa : KeyKind::Rsa;
  // The first certificate that fits, unless one of the kind the client prefers fits too.
  auto pick = [&](auto&& fits) -> const ServerCertificate* {
    const ServerCertificate* first = nullptr;
    for (const auto& certificate : certificates_) {
      if (!fits(*certificate)) continue;
      if (certificate->kind == preferred) return certificate.get();
      if (first == nullptr) first = certificate.get();
    }
    return first;
  };
  if (!wanted.empty()) {
    if (const ServerCertificate* exact = pick([&](const ServerCertificate& certificate) {
          return std::find(certificate.names.begin(), certificate.names.end(), wanted) !=
                 certificate.names.end();
        })) {
      return {exact, true};
    }
    if (const ServerCertificate* wildcard = pick([&](const ServerCertificate& certificate) {
          return std::any_of(certificate.names.begin(), certificate.names.end(),
                             [&](const std::string& own) {
                               return own.starts_with("*.") && serverNameMatches(own, wanted);
                             });
        })) {
      return {wildcard, true};
    }
  }
  const std::vector<std::string>& defaultNames = certificates_.front()->names;
  return {pick([&](const ServerCertificate& certificate) {
            return certificate.names == defaultNames;
          }),
          false};
}

}  // namespace readygate
