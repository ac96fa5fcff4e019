// TicketKeyRing implementation.
#include "proxy/transport/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace readygate {

TicketKeyRing::TicketKeyRing(double rotateSeconds, size_t keep, const Clock* clock)
    : clock_(clock ? *clock : steady_), rotateSeconds_(rotateSeconds), keep_(keep < 1 ? 1 : keep) {}

void TicketKeyRing::rotateIfDue() {
  double now = clock_.now();
  if (!keys_.empty() && now - keys_.front().createdAt < rotateSeconds_) return;
  TicketKey key;
  RAND_bytes(key.name.data(), static_cast<int>(key.name.size()));
  RAND_bytes(key.aesKey.data(), static_cast<int>(key.aesKey.size()));
  RAND_bytes(key.hmacKey.data(), static_cast<int>(key.hmacKey.size()));
  key.createdAt = now;
  keys_.insert(keys_.begin(), key);
  if (keys_.size() > keep_) keys_.resize(keep_);
}

TicketKey TicketKeyRing::current() {
  std::lock_guard lock(mutex_);
  rotateIfDue();
  return keys_.front();
}

std::optional<std::pair<TicketKey, bool>> TicketKeyRing::find(const unsigned char* name) {
  std::lock_guard lock(mutex_);
  rotateIfDue();
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      return std::make_pair(keys_[i], i == 0);
    }
  }
  return std::nullopt;
}

namespace {

/// Fetched once: EVP_aes_256_cbc() would look the implementation up in the library
/// context's method store on every ticket (a lock OpenSSL 3.0's threads contend on).
const EVP_CIPHER* ticketCipher() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

}  // namespace

int TicketKeyRing::ringIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int TicketKeyRing::ticketCallback(SSL* ssl, unsigned char* name, unsigned char* iv,
                                  EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypting) {
  auto* ring = static_cast<TicketKeyRing*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ringIndex()));
  if (ring == nullptr) return -1;
  auto setMac = [mac](const TicketKey& key) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                          const_cast<unsigned char*>(key.hmacKey.data()),
                                          key.hmacKey.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    return EVP_MAC_CTX_set_params(mac, params) == 1;
  };
  if (encrypting == 1) {
    TicketKey key = ring->current();
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, ticketCipher(), nullptr, key.aesKey.data(), iv) != 1) {
      return -1;
    }
    return setMac(key) ? 1 : -1;
  }
  auto found = ring->find(name);
  if (!found) return 0;  // unknown or expired key: a full handshake
  const TicketKey& key = found->first;
  if (!setMac(key)) return -1;
  if (EVP_DecryptInit_ex(cipher, ticketCipher(), nullptr, key.aesKey.data(), iv) != 1) {
    return -1;
  }
  // 2: good, and issue a new ticket. Always in TLS 1.3, whose clients use a ticket once
  // (RFC 8446 C.4; OpenSSL's client drops it after use): without a new one the next
  // connection is a full handshake. In TLS 1.2 only when an older key sealed it.
  bool renew = !found->second || SSL_version(ssl) == TLS1_3_VERSION;
  return renew ? 2 : 1;
}

}  // namespace readygate
