// Session ticket keys shared by every worker: one encrypts, the previous ones still decrypt.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "proxy/core/clock.h"

namespace readygate {

/// A TLS session ticket key (RFC 5077's name, AES-256 key, HMAC-SHA256 key).
struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aesKey{};
  std::array<unsigned char, 32> hmacKey{};
  double createdAt = 0;
};

/// Rotates every `rotateSeconds`: a new key encrypts new tickets, and the last `keep`
/// keys still decrypt, so a ticket is good for up to keep × rotateSeconds and a stolen
/// key stops mattering after that. Random keys from OpenSSL's generator; nothing is
/// written to disk, so a restart makes clients do a full handshake once. One ring per
/// process, shared by all listeners and workers (so a ticket from worker 1 resumes on
/// worker 2); thread-safe.
class TicketKeyRing {
 public:
  /// `clock`: a test's; by default the steady clock.
  TicketKeyRing(double rotateSeconds, size_t keep, const Clock* clock = nullptr);

  /// The key to encrypt a new ticket with (rotating first when it is time).
  TicketKey current();
  /// The key named `name`, if it is still kept, and whether it is the current one (an
  /// older key's ticket is renewed).
  std::optional<std::pair<TicketKey, bool>> find(const unsigned char* name);
  double ticketLifetimeSeconds() const { return rotateSeconds_ * static_cast<double>(keep_); }

  /// OpenSSL's ticket callback, for SSL_CTX_set_tlsext_ticket_key_evp_cb; the ring is the
  /// SSL_CTX's ex data at `ringIndex()`.
  static int ticketCallback(SSL* ssl, unsigned char* name, unsigned char* iv,
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypting);
  static int ringIndex();

 private:
  void rotateIfDue();  // with mutex_ held

  SteadyClock steady_;
  const Clock& clock_;  // steady_ or the test's
  const double rotateSeconds_;
  const size_t keep_;
  std::mutex mutex_;
  std::vector<TicketKey> keys_;  // newest first
};

}  // namespace readygate
