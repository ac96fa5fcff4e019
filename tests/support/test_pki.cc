// Test PKI helpers: the openssl command, bounded, in the harness's directory.
#include "tests/support/test_pki.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace testing_support {

std::pair<int, std::string> shell(ProxyHarness& harness, const std::string& command,
                                  std::chrono::milliseconds timeout) {
  static int runs = 0;
  std::string log = harness.dir() + "/shell-" + std::to_string(++runs) + ".log";
  ChildProcess process({"/bin/sh", "-c", command}, log);
  std::optional<int> status = process.waitExit(timeout);
  return {status.value_or(-1), process.output()};
}

std::pair<std::string, std::string> makeCertificate(ProxyHarness& harness, const std::string& dir,
                                                    const std::string& stem,
                                                    const std::vector<std::string>& names,
                                                    const std::string& cn) {
  std::filesystem::create_directories(dir);
  std::string sans;
  for (const std::string& name : names) sans += (sans.empty() ? "DNS:" : ",DNS:") + name;
  std::string cert = dir + "/" + stem + ".crt";
  std::string key = dir + "/" + stem + ".key";
  auto [status, output] = shell(
      harness, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '" +
                   key + "' -out '" + cert + "' -days 30 -subj '/CN=" +
                   (cn.empty() ? names.front() : cn) + "' -addext 'subjectAltName=" + sans + "'");
  EXPECT_EQ(status, 0) << output;
  return {cert, key};
}

void TestCa::create(const std::string& name) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ca.cnf") << "[ca]\ndefault_ca = own\n[own]\ndatabase = " << dir
                                 << "/index.txt\ncrlnumber = " << dir
                                 << "/crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n";
  std::ofstream(dir + "/index.txt");
  std::ofstream(dir + "/crlnumber") << "01\n";
  auto [status, output] = shell(
      harness, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                   dir + "/ca.key -out " + cert() + " -days 30 -subj /CN=" + name +
                   " -addext basicConstraints=critical,CA:TRUE"
                   " -addext keyUsage=critical,keyCertSign,cRLSign 2>&1");
  ASSERT_EQ(status, 0) << output;
  writeCrl();
}

std::pair<std::string, std::string> TestCa::sign(const std::string& stem,
                                                 const std::string& subject,
                                                 const std::string& extensions) {
  std::string key = dir + "/" + stem + ".key";
  std::string crt = dir + "/" + stem + ".crt";
  std::ofstream(dir + "/" + stem + ".ext") << extensions << "\n";
  auto [status, output] = shell(
      harness, "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key +
                   " -out " + dir + "/" + stem + ".csr -subj " + subject +
                   " 2>&1 && openssl x509 -req -in " + dir + "/" + stem + ".csr -CA " + cert() +
                   " -CAkey " + dir + "/ca.key -CAcreateserial -out " + crt +
                   " -days 2 -extfile " + dir + "/" + stem + ".ext 2>&1");
  EXPECT_EQ(status, 0) << output;
  return {crt, key};
}

std::pair<std::string, std::string> TestCa::issue(const std::string& name) {
  return sign(name, "/O=shop/CN=" + name, "subjectAltName=URI:spiffe://cluster/ns/" + name);
}

std::pair<std::string, std::string> TestCa::issueServer(const std::string& stem,
                                                        const std::vector<std::string>& dnsNames) {
  std::string sans;
  for (const std::string& name : dnsNames) {
    bool ip = name.find_first_not_of("0123456789.:") == std::string::npos;
    sans += (sans.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + name;
  }
  return sign(stem, "/CN=" + dnsNames.front(), "subjectAltName=" + sans);
}

void TestCa::revoke(const std::string& certificate) {
  auto [status, output] = shell(harness, "openssl ca -config " + dir + "/ca.cnf -keyfile " + dir +
                                             "/ca.key -cert " + cert() + " -revoke " +
                                             certificate + " 2>&1");
  ASSERT_EQ(status, 0) << output;
  writeCrl();
}

void TestCa::writeCrl() {
  auto [status, output] = shell(harness, "openssl ca -config " + dir + "/ca.cnf -keyfile " + dir +
                                             "/ca.key -cert " + cert() + " -gencrl -out " + crl() +
                                             ".tmp 2>&1 && mv " + crl() + ".tmp " + crl());
  ASSERT_EQ(status, 0) << output;
}

}  // namespace testing_support
