// Certificates made at test time with the openssl command: self-signed ones and a small CA.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/proxy_harness.h"

namespace testing_support {

/// Runs `command` with /bin/sh (bounded); its exit status and what it printed.
std::pair<int, std::string> shell(ProxyHarness& harness, const std::string& command,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// A P-256 certificate for `names` (the first is the CN) and its key, as dir/stem.crt and
/// dir/stem.key; `cn` overrides the subject, so two certificates for one name differ.
std::pair<std::string, std::string> makeCertificate(ProxyHarness& harness, const std::string& dir,
                                                    const std::string& stem,
                                                    const std::vector<std::string>& names,
                                                    const std::string& cn = "");

/// A CA in `dir` that `openssl ca` can revoke from and make CRLs for.
struct TestCa {
  ProxyHarness& harness;
  std::string dir;
  std::string cert() const { return dir + "/ca.crt"; }
  std::string crl() const { return dir + "/ca.crl"; }
  void create(const std::string& name);
  /// A client certificate (subject O=shop/CN=name, a URI SAN) signed by this CA: {cert, key}.
  std::pair<std::string, std::string> issue(const std::string& name);
  /// A server certificate for `dnsNames` (the first is the CN; an IP literal becomes an
  /// IP SAN) signed by this CA.
  std::pair<std::string, std::string> issueServer(const std::string& stem,
                                                  const std::vector<std::string>& dnsNames);
  void revoke(const std::string& certificate);
  void writeCrl();

 private:
  std::pair<std::string, std::string> sign(const std::string& stem, const std::string& subject,
                                           const std::string& extensions);
};

}  // namespace testing_support
