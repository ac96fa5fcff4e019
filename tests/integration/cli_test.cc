// The readygate command line: --check, --version, --help, bad flags, bind failures, SIGHUP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

struct RunResult {
  int status;
  std::string output;
};

RunResult runReadygate(ProxyHarness& harness, std::vector<std::string> args) {
  args.insert(args.begin(), readygateBinary());
  ChildProcess process(args, harness.dir() + "/cli.log");
  auto status = process.waitExit(10s);
  return {status.value_or(-1), process.output()};
}

TEST(Cli, CheckAcceptsAValidFile) {
  ProxyHarness harness;
  std::string path = harness.writeFile("ok.yaml", R"(
services:
  - {name: web, listen: "127.0.0.1:8080", endpoints: {static: ["127.0.0.1:5001"]}}
)");
  RunResult result = runReadygate(harness, {"--check", "-c", path});
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("configuration is valid (1 service)"));
}

TEST(Cli, CheckReportsEveryErrorWithPathAndLineAndExitsOne) {
  ProxyHarness harness;
  std::string path = harness.writeFile("bad.yaml",
                                       R"(services:
  - name: web
    endpoints: {static: ["127.0.0.1:5001"]}
    listen: "0.0.0.0:80x"
    balanse: round_robin
)");
  RunResult result = runReadygate(harness, {"--check", "--config", path});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr(path + ": services[0].listen: \"0.0.0.0:80x\": invalid port "
                                              "(line 4, column 13)"));
  EXPECT_THAT(result.output, HasSubstr(path + ": services[0].balanse: unknown key (did you mean "
                                              "\"balance\"?) (line 5, column 5)"));
  EXPECT_THAT(result.output, HasSubstr("2 errors, configuration rejected"));
}

// Issue 17, finding 3: the configuration file and the token file are read as endpoints
// files are: a FIFO or a device is refused at once, never waited on.
TEST(Cli, AConfigOrTokenFileThatIsNoRegularFileIsRefusedAtOnce) {
  ProxyHarness harness;
  std::string fifo = harness.dir() + "/config.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  RunResult fromFifo = runReadygate(harness, {"--check", "-c", fifo});
  EXPECT_EQ(fromFifo.status, 1);
  EXPECT_THAT(fromFifo.output, HasSubstr("a FIFO"));
  RunResult fromDevice = runReadygate(harness, {"--check", "-c", "/dev/zero"});
  EXPECT_EQ(fromDevice.status, 1);
  EXPECT_THAT(fromDevice.output, HasSubstr("a character device"));
  std::string config = harness.writeFile("token.yaml", fill(R"(
admin: {listen: "127.0.0.1:${admin}", tokenFile: ${fifo}}
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["127.0.0.1:5001"]}}
)",
                                                           {{"admin", std::to_string(freePort())},
                                                            {"port", std::to_string(freePort())},
                                                            {"fifo", fifo}}));
  RunResult tokenFromFifo = runReadygate(harness, {"-c", config});
  EXPECT_EQ(tokenFromFifo.status, 1);
  EXPECT_THAT(tokenFromFifo.output, HasSubstr("admin_token_unreadable"));
  EXPECT_THAT(tokenFromFifo.output, HasSubstr("a FIFO"));
}

TEST(Cli, RunningWithABadFileExitsOneWithoutListening) {
  ProxyHarness harness;
  std::string path = harness.writeFile("bad.yaml", "services: []\n");
  RunResult result = runReadygate(harness, {"-c", path});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("needs at least one service"));
}

TEST(Cli, VersionHelpAndBadFlags) {
  ProxyHarness harness;
  RunResult version = runReadygate(harness, {"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.output, ::testing::MatchesRegex("readygate [0-9]+\\.[0-9]+\\.[0-9]+\n"));

  RunResult help = runReadygate(harness, {"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.output, HasSubstr("--check"));
  EXPECT_THAT(help.output, HasSubstr("--log-level"));

  RunResult unknown = runReadygate(harness, {"--frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown argument \"--frobnicate\""));

  RunResult noConfig = runReadygate(harness, {});
  EXPECT_EQ(noConfig.status, 2);
  EXPECT_THAT(noConfig.output, HasSubstr("configuration file is required"));

  RunResult badLevel = runReadygate(harness, {"--log-level", "loud", "-c", "x"});
  EXPECT_EQ(badLevel.status, 2);
}

TEST(Cli, PortAlreadyInUseFailsTheStartClearly) {
  ProxyHarness harness;
  // Held without SO_REUSEPORT, so readygate's bind must fail.
  IdleListener holder(1);
  int port = holder.port();
  std::string path = harness.writeFile("busy.yaml", fill(R"(
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["127.0.0.1:5001"]}}
)",
                                                         {{"port", std::to_string(port)}}));
  RunResult result = runReadygate(harness, {"-c", path});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("event=listen_failed service=web"));
  EXPECT_THAT(result.output, HasSubstr("Address already in use"));
}

// Another process listening with SO_REUSEPORT (a stale second proxy) would silently take
// a share of the connections (17 of 40 before): the start fails instead, unless sharing
// is asked for with reusePort: shared.
TEST(Cli, APortSharedWithAnotherProcessFailsTheStartUnlessAskedFor) {
  ProxyHarness harness;
  int port = freePort();
  IdleListener stale(16, port, true);
  std::string config = R"(
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["127.0.0.1:5001"]}${extra}}
)";
  std::string exclusive = harness.writeFile(
      "exclusive.yaml", fill(config, {{"port", std::to_string(port)}, {"extra", ""}}));
  RunResult result = runReadygate(harness, {"-c", exclusive});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("event=listen_failed service=web"));
  EXPECT_THAT(result.output, HasSubstr("Address already in use"));

  harness.startReadygate(
      fill(config, {{"port", std::to_string(port)}, {"extra", ", reusePort: shared"}}));
  EXPECT_TRUE(harness.readygate().running());
}

