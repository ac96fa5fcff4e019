// Active probing against real fakepods, each test a scenario from the field notes:
// the toggling /ready, the wrong probe port, HTTPS against plain HTTP, exec exit codes,
// a liveness failure after /start-failing, and a killed pod.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

TEST(Probes, TogglingReadyMovesThePodInAndOutAndTrafficFollows) {
  ProxyHarness harness;
  // The field notes' flask /ready that flips every 5 hits; probes target the HTTP
  // face on its own port, traffic goes to the echo face.
  FakePod& stableEcho = harness.startPod("stable", {"--echo", "--greeting"}, true, "127.0.0.2");
  FakePod& stableHttp = harness.startPod("stable-http", {}, true, "127.0.0.2");
  FakePod& flappingEcho = harness.startPod("flapping", {"--echo", "--greeting"}, true, "127.0.0.3");
  // The probe port is one for the whole service: give the flapping pod's HTTP face the
  // same port number on its own address.
  FakePod& flappingHttp = harness.startPod(
      "flapping-http", {"--ready-toggle", "5", "--port", std::to_string(stableHttp.port)}, true,
      "127.0.0.3");
  (void)flappingHttp;
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {stableEcho.address(), flappingEcho.address()},
                                       fill(R"(    readinessProbe:
      httpGet: {path: /ready, port: ${probePort}}
      periodSeconds: 0.3
      failureThreshold: 1
)",
                                            {{"probePort", std::to_string(stableHttp.port)}})));

  std::string flapping = flappingEcho.address();
  ASSERT_TRUE(harness.waitForState(stableEcho.address(), "ready", 5s));
  for (int cycle = 0; cycle < 2; ++cycle) {
    ASSERT_TRUE(harness.waitForState(flapping, "ready", 10s)) << "cycle " << cycle;
    std::vector<std::string> inRotation = podsReached(port, 6);
    EXPECT_EQ(distinct(inRotation), (std::set<std::string>{"stable", "flapping"}));

    ASSERT_TRUE(harness.waitForState(flapping, "not_ready", 10s)) << "cycle " << cycle;
    EXPECT_EQ(harness.backendField(flapping, "reason"), "http_503");
    std::vector<std::string> outOfRotation = podsReached(port, 6);
    EXPECT_EQ(distinct(outOfRotation), (std::set<std::string>{"stable"}));
  }
}

TEST(Probes, ReadinessOnAWrongPortNeverLetsTheNewPodIn) {
  ProxyHarness harness;
  // The old pod serves its health port; the new pod (another address) has nothing
  // there, as after the field notes' "modify health-checker port to wrong number".
  FakePod& oldPod = harness.startPod("old", {"--echo", "--greeting"}, true, "127.0.0.2");
  int healthPort = freePort("127.0.0.2");
  FakePod& oldHealth =
      harness.startPod("old-health", {"--port", std::to_string(healthPort)}, true, "127.0.0.2");
  (void)oldHealth;
  FakePod& newPod = harness.startPod("new", {"--echo", "--greeting"}, true, "127.0.0.3");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {oldPod.address(), newPod.address()},
                                       fill(R"(    readinessProbe:
      tcpSocket: {port: ${probePort}}
      periodSeconds: 0.1
      timeoutSeconds: 0.5
)",
                                            {{"probePort", std::to_string(healthPort)}})));

  std::string oldAddress = oldPod.address();
  std::string newAddress = newPod.address();
  ASSERT_TRUE(harness.waitForState(oldAddress, "ready", 5s));
  // Many periods later the new pod is still out, and says why.
  ASSERT_TRUE(waitUntil(
      [&] { return harness.backendField(newAddress, "reason") == "connect_refused"; }, 5s));
  ASSERT_TRUE(waitUntil(
      [&] {
        std::string failures = harness.backendField(newAddress, "consecutive_failures");
        return !failures.empty() && std::stoi(failures) >= 10;
      },
      5s));
  EXPECT_EQ(harness.backendState(newAddress), "starting");
  EXPECT_EQ(distinct(podsReached(port, 20)), (std::set<std::string>{"old"}));
  EXPECT_EQ(harness.backendField(newAddress, "connections_total"), "0");
}

