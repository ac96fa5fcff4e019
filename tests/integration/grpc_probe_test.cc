// gRPC health probes (grpc.health.v1 over h2c) against fakepod's gRPC face and a real
// grpcio server: verdicts, reasons, and traffic gated by them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/proxy_harness.h"

namespace {

using namespace std::chrono_literals;
using namespace testing_support;

std::string grpcProbe(int port, const std::string& service = "", const std::string& more = "") {
  return fill(R"(    readinessProbe:
      grpc: {port: ${port}${service}${more}}
      periodSeconds: 0.1
      timeoutSeconds: 0.5
      failureThreshold: 1
)",
              {{"port", std::to_string(port)},
               {"service", service.empty() ? "" : ", service: " + service},
               {"more", more}});
}

/// The reason of the first backend of service `name` in /status.
std::string reasonOf(const ProxyHarness& harness, const std::string& name) {
  std::string status = harness.admin("/status");
  size_t at = status.find("\"name\":\"" + name + "\"");
  return at == std::string::npos ? "" : jsonField(status.substr(at), "reason");
}

// SERVING lets the pod in, NOT_SERVING takes it out with its reason, and traffic follows.
TEST(GrpcProbe, ServingGatesTrafficAndNotServingTakesThePodOut) {
  ProxyHarness harness;
  int grpcPort = freePort();
  FakePod& pod = harness.startPod("pod", {"--grpc-port", std::to_string(grpcPort)});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, grpcProbe(grpcPort)));
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s));
  EXPECT_EQ(harness.backendField(pod.address(), "message"), "SERVING");
  EXPECT_THAT(httpGet("127.0.0.1", port, "/"), ::testing::HasSubstr("hello from pod"));

  ASSERT_NE(httpGet("127.0.0.1", pod.port, "/control/grpc/not_serving"), "");
  ASSERT_TRUE(harness.waitForState(pod.address(), "not_ready", 5s));
  EXPECT_EQ(harness.backendField(pod.address(), "reason"), "grpc_not_serving");
  EXPECT_EQ(httpGet("127.0.0.1", port, "/"), "") << "no ready backend: the client is closed";

  ASSERT_NE(httpGet("127.0.0.1", pod.port, "/control/grpc/serving"), "");
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s));
  EXPECT_THAT(httpGet("127.0.0.1", port, "/"), ::testing::HasSubstr("hello from pod"));
}

// Each way a gRPC probe fails has its reason: an unknown service (grpc-status 5), a port
// that speaks HTTP/1, a server that accepts and never answers, nothing listening.
TEST(GrpcProbe, EachFailureHasItsReason) {
  ProxyHarness harness;
  int grpcPort = freePort();
  FakePod& pod = harness.startPod("pod", {"--grpc-port", std::to_string(grpcPort)});
  IdleListener stalls(64);
  int refused = freePort();
  std::string yaml = "services:\n";
  auto service = [&](const std::string& name, const std::string& probe) {
    yaml += fill(
                "  - name: ${name}\n    listen: 127.0.0.1:${port}\n    endpoints: {static: "
                "[\"${pod}\"]}\n",
                {{"name", name}, {"port", std::to_string(freePort())}, {"pod", pod.address()}}) +
            probe;
  };
  service("unknown", grpcProbe(grpcPort, "nope"));
  service("known", grpcProbe(grpcPort, "pod"));
  service("http1", grpcProbe(pod.port));
  service("stalls", grpcProbe(stalls.port()));
  service("refused", grpcProbe(refused));
  harness.startReadygate(yaml);
  auto reasonOf = [&](const std::string& name) { return ::reasonOf(harness, name); };
  EXPECT_TRUE(waitUntil([&] { return reasonOf("unknown") == "grpc_unknown_service"; }, 5s))
      << reasonOf("unknown");
  EXPECT_TRUE(waitUntil([&] { return reasonOf("known") == "ok"; }, 5s)) << reasonOf("known");
  EXPECT_TRUE(waitUntil([&] { return reasonOf("http1") == "h2_protocol"; }, 5s))
      << reasonOf("http1");
  EXPECT_TRUE(waitUntil([&] { return reasonOf("stalls") == "timeout"; }, 5s)) << reasonOf("stalls");
  EXPECT_TRUE(waitUntil([&] { return reasonOf("refused") == "connect_refused"; }, 5s))
      << reasonOf("refused");
  EXPECT_TRUE(harness.readygate().running());
}

