// Certificates made in memory for unit tests (no openssl process, no files).
#pragma once

#include <string>
#include <vector>

namespace testing_support {

struct PemPair {
  std::string certificate;
  std::string key;
};

/// A self-signed P-256 certificate for `names` (DNS SANs; the first is also the CN),
/// valid for `days` from now, as PEM.
PemPair makePemCertificate(const std::vector<std::string>& names, int days = 30);

}  // namespace testing_support