TEST(Probes, HttpsProbeNeverPassesAgainstPlainHttpButPassesAgainstTls) {
  ProxyHarness harness;
  auto [cert, key] = harness.selfSignedCertificate("pod.local");
  ASSERT_FALSE(cert.empty());

  FakePod& plain = harness.startPod("plain", {}, true, "127.0.0.2");
  FakePod& tls = harness.startPod(
      "tls", {"--tls-cert", cert, "--tls-key", key, "--port", std::to_string(plain.port)}, true,
      "127.0.0.3");
  (void)tls;
  int port = freePort();
  std::string plainAddress = plain.address();
  std::string tlsAddress = "127.0.0.3:" + std::to_string(plain.port);
  harness.startReadygate(serviceConfig(port, {plainAddress, tlsAddress},
                                       R"(    readinessProbe:
      httpGet: {path: /ready, scheme: HTTPS}
      periodSeconds: 0.1
)"));

  EXPECT_TRUE(harness.waitForState(tlsAddress, "ready", 5s))
      << "self-signed certificate must pass without verification, as with the kubelet";
  ASSERT_TRUE(waitUntil(
      [&] { return harness.backendField(plainAddress, "reason") == "tls_handshake"; }, 5s));
  // It stays out: many periods, never ready.
  EXPECT_FALSE(harness.waitForState(plainAddress, "ready", 1s));
}

TEST(Probes, HttpsWithVerificationChecksTheCertificate) {
  ProxyHarness harness;
  auto [cert, key] = harness.selfSignedCertificate("pod.local");
  ASSERT_FALSE(cert.empty());
  FakePod& pod = harness.startPod("tls", {"--tls-cert", cert, "--tls-key", key});

  auto run = [&](const std::string& tlsOptions) {
    ProxyHarness inner;
    int port = freePort();
    inner.startReadygate(serviceConfig(port, {pod.address()},
                                       fill(R"(    readinessProbe:
      httpGet: {path: /ready, scheme: HTTPS, tls: ${tls}}
      periodSeconds: 0.1
)",
                                            {{"tls", tlsOptions}})));
    waitUntil(
        [&] {
          return !inner.backendField(pod.address(), "reason").empty() &&
                 inner.backendField(pod.address(), "reason") != "awaiting_probe";
        },
        5s);
    inner.waitForState(pod.address(), "ready", 1s);
    return inner.backendField(pod.address(), "state") + "/" +
           inner.backendField(pod.address(), "reason");
  };
  EXPECT_EQ(run("{verify: true, ca: \"" + cert + "\", serverName: pod.local}"), "ready/ok");
  EXPECT_EQ(run("{verify: true, ca: \"" + cert + "\", serverName: other.local}"),
            "starting/tls_handshake");
  EXPECT_EQ(run("{verify: true, serverName: pod.local}"), "starting/tls_handshake");
}

TEST(Probes, ExecExitCodesAreKeptAsTheReason) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()},
                                       R"(    readinessProbe:
      exec: {command: ["sh", "-c", "echo db down; exit 3"]}
      periodSeconds: 0.1
)"));
  ASSERT_TRUE(
      waitUntil([&] { return harness.backendField(pod.address(), "reason") == "exit_3"; }, 5s));
  EXPECT_EQ(harness.backendField(pod.address(), "message"), "db down");
  EXPECT_EQ(harness.backendState(pod.address()), "starting");
  // Nothing is ready: the connection is closed at once.
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->waitForEof(2s));
}

/// Processes whose command line is exactly `sleep <duration>`.
int countSleeps(const std::string& duration) {
  int count = 0;
  const std::string wanted = std::string("sleep") + '\0' + duration + '\0';
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    if (readProcFile(entry.path() / "cmdline") == wanted) ++count;
  }
  return count;
}

TEST(Probes, ExecPastTheTimeoutIsKilledAndFailsWithTimeout) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  // A duration no other process uses, so we can find our sleeps in /proc.
  std::string duration = "30." + std::to_string(getpid());
  int port = freePort();
  // `sh` runs `sleep` as its child: killing `sh` alone would leave `sleep` behind;
  // the whole process group must go.
  harness.startReadygate(serviceConfig(port, {pod.address()},
                                       fill(R"(    readinessProbe:
      exec: {command: ["sh", "-c", "sleep ${duration}; echo never"]}
      periodSeconds: 0.5
      timeoutSeconds: 0.2
)",
                                            {{"duration", duration}})));
  ASSERT_TRUE(waitUntil([&] { return countSleeps(duration) > 0; }, 5s)) << "the probe never ran";
  ASSERT_TRUE(
      waitUntil([&] { return harness.backendField(pod.address(), "reason") == "timeout"; }, 5s));
  double latency = std::stod(harness.backendField(pod.address(), "latency_seconds"));
  EXPECT_GE(latency, 0.19);  // libevent timers may fire a fraction of a millisecond early
  EXPECT_LT(latency, 1.0);
  // Between two probes (period 0.5, timeout 0.2) no sleep of ours is left running.
  EXPECT_TRUE(waitUntil([&] { return countSleeps(duration) == 0; }, 2s, 20ms));
}

