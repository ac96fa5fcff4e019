// Certificates made in memory for unit tests (no openssl process, no files).
#pragma once

#include <string>
#include <vector>

namespace testing_support {

struct PemPair {
  std::string certificate;
  std::string key;
};

/// A self-signed certificate for `names` (DNS SANs; the first is also the CN), valid for
/// `days` from now, as PEM: a P-256 key, or RSA-2048 with `rsa`.
PemPair makePemCertificate(const std::vector<std::string>& names, int days = 30,
                           bool rsa = false);

}  // namespace testing_support
