// A real DNS server for tests: dnsmasq on loopback, answering from a hosts file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/proxy_harness.h"

namespace testing_support {

/// dnsmasq on 127.0.0.1 answering from a hosts file the test rewrites (setRecords
/// sends SIGHUP, which makes dnsmasq read it again).
class TestDns {
 public:
  explicit TestDns(ProxyHarness& harness);
  void setRecords(const std::string& name, const std::vector<std::string>& ips);
  void stop() { process_.reset(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::string hosts_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace testing_support