TEST(Probes, ExecGetsTheBackendInItsEnvironmentAndRunsWithoutAShell) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  int port = freePort();
  std::string check =
      "test \"$READYGATE_SERVICE\" = web && test \"$READYGATE_BACKEND_HOST\" = "
      "127.0.0.1 && test \"$READYGATE_BACKEND_PORT\" = " +
      std::to_string(pod.port);
  harness.startReadygate(serviceConfig(port, {pod.address()},
                                       fill(R"(    readinessProbe:
      exec: {command: ["sh", "-c", '${check}']}
      periodSeconds: 0.1
)",
                                            {{"check", check}})));
  EXPECT_TRUE(harness.waitForState(pod.address(), "ready", 5s));
  EXPECT_EQ(podsReached(port, 2), (std::vector<std::string>{"pod", "pod"}));

  // The field notes' mistake: a whole shell line as one argv entry is not a program.
  ProxyHarness second;
  FakePod& other = second.startPod("other", {"--echo"});
  int otherPort = freePort();
  second.startReadygate(serviceConfig(otherPort, {other.address()},
                                      R"(    readinessProbe:
      exec: {command: ["ps -ef | grep python"]}
      periodSeconds: 0.1
)"));
  EXPECT_TRUE(waitUntil(
      [&] { return second.backendField(other.address(), "reason") == "exec_not_found"; }, 5s));
}

TEST(Probes, LivenessFailureTakesThePodOutUntilStartupAndReadinessPassAgain) {
  ProxyHarness harness;
  FakePod& stable = harness.startPod("stable", {});
  FakePod& failing = harness.startPod("failing", {});
  int port = freePort();
  const double period = 0.2, timeout = 0.2;
  const int failureThreshold = 2;
  harness.startReadygate(serviceConfig(port, {stable.address(), failing.address()},
                                       R"(    startupProbe:
      httpGet: {path: /_health}
      periodSeconds: 0.1
      failureThreshold: 100
    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.1
    livenessProbe:
      httpGet: {path: /_health}
      periodSeconds: 0.2
      timeoutSeconds: 0.2
      failureThreshold: 2
)"));
  std::string failingAddress = failing.address();
  ASSERT_TRUE(harness.waitForState(failingAddress, "ready", 5s));
  ASSERT_TRUE(harness.waitForState(stable.address(), "ready", 5s));

  ASSERT_NE(httpGet("127.0.0.1", failing.port, "/start-failing"), "");
  auto failedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(failingAddress) != "ready"; }, 5s, 5ms));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - failedAt).count();
  // periodSeconds × failureThreshold + timeoutSeconds, plus a margin for a loaded machine.
  EXPECT_LT(took, period * failureThreshold + timeout + 0.5) << "took " << took << " s";
  EXPECT_EQ(harness.backendState(failingAddress), "starting");
  EXPECT_EQ(harness.backendField(failingAddress, "restarts"), "1");

  // While its health fails, the startup probe keeps it out (readiness alone would pass).
  EXPECT_FALSE(harness.waitForState(failingAddress, "ready", 1s));
  EXPECT_EQ(harness.backendField(failingAddress, "reason"), "http_500");
  std::string response = httpGet("127.0.0.1", port, "/");
  EXPECT_NE(response.find("hello from stable"), std::string::npos) << response;

  // "Restarted" healthy: startup, then readiness, bring it back.
  ASSERT_NE(httpGet("127.0.0.1", failing.port, "/stop-failing"), "");
  EXPECT_TRUE(harness.waitForState(failingAddress, "ready", 5s));
  std::set<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.insert(httpBody(httpGet("127.0.0.1", port, "/")));
  EXPECT_EQ(seen, (std::set<std::string>{"hello from stable\n", "hello from failing\n"}));
}