// The same on reload: a new listen address someone else listens on rejects the reload;
// moving a listener onto an address this process holds already is fine.
TEST(Cli, AReloadOntoAPortSharedWithAnotherProcessIsRejected) {
  ProxyHarness harness;
  int port = freePort();
  int busy = freePort();
  IdleListener stale(16, busy, true);
  std::string config = R"(
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: ${second}, listen: "127.0.0.1:${secondPort}", endpoints: {static: ["127.0.0.1:5001"]}}
)";
  int other = freePort();
  harness.startReadygate(fill(
      config,
      {{"port", std::to_string(port)}, {"second", "api"}, {"secondPort", std::to_string(other)}}));
  harness.writeFile("readygate.yaml",
                    "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n" +
                        fill(config, {{"port", std::to_string(port)},
                                      {"second", "api"},
                                      {"secondPort", std::to_string(busy)}}));
  std::string rejected = harness.adminPost("/reload");
  EXPECT_THAT(rejected, HasSubstr("400"));
  EXPECT_THAT(rejected, HasSubstr("Address already in use"));
  // Swapping the two services' ports: both addresses are ours already.
  harness.writeFile("readygate.yaml",
                    "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n" +
                        fill(config, {{"port", std::to_string(other)},
                                      {"second", "api"},
                                      {"secondPort", std::to_string(port)}}));
  EXPECT_THAT(harness.adminPost("/reload"), HasSubstr("200"));
}

/// A port below 1024 free on 127.0.0.1 now (only root can bind one); 0 when none is.
int freePrivilegedPort(int after = 0) {
  for (int port = std::max(after + 1, 700 + getpid() % 200); port < 1024; ++port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

// Started as root with `user: nobody`: the privileged port is bound first, then root is
// given up for good (every thread, and the exec probes it starts); a reload that needs a
// new privileged port is rejected saying why, other reloads still work.
TEST(Cli, UserGivesUpRootAfterBindingAndAReloadCannotBindANewPrivilegedPort) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
  int privileged = freePrivilegedPort();
  int another = freePrivilegedPort(privileged);
  if (privileged == 0 || another == 0) GTEST_SKIP() << "no free port below 1024";
  ProxyHarness harness;
  chmod(harness.dir().c_str(), 0755);  // nobody reads the config again on reload
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  std::string config = R"(
user: nobody
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${pod}"]}
    readinessProbe:
      exec: {command: ["sh", "-c", "test \"$(id -u)\" = ${uid}"]}
      periodSeconds: 0.1
${more})";
  std::vector<std::pair<std::string, std::string>> values = {
      {"port", std::to_string(privileged)},
      {"pod", pod.address()},
      {"uid", std::to_string(nobody->pw_uid)},
      {"more", ""}};
  harness.startReadygate(fill(config, values));
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s))
      << "the probe did not run as nobody: " << harness.backendField(pod.address(), "message");
  EXPECT_EQ(podsReached(privileged, 1), (std::vector<std::string>{"pod"}));
  std::ifstream status("/proc/" + std::to_string(harness.readygate().pid()) + "/status");
  std::string line;
  std::string uids;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uids = line;
  }
  std::string id = std::to_string(nobody->pw_uid);
  EXPECT_EQ(uids, "Uid:\t" + id + "\t" + id + "\t" + id + "\t" + id);

  auto reloadWith = [&](const std::string& more) {
    values.back().second = more;
    std::string admin =
        "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n";
    harness.writeFile("readygate.yaml", admin + fill(config, values));
    return harness.adminPost("/reload");
  };
  std::string rejected = reloadWith(
      fill("  - {name: low, listen: \"127.0.0.1:${port}\", endpoints: {static: [\"${pod}\"]}}\n",
           {{"port", std::to_string(another)}, {"pod", pod.address()}}));
  EXPECT_THAT(rejected, HasSubstr("400"));
  EXPECT_THAT(rejected, HasSubstr("a port below 1024 needs root"));
  std::string accepted = reloadWith(
      fill("  - {name: high, listen: \"127.0.0.1:${port}\", endpoints: {static: [\"${pod}\"]}}\n",
           {{"port", std::to_string(freePort())}, {"pod", pod.address()}}));
  EXPECT_THAT(accepted, HasSubstr("200"));
}

TEST(Cli, SighupReloadsAndTheProxyKeepsServing) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a", {"--echo", "--greeting"});
  int port = freePort();
  ChildProcess& readygate =
      harness.startReadygate(fill(R"(
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["${pod}"]}}
)",
                                  {{"port", std::to_string(port)}, {"pod", pod.address()}}));
  readygate.signal(SIGHUP);
  EXPECT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_config_reloads_total{result=\"success\"}") == 1; },
      5s));
  EXPECT_TRUE(readygate.running());
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->receiveLine(), "pod-a");
}

// An empty endpoint list is accepted (a reload or discovery may fill it) but said:
// by --check, and in /status.
TEST(Cli, AServiceWithoutEndpointsIsToldByCheckAndStatus) {
  ProxyHarness harness;
  std::string yaml = fill(R"(
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: []}}
)",
                          {{"port", std::to_string(freePort())}});
  std::string path = harness.writeFile("empty.yaml", yaml);
  RunResult check = runReadygate(harness, {"--check", "-c", path});
  EXPECT_EQ(check.status, 0);
  EXPECT_THAT(check.output, HasSubstr("warning: services[0].endpoints"));
  harness.startReadygate(yaml);
  EXPECT_THAT(harness.admin("/status"),
              HasSubstr("\"note\":\"no endpoints: nothing to send traffic to\""));
}

}  // namespace