// The `tls` extension: HTTP/2 over TLS, h2 chosen by ALPN (the certificate unverified
// unless asked, as for HTTPS probes). A TLS probe at a cleartext port fails its handshake;
// a cleartext probe at the TLS port gets no HTTP/2.
TEST(GrpcProbe, OverTlsWithAlpnAndEachMismatchHasItsReason) {
  ProxyHarness harness;
  auto [cert, key] = harness.selfSignedCertificate("pod.test");
  ASSERT_FALSE(cert.empty());
  int tlsPort = freePort();
  int plainPort = freePort("127.0.0.2");
  FakePod& secure = harness.startPod(
      "secure", {"--tls-cert", cert, "--tls-key", key, "--grpc-port", std::to_string(tlsPort)});
  FakePod& plain =
      harness.startPod("plain", {"--grpc-port", std::to_string(plainPort)}, true, "127.0.0.2");
  std::string yaml = "services:\n";
  auto service = [&](const std::string& name, const FakePod& pod, const std::string& probe) {
    yaml += fill(
                "  - name: ${name}\n    listen: 127.0.0.1:${port}\n    endpoints: {static: "
                "[\"${pod}\"]}\n",
                {{"name", name}, {"port", std::to_string(freePort())}, {"pod", pod.address()}}) +
            probe;
  };
  service("tls", secure, grpcProbe(tlsPort, "", ", tls: {}"));
  service("verified", secure,
          grpcProbe(tlsPort, "", ", tls: {verify: true, ca: " + cert + ", serverName: pod.test}"));
  service("tls-at-plain", plain, grpcProbe(plainPort, "", ", tls: {}"));
  service("plain-at-tls", secure, grpcProbe(tlsPort));
  harness.startReadygate(yaml);
  for (auto [name, reason] :
       std::vector<std::pair<std::string, std::string>>{{"tls", "ok"},
                                                        {"verified", "ok"},
                                                        {"tls-at-plain", "tls_handshake"},
                                                        {"plain-at-tls", "h2_protocol"}}) {
    EXPECT_TRUE(waitUntil([&] { return reasonOf(harness, name) == reason; }, 5s))
        << name << ": " << reasonOf(harness, name);
  }
}

// Interoperability with a real gRPC implementation (Debian's python3-grpcio): its server
// passes the probe while SERVING and fails it once it says NOT_SERVING.
TEST(GrpcProbe, ARealGrpcServerPassesAndFailsAsItSays) {
  ProxyHarness harness;
  int grpcPort = freePort();
  std::string statusFile = harness.writeFile("grpc-status", "SERVING\n");
  ChildProcess server(
      {"/usr/bin/python3", std::string(SOURCE_DIR) + "/tests/integration/grpc_health_server.py",
       std::to_string(grpcPort), statusFile},
      harness.dir() + "/grpc-server.log");
  ASSERT_TRUE(waitUntil([&] { return canConnect("127.0.0.1", grpcPort); }, 10s)) << server.output();
  FakePod& pod = harness.startPod("pod");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {pod.address()}, grpcProbe(grpcPort)));
  ASSERT_TRUE(harness.waitForState(pod.address(), "ready", 5s))
      << harness.backendField(pod.address(), "reason") << " " << server.output();
  harness.writeFile("grpc-status", "NOT_SERVING\n");
  ASSERT_TRUE(harness.waitForState(pod.address(), "not_ready", 5s));
  EXPECT_EQ(harness.backendField(pod.address(), "reason"), "grpc_not_serving");
}

}  // namespace