// The field notes' Flask pod with only a livenessProbe. Before the fix, a liveness
// failure started the backend over with readiness "not configured = Success", so it
// was ready again at once and kept getting traffic while /_health said 500.
TEST(Probes, LivenessOnlyPodIsOutWhileItFailsAndBackWithinAPeriodAfter) {
  ProxyHarness harness;
  FakePod& stable = harness.startPod("stable", {});
  FakePod& failing = harness.startPod("failing", {});
  int port = freePort();
  const double period = 0.2, timeout = 0.2;
  const int failureThreshold = 2;
  harness.startReadygate(fill(R"(
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${stable}", "${failing}"]}
    livenessProbe:
      httpGet: {path: /_health}
      periodSeconds: 0.2
      timeoutSeconds: 0.2
      failureThreshold: 2
)",
                              {{"port", std::to_string(port)},
                               {"stable", stable.address()},
                               {"failing", failing.address()}}));
  std::string failingAddress = failing.address();
  ASSERT_TRUE(harness.waitForState(failingAddress, "ready", 5s));

  ASSERT_NE(httpGet("127.0.0.1", failing.port, "/start-failing"), "");
  auto failedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(failingAddress) != "ready"; }, 5s, 5ms));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - failedAt).count();
  EXPECT_LT(took, period * failureThreshold + timeout + 0.5) << "took " << took << " s";

  // Stays out while it fails: several failure windows, no traffic.
  auto outUntil = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < outUntil) {
    EXPECT_NE(harness.backendState(failingAddress), "ready");
    EXPECT_EQ(httpBody(httpGet("127.0.0.1", port, "/")), "hello from stable\n");
  }
  EXPECT_EQ(harness.backendField(failingAddress, "reason"), "http_500");
  EXPECT_EQ(harness.backendField(failingAddress, "cause"), "liveness");

  // Healthy again: back within one period (plus the margin).
  ASSERT_NE(httpGet("127.0.0.1", failing.port, "/stop-failing"), "");
  auto healedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(failingAddress) == "ready"; }, 5s, 5ms));
  double back = std::chrono::duration<double>(std::chrono::steady_clock::now() - healedAt).count();
  EXPECT_LT(back, period + 0.5) << "took " << back << " s";
}

TEST(Probes, AKilledPodIsOutWithinOneFailureWindowAndGetsNoNewConnections) {
  ProxyHarness harness;
  FakePod& stable = harness.startPod("stable", {"--echo", "--greeting"});
  FakePod& doomed = harness.startPod("doomed", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {stable.address(), doomed.address()},
                                       R"(    readinessProbe:
      tcpSocket: {}
      periodSeconds: 0.2
      timeoutSeconds: 0.2
      failureThreshold: 2
)"));
  std::string doomedAddress = doomed.address();
  ASSERT_TRUE(harness.waitForState(doomedAddress, "ready", 5s));
  ASSERT_TRUE(harness.waitForState(stable.address(), "ready", 5s));
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"stable", "doomed"}));

  doomed.process->signal(SIGKILL);
  auto killedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(harness.waitForState(doomedAddress, "not_ready", 5s));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();
  EXPECT_LT(took, 0.2 * 2 + 0.2 + 0.5) << "took " << took << " s";
  EXPECT_EQ(harness.backendField(doomedAddress, "reason"), "connect_refused");

  std::string attemptsBefore = harness.backendField(doomedAddress, "connections_total");
  EXPECT_EQ(distinct(podsReached(port, 20)), (std::set<std::string>{"stable"}));
  EXPECT_EQ(harness.backendField(doomedAddress, "connections_total"), attemptsBefore)
      << "a connection was sent to the dead pod after it left rotation";
}

