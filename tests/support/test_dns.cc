// TestDns implementation.
#include "tests/support/test_dns.h"

#include <signal.h>

#include <fstream>

namespace testing_support {

TestDns::TestDns(ProxyHarness& harness) : port_(freePort()), hosts_(harness.dir() + "/dns-hosts") {
  std::ofstream(hosts_) << "";
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/sbin/dnsmasq", "--keep-in-foreground",
                               "--port=" + std::to_string(port_), "--listen-address=127.0.0.1",
                               "--bind-interfaces", "--no-resolv", "--no-hosts",
                               "--addn-hosts=" + hosts_, "--conf-file=/dev/null",
                               "--pid-file=", "--user=root", "--log-facility=-"},
      harness.dir() + "/dnsmasq.log");
  waitUntil([&] { return process_->output().find("started") != std::string::npos; }, 5s);
}

void TestDns::setRecords(const std::string& name, const std::vector<std::string>& ips) {
  std::ofstream hosts(hosts_);
  for (const std::string& ip : ips) hosts << ip << " " << name << "\n";
  hosts.close();
  process_->signal(SIGHUP);
}

}  // namespace testing_support
