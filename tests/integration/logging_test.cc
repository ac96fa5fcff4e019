// Logging never stops the data plane: a stderr nobody reads (a full pipe, as behind a
// blocking container log driver) costs log lines, counted, never connections.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;

TEST(Logging, ABlockedStderrDoesNotStopProxyingAndDroppedLinesAreCounted) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  int pipeFds[2];
  ASSERT_EQ(pipe2(pipeFds, O_CLOEXEC), 0);
  // Debug logging writes lines per connection; 16 KiB of queue and a 64 KiB pipe that
  // is never read fill within a few hundred connections.
  harness.startReadygateWithOutput(serviceConfig(port, {pod.address()}), pipeFds[1],
                                   {"--log-queue-kib", "16", "--log-rate", "0"});
  close(pipeFds[1]);

  int served = 0;
  for (int i = 0; i < 800; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    if (!client || client->receiveLine(2s) != "pod-a") break;
    ++served;
  }
  EXPECT_EQ(served, 800) << "proxying stopped after " << served << " connections";
  EXPECT_GT(harness.metric("readygate_log_lines_dropped_total").value_or(0), 0);
  EXPECT_EQ(harness.admin("/healthz"), "ok\n");
  close(pipeFds[0]);
}

}  // namespace