TEST(Probes, ASlowBootingPodGetsTrafficOnlyAfterItsStartupProbePasses) {
  ProxyHarness harness;
  FakePod& old = harness.startPod("old", {"--echo", "--greeting"});
  // Nothing listens for the first second, like a pod still booting (KILL_IN_SECONDS's
  // cousin in the field notes); then it serves. The env variable form of --kill-in is
  // exercised too: the pod exits by itself 3 s in.
  setenv("KILL_IN_SECONDS", "3", 1);
  FakePod& slow = harness.startPod("slow", {"--echo", "--greeting", "--startup-delay", "1"}, false);
  unsetenv("KILL_IN_SECONDS");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {old.address(), slow.address()},
                                       R"(    startupProbe:
      tcpSocket: {}
      periodSeconds: 0.1
      failureThreshold: 100
    readinessProbe:
      tcpSocket: {}
      periodSeconds: 0.1
    livenessProbe:
      tcpSocket: {}
      periodSeconds: 0.1
      failureThreshold: 2
)"));
  ASSERT_TRUE(harness.waitForState(old.address(), "ready", 5s));
  ASSERT_TRUE(waitUntil(
      [&] { return harness.backendField(slow.address(), "reason") == "connect_refused"; }, 2s));
  EXPECT_EQ(harness.backendState(slow.address()), "starting");
  EXPECT_EQ(distinct(podsReached(port, 6)), (std::set<std::string>{"old"}));

  ASSERT_TRUE(harness.waitForState(slow.address(), "ready", 5s));
  EXPECT_EQ(distinct(podsReached(port, 6)), (std::set<std::string>{"old", "slow"}));
  // It dies at 3 s (KILL_IN_SECONDS): liveness takes it out, startup keeps it out.
  EXPECT_TRUE(slow.process->waitExit(5s).has_value());
  ASSERT_TRUE(waitUntil([&] { return harness.backendState(slow.address()) != "ready"; }, 3s));
  EXPECT_EQ(harness.backendField(slow.address(), "restarts"), "1");
  EXPECT_EQ(distinct(podsReached(port, 6)), (std::set<std::string>{"old"}));
}

// Issue 10, finding 3 (in part): an exec probe inherits no socket. Before, accepted
// client sockets and upstream sockets were not close-on-exec, so every probe started
// while a connection was open held it too (and a probe's background child kept it open).
TEST(Probes, AnExecProbeInheritsNoSocket) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, R"(    readinessProbe:
      exec: {command: ["sh", "-c", "! ls -l /proc/$$/fd | grep -q socket"]}
      periodSeconds: 0.1
      failureThreshold: 1
)"));
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s));
  auto held = TcpClient::connect("127.0.0.1", port);  // an accepted and an upstream socket
  ASSERT_TRUE(held);
  ASSERT_EQ(held->receiveLine(), "pod");
  // Ten probe periods with both sockets open: every probe must find none of them.
  auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(harness.backendState(pod.address()), "ready")
        << harness.backendField(pod.address(), "reason");
  }
}

namespace {

/// Successful readiness probes of `backend` so far (0 when none yet).
double readinessSuccesses(const ProxyHarness& harness, const std::string& backend) {
  return harness
      .metric("readygate_probe_total{service=\"web\",backend=\"" + backend +
              "\",probe=\"readiness\",result=\"success\",reason=\"ok\"}")
      .value_or(0);
}

}  // namespace

// `cmd &` in a probe ends with the probe, as with the kubelet, even when it ignores
// SIGTERM; before, every period left one more behind (41 after 18 s).
TEST(Probes, AnExecProbesBackgroundChildEndsWithIt) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int port = freePort();
  // An argument no other process uses, to find exactly these sleeps in /proc.
  std::string seconds = std::to_string(100 + getpid() % 1000) + ".25";
  harness.startReadygate(serviceConfig(port, {pod.address()},
                                       fill(R"(    readinessProbe:
      exec: {command: ["sh", "-c", "(trap '' TERM; exec sleep ${seconds}) & echo ok"]}
      periodSeconds: 0.1
)",
                                            {{"seconds", seconds}})));
  ASSERT_TRUE(waitUntil([&] { return readinessSuccesses(harness, pod.address()) >= 10; }, 10s));
  // At most the current probe's own sleep may be alive.
  EXPECT_LE(processesRunning({"sleep", seconds}).size(), 1u);
  EXPECT_EQ(harness.backendState(pod.address()), "ready");
}

// As PID 1 (a container without an init) readygate reaps what its probes leave behind:
// a `setsid` grandchild escapes the group kill, outlives its parent and comes to us.
TEST(Probes, AsPidOneOrphansOfExecProbesAreReaped) {
  if (geteuid() != 0) GTEST_SKIP() << "a PID namespace needs root";
  ProxyHarness harness;
  harness.setLauncher({"/usr/bin/unshare", "--pid", "--fork", "--kill-child"});
  FakePod& pod = harness.startPod("pod");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, R"(    readinessProbe:
      exec: {command: ["sh", "-c", "setsid sleep 0.05 & echo ok"]}
      periodSeconds: 0.1
)"));
  ASSERT_TRUE(waitUntil([&] { return readinessSuccesses(harness, pod.address()) >= 10; }, 10s));
  auto launched = childrenOf(harness.readygate().pid());
  ASSERT_EQ(launched.size(), 1u) << "unshare's one child is readygate";
  // Each sleep lives 50 ms; a zombie older than that was never reaped.
  auto zombies = [&] {
    size_t count = 0;
    for (auto [child, state] : childrenOf(launched[0].first)) count += state == 'Z';
    return count;
  };
  EXPECT_TRUE(waitUntil([&] { return zombies() <= 1; }, 2s)) << zombies() << " zombies";
  EXPECT_GE(harness.metric("readygate_exec_orphans_reaped_total").value_or(0), 5);
}

// Megabytes of output are cut at the cap, the probe's verdict is its exit status.
TEST(Probes, AnExecProbesHugeOutputIsCutAndItStillPasses) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, R"(    readinessProbe:
      exec: {command: ["sh", "-c", "echo first line; head -c 20000000 /dev/zero"]}
      periodSeconds: 0.2
)"));
  ASSERT_TRUE(waitUntil([&] { return readinessSuccesses(harness, pod.address()) >= 3; }, 10s));
  EXPECT_EQ(harness.backendState(pod.address()), "ready");
  EXPECT_EQ(harness.backendField(pod.address(), "message"), "first line");
}

TEST(Probes, WhenNoneReadyAllFailsOpenExplicitly) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod", {"--echo", "--greeting", "--start-unready"});
  FakePod& health = harness.startPod("pod-http", {"--start-unready"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()},
                                       fill(R"(    whenNoneReady: all
    readinessProbe:
      httpGet: {path: /ready, port: ${probePort}}
      periodSeconds: 0.1
)",
                                            {{"probePort", std::to_string(health.port)}})));
  ASSERT_TRUE(
      waitUntil([&] { return harness.backendField(pod.address(), "reason") == "http_503"; }, 5s));
  EXPECT_EQ(podsReached(port, 2), (std::vector<std::string>{"pod", "pod"}));
  // What /status and /metrics say matches where the traffic goes.
  EXPECT_EQ(harness.backendField(pod.address(), "in_rotation"), "true");
  EXPECT_EQ(harness.backendField(pod.address(), "failing_open"), "true");
  EXPECT_EQ(harness.metric("readygate_backend_in_rotation{service=\"web\",backend=\"" +
                           pod.address() + "\"}"),
            1);
}

// Fail-open goes to every backend an operator has not taken out, and to none that
// one has: three unready pods, one disabled, one drained, traffic only to the third.
TEST(Probes, FailOpenSkipsDisabledAndDrainedBackends) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"}, true, "127.0.0.2");
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"}, true, "127.0.0.3");
  FakePod& c = harness.startPod("pod-c", {"--echo", "--greeting"}, true, "127.0.0.4");
  int port = freePort();
  harness.startReadygate(fill(R"(
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    whenNoneReady: all
    endpoints: {static: ["${a}", "${b}", "${c}"]}
    readinessProbe:
      tcpSocket: {port: ${closed}}
      periodSeconds: 0.1
)",
                              {{"port", std::to_string(port)},
                               {"a", a.address()},
                               {"b", b.address()},
                               {"c", c.address()},
                               {"closed", std::to_string(freePort())}}));
  ASSERT_TRUE(waitUntil(
      [&] { return harness.backendField(c.address(), "reason") == "connect_refused"; }, 5s));
  EXPECT_THAT(harness.adminPost("/backends/web/" + a.address() + "/disable"), HasSubstr("200"));
  EXPECT_THAT(harness.adminPost("/backends/web/" + b.address() + "/drain"), HasSubstr("200"));
  std::vector<std::string> reached = podsReached(port, 12);
  EXPECT_EQ(distinct(reached), (std::set<std::string>{"pod-c"}));
  EXPECT_EQ(harness.backendField(a.address(), "in_rotation"), "false");
  EXPECT_EQ(harness.backendField(b.address(), "in_rotation"), "false");
  EXPECT_EQ(harness.backendField(c.address(), "failing_open"), "true");
}

}  // namespace
