// The admin API and metrics against a running readygate: state flips visible in
// /metrics and /status, drain/disable/enable, removed backends' series, /readyz, errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

/// The admin block the harness wrote, for a config that replaces the first one.
std::string adminBlock(const ProxyHarness& harness) {
  return fill("admin: {listen: \"127.0.0.1:${port}\"}\n",
              {{"port", std::to_string(harness.adminPort())}});
}

std::string series(const std::string& name, const std::string& backend,
                   const std::string& more = "") {
  return name + "{service=\"web\",backend=\"" + backend + "\"" + more + "}";
}

TEST(Admin, UnreadyPodFlipsReadyMetricAndCountsTheTransition) {
  ProxyHarness harness;
  FakePod& health = harness.startPod("pod");
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {health.address()},
                                       R"(    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.1
      failureThreshold: 2
)"));
  std::string pod = health.address();
  ASSERT_TRUE(harness.waitForState(pod, "ready"));
  EXPECT_EQ(harness.metric(series("readygate_backend_ready", pod)), 1);
  EXPECT_EQ(harness.metric(series("readygate_backend_transitions_total", pod,
                                  ",from=\"starting\",to=\"ready\"")),
            1);
  EXPECT_EQ(harness.metric("readygate_service_ready_backends{service=\"web\"}"), 1);

  ASSERT_NE(httpGet("127.0.0.1", health.port, "/control/ready/off"), "");
  ASSERT_TRUE(harness.waitForState(pod, "not_ready"));
  EXPECT_EQ(harness.backendField(pod, "reason"), "http_503");
  EXPECT_EQ(harness.metric(series("readygate_backend_ready", pod)), 0);
  EXPECT_EQ(harness.metric(series("readygate_backend_state", pod, ",state=\"not_ready\"")), 1);
  EXPECT_EQ(harness.metric(series("readygate_backend_state", pod, ",state=\"ready\"")), 0);
  EXPECT_EQ(harness.metric(series("readygate_backend_transitions_total", pod,
                                  ",from=\"ready\",to=\"not_ready\"")),
            1);
  EXPECT_GE(harness.metric(series("readygate_probe_total", pod,
                                  ",probe=\"readiness\",result=\"failure\",reason=\"http_503\"")),
            2);
  EXPECT_GE(
      harness.metric(series("readygate_backend_consecutive_failures", pod, ",probe=\"readiness\"")),
      2);
  EXPECT_EQ(harness.metric("readygate_service_ready_backends{service=\"web\"}"), 0);
  EXPECT_GT(harness.metric(series("readygate_backend_last_transition_timestamp_seconds", pod))
                .value_or(0),
            1.7e9);

  // Nothing ready: the connection is closed and counted.
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->waitForEof(2s));
  EXPECT_TRUE(waitUntil(
      [&] {
        return harness.metric("readygate_no_ready_backend_total{service=\"web\"}").value_or(0) >= 1;
      },
      2s));
}

TEST(Admin, DrainedBackendGetsNoNewConnectionsWhileItsOpenOnesFinish) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"});
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {a.address(), b.address()}));

  // One open connection on each pod.
  std::vector<TcpClient> open;
  std::set<std::string> names;
  for (int i = 0; i < 2; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    names.insert(client->receiveLine().value_or(""));
    open.push_back(std::move(*client));
  }
  ASSERT_EQ(names, (std::set<std::string>{"pod-a", "pod-b"}));

  std::string reply = harness.adminPost("/backends/web/" + b.address() + "/drain");
  EXPECT_THAT(reply, HasSubstr("200 OK"));
  EXPECT_THAT(reply, HasSubstr("\"admin_state\":\"draining\""));
  EXPECT_EQ(harness.backendState(b.address()), "draining");
  EXPECT_EQ(harness.metric(series("readygate_backend_state", b.address(), ",state=\"draining\"")),
            1);
  EXPECT_EQ(harness.metric(series("readygate_backend_in_rotation", b.address())), 0);

  for (int i = 0; i < 10; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->receiveLine(), "pod-a");
  }
  // The connections that were open on pod-b still work.
  for (TcpClient& client : open) {
    ASSERT_TRUE(client.sendAll("still there\n"));
    EXPECT_EQ(client.receiveLine(), "still there");
  }
  EXPECT_EQ(harness.metric(series("readygate_backend_connections_active", b.address())), 1);

  // Disable, then enable: back in rotation.
  EXPECT_THAT(harness.adminPost("/backends/web/" + b.address() + "/disable"), HasSubstr("200 OK"));
  EXPECT_EQ(harness.backendState(b.address()), "disabled");
  EXPECT_THAT(harness.adminPost("/backends/web/" + b.address() + "/enable"), HasSubstr("200 OK"));
  EXPECT_EQ(harness.backendState(b.address()), "ready");
  EXPECT_EQ(distinct(podsReached(port, 4)), (std::set<std::string>{"pod-a", "pod-b"}));
  EXPECT_EQ(harness.metric(series("readygate_backend_transitions_total", b.address(),
                                  ",from=\"disabled\",to=\"ready\"")),
            1);
}

TEST(Admin, RemovedBackendsSeriesDisappearOnReload) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"});
  FakePod& c = harness.startPod("pod-c", {"--echo", "--greeting"});
  int port = freePort();
  ChildProcess& readygate = harness.startReadygate(serviceConfig(port, {a.address(), b.address()}));
  ASSERT_TRUE(harness.metric(series("readygate_backend_ready", b.address())));
  auto held = TcpClient::connect("127.0.0.1", port);  // lands on pod-a or pod-b
  ASSERT_TRUE(held);
  std::string heldOn = held->receiveLine().value_or("");

  // Reload with pod-b gone and pod-c new (admin block kept as the harness wrote it).
  std::string yaml = adminBlock(harness) + serviceConfig(port, {a.address(), c.address()});
  harness.writeFile("readygate.yaml", yaml);
  readygate.signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_config_reloads_total{result=\"success\"}") == 1; },
      5s));
  EXPECT_FALSE(harness.metric(series("readygate_backend_ready", b.address())));
  EXPECT_EQ(harness.admin("/metrics").find(b.address()), std::string::npos)
      << "a series of the removed backend is still exported";
  EXPECT_EQ(harness.backendState(b.address()), "");
  EXPECT_EQ(harness.metric(series("readygate_backend_ready", c.address())), 1);
  EXPECT_EQ(harness.metric("readygate_service_backends{service=\"web\"}"), 2);

  // The connection held across the reload still works, whichever pod it was on.
  ASSERT_TRUE(held->sendAll("across reload\n"));
  EXPECT_EQ(held->receiveLine(), "across reload") << "held on " << heldOn;
  EXPECT_EQ(distinct(podsReached(port, 6)), (std::set<std::string>{"pod-a", "pod-c"}));
}

TEST(Admin, ConnectionsToARemovedBackendCloseAtTheDrainTimeout) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& b = harness.startPod("pod-b", {"--echo", "--greeting"});
  int port = freePort();
  const std::string drain = "    drainTimeoutSeconds: 0.5\n";
  ChildProcess& readygate =
      harness.startReadygate(serviceConfig(port, {a.address(), b.address()}, drain));
  std::map<std::string, TcpClient> held;
  for (int i = 0; i < 2; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(client);
    std::string name = client->receiveLine().value_or("");
    held.emplace(name, std::move(*client));
  }
  ASSERT_EQ(held.size(), 2u);

  harness.writeFile("readygate.yaml",
                    adminBlock(harness) + serviceConfig(port, {a.address()}, drain));
  readygate.signal(SIGHUP);
  auto reloadedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil(
      [&] { return harness.metric("readygate_config_reloads_total{result=\"success\"}") == 1; },
      5s));
  // Still usable inside the drain window...
  ASSERT_TRUE(held.at("pod-b").sendAll("draining\n"));
  EXPECT_EQ(held.at("pod-b").receiveLine(), "draining");
  // ...closed when it ends, while the connection to the kept backend goes on.
  EXPECT_TRUE(held.at("pod-b").waitForEof(5s));
  double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - reloadedAt).count();
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 2.0);
  ASSERT_TRUE(held.at("pod-a").sendAll("kept\n"));
  EXPECT_EQ(held.at("pod-a").receiveLine(), "kept");
}

TEST(Admin, ErrorsAreJsonWithTheRightCodes) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo"});
  harness.startReadygate(serviceConfig(freePort(), {a.address()}));
  int admin = harness.adminPort();
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/nope"), HasSubstr("404 Not Found"));
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/nope"), HasSubstr("{\"error\":\"no such endpoint"));
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/backends/web/" + a.address() + "/drain"),
              HasSubstr("405 Method Not Allowed"));
  EXPECT_THAT(harness.adminPost("/metrics"), HasSubstr("405"));
  EXPECT_THAT(harness.adminPost("/backends/web/not-an-address/drain"),
              HasSubstr("400 Bad Request"));
  EXPECT_THAT(harness.adminPost("/backends/web/not-an-address/drain"),
              HasSubstr("\"error\":\"bad backend address"));
  EXPECT_THAT(harness.adminPost("/backends/nosuch/" + a.address() + "/drain"),
              HasSubstr("404 Not Found"));
  EXPECT_THAT(harness.adminPost("/backends/web/127.0.0.1:1/drain"), HasSubstr("404 Not Found"));
  EXPECT_THAT(harness.adminPost("/backends/web/" + a.address() + "/explode"),
              HasSubstr("404 Not Found"));
  EXPECT_EQ(harness.backendState(a.address()), "ready");
}

TEST(Admin, ReadyzFollowsBackendsWhenAskedAndFailsAtShutdown) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  FakePod& health = harness.startPod("pod-a-http", {"--start-unready"});
  int port = freePort();
  int adminPort = freePort();
  ChildProcess& readygate = harness.startReadygate(
      fill(R"(admin: {listen: "127.0.0.1:${admin}", readyRequiresBackends: true}
workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${a}"]}
    drainTimeoutSeconds: 10
    readinessProbe:
      httpGet: {path: /ready, port: ${probePort}}
      periodSeconds: 0.1
)",
           {{"admin", std::to_string(adminPort)},
            {"port", std::to_string(port)},
            {"a", a.address()},
            {"probePort", std::to_string(health.port)}}));
  EXPECT_THAT(httpGet("127.0.0.1", adminPort, "/readyz"), HasSubstr("503"));
  EXPECT_THAT(httpGet("127.0.0.1", adminPort, "/readyz"), HasSubstr("has no ready backend"));
  EXPECT_THAT(httpGet("127.0.0.1", adminPort, "/healthz"), HasSubstr("200 OK"));
  httpGet("127.0.0.1", health.port, "/control/ready/on");
  ASSERT_TRUE(harness.waitForState(a.address(), "ready"));
  EXPECT_THAT(httpGet("127.0.0.1", adminPort, "/readyz"), HasSubstr("200 OK"));

  // Shutdown with an open connection: /readyz fails at once, the drain goes on.
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->receiveLine(), "pod-a");
  readygate.signal(SIGTERM);
  EXPECT_TRUE(waitUntil(
      [&] { return httpGet("127.0.0.1", adminPort, "/readyz").find("503") != std::string::npos; },
      3s));
  EXPECT_THAT(httpGet("127.0.0.1", adminPort, "/readyz"), HasSubstr("shutting down"));
  EXPECT_EQ(harness.metric("readygate_shutting_down"), 1);
  client->close();
  EXPECT_EQ(readygate.waitExit(5s), 0);
}

TEST(Admin, StatusCommandPrintsATable) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  harness.startReadygate(serviceConfig(freePort(), {a.address()},
                                       R"(    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.1
)"));
  ASSERT_TRUE(harness.waitForState(a.address(), "ready"));
  ChildProcess status(
      {readygateBinary(), "status", "--admin", "127.0.0.1:" + std::to_string(harness.adminPort())},
      harness.dir() + "/status.log");
  ASSERT_EQ(status.waitExit(5s), 0) << status.output();
  std::string table = status.output();
  EXPECT_THAT(table, ::testing::StartsWith("SERVICE"));
  EXPECT_THAT(table, HasSubstr("LAST-PROBE"));
  EXPECT_THAT(table,
              ::testing::ContainsRegex("web +" + a.address() + " +ready +in +ok +readiness ok"));

  ChildProcess nobody({readygateBinary(), "status", "--admin", "127.0.0.1:1"},
                      harness.dir() + "/nobody.log");
  EXPECT_EQ(nobody.waitExit(5s), 1);
  EXPECT_THAT(nobody.output(), HasSubstr("cannot connect to 127.0.0.1:1"));
}

}  // namespace

namespace {

/// A raw POST to the admin API with the given extra header lines; the status line.
std::string rawAdminPost(int adminPort, const std::string& path, const std::string& headers) {
  auto client = TcpClient::connect("127.0.0.1", adminPort);
  if (!client) return "";
  client->sendAll("POST " + path + " HTTP/1.0\r\nContent-Length: 0\r\n" + headers + "\r\n");
  std::string reply = client->receive(1 << 16, 3s);
  return reply.substr(0, reply.find("\r\n"));
}

// Before: an unauthenticated POST with a foreign Host and Origin was obeyed (CSRF, DNS
// rebinding). Mutating requests must name this admin API and come from it.
TEST(AdminSecurity, AForeignHostOrOriginMayNotAct) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  harness.startReadygate(serviceConfig(freePort(), {a.address()}));
  std::string path = "/backends/web/" + a.address() + "/disable";
  std::string own = "Host: 127.0.0.1:" + std::to_string(harness.adminPort()) + "\r\n";
  EXPECT_THAT(rawAdminPost(harness.adminPort(), path, "Host: evil.example\r\n"), HasSubstr("403"));
  EXPECT_THAT(rawAdminPost(harness.adminPort(), path, own + "Origin: http://evil.example\r\n"),
              HasSubstr("403"));
  EXPECT_EQ(harness.backendState(a.address()), "ready");
  EXPECT_THAT(rawAdminPost(harness.adminPort(), path, own), HasSubstr("200"));
  EXPECT_EQ(harness.backendState(a.address()), "disabled");
}

TEST(AdminSecurity, ATokenGuardsEveryActionAndReadsOnlyWhenAsked) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  std::string tokenFile = harness.writeFile("token", "s3cret-token\n");
  int admin = freePort();
  harness.startReadygate(fill("admin: {listen: \"127.0.0.1:${admin}\", tokenFile: ${file}}\n",
                              {{"admin", std::to_string(admin)}, {"file", tokenFile}}) +
                         serviceConfig(freePort(), {a.address()}));
  std::string path = "/backends/web/" + a.address() + "/drain";
  std::string own = "Host: 127.0.0.1:" + std::to_string(admin) + "\r\n";
  EXPECT_THAT(rawAdminPost(admin, path, own), HasSubstr("401"));
  EXPECT_THAT(rawAdminPost(admin, path, own + "Authorization: Bearer wrong\r\n"), HasSubstr("401"));
  // The whole token and nothing else (issue 17: a compare that stopped at the real
  // token's length passed the whole suite).
  for (const char* near : {"s3cret-tokenX", "s3cret-token-and-more", "s3cret-toke", "S3cret-token",
                           "", "s3cret-token\ts3cret-token"}) {
    EXPECT_THAT(rawAdminPost(admin, path, own + "Authorization: Bearer " + near + "\r\n"),
                HasSubstr("401"))
        << near;
  }
  EXPECT_THAT(rawAdminPost(admin, path, own + "Authorization: s3cret-token\r\n"), HasSubstr("401"));
  EXPECT_THAT(rawAdminPost(admin, "/reload", own), HasSubstr("401"));
  EXPECT_EQ(harness.backendState(a.address()), "ready");  // reads need no token
  EXPECT_THAT(rawAdminPost(admin, path, own + "Authorization: Bearer s3cret-token\r\n"),
              HasSubstr("200"));
  EXPECT_EQ(harness.backendState(a.address()), "draining");
}

/// Exit status of `readygate health ARGS...` (-1 if it hangs); its output in NAME.out.
int healthExit(ProxyHarness& harness, std::vector<std::string> args, const std::string& name) {
  args.insert(args.begin(), {readygateBinary(), "health"});
  ChildProcess health(args, harness.dir() + "/" + name + ".out");
  return health.waitExit(10s).value_or(-1);
}

TEST(AdminSecurity, TokenForReadsAndTheCliTakesATokenFile) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--echo", "--greeting"});
  std::string tokenFile = harness.writeFile("token", "read-token");
  int admin = freePort();
  harness.startReadygate(
      fill("admin: {listen: \"127.0.0.1:${admin}\", tokenFile: ${file}, tokenForReads: true}\n",
           {{"admin", std::to_string(admin)}, {"file", tokenFile}}) +
      serviceConfig(freePort(), {a.address()}));
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/status"), HasSubstr("401"));
  std::string address = "127.0.0.1:" + std::to_string(admin);
  ChildProcess without({readygateBinary(), "status", "--admin", address},
                       harness.dir() + "/no.out");
  EXPECT_EQ(without.waitExit(10s), 1);
  ChildProcess with({readygateBinary(), "status", "--admin", address, "--token-file", tokenFile},
                    harness.dir() + "/yes.out");
  EXPECT_EQ(with.waitExit(10s), 0);
  EXPECT_THAT(with.output(), HasSubstr(a.address()));
  // Liveness and readiness stay open: the kubelet and a HEALTHCHECK carry no token.
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/healthz"), HasSubstr("200 OK"));
  EXPECT_THAT(httpGet("127.0.0.1", admin, "/metrics"), HasSubstr("401"));
  EXPECT_EQ(healthExit(harness, {"--admin", address}, "health"), 0);
}

// The console (issue 24): its page needs no token even when reads do, every answer carries
// the CSP, the parts of /status it asks for follow the read rules, bad queries get 400.
TEST(AdminConsole, ThePageNeedsNoTokenAndEveryAnswerCarriesTheContentSecurityPolicy) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  std::string tokenFile = harness.writeFile("token", "read-token");
  int admin = freePort();
  harness.startReadygate(
      fill("admin: {listen: \"127.0.0.1:${admin}\", tokenFile: ${file}, tokenForReads: true}\n",
           {{"admin", std::to_string(admin)}, {"file", tokenFile}}) +
      serviceConfig(freePort(), {a.address()}));
  const std::string csp = "default-src 'self'; frame-ancestors 'none'";
  auto client = HttpTestClient::connect(admin);
  ASSERT_TRUE(client);
  auto page = client->get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->header("Content-Security-Policy"), csp);
  EXPECT_THAT(page->body, HasSubstr("<script src=\"/console/console.js\""));
  for (const char* file : {"/console/console.js", "/console/console.css", "/console/favicon.svg"}) {
    auto asset = client->get(file);
    ASSERT_TRUE(asset) << file;
    EXPECT_EQ(asset->status, 200) << file;
    EXPECT_EQ(asset->header("X-Content-Type-Options"), "nosniff") << file;
  }
  auto missing = client->get("/console/nothing.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("Content-Security-Policy"), csp);
  auto data = client->get("/status?summary=1");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->status, 401);  // what the page fetches follows the rules
  EXPECT_EQ(data->header("Content-Security-Policy"), csp);
  const std::string bearer = "Authorization: Bearer read-token\r\n";
  auto events = client->get("/events?since=0");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 401);
  events = client->get("/events?since=0", bearer);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 200);
  EXPECT_THAT(events->body, HasSubstr("\"to\":\"ready\"")) << events->body;
  EXPECT_THAT(events->body, HasSubstr("\"truncated\":false"));
  for (const char* bad : {"/status?summary=2", "/status?limit=5000", "/status?nope=1",
                          "/events?since=-1", "/events?from=3"}) {
    auto refused = client->get(bad, bearer);
    ASSERT_TRUE(refused) << bad;
    EXPECT_EQ(refused->status, 400) << bad << ": " << refused->body;
  }
  auto unknown = client->get("/status?service=nope", bearer);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto view = client->get("/status?summary=1&service=web&offset=0&limit=10&events_since=1", bearer);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->status, 200);
  EXPECT_THAT(view->body, HasSubstr("\"states\":{\"starting\":"));
  EXPECT_THAT(view->body, HasSubstr("\"address\":\"" + a.address() + "\""));
  EXPECT_THAT(view->body, HasSubstr("\"probe_latencies_ms\":["));
}

// `readygate status --watch`: the table, the kept history, then each change as it happens.
TEST(Cli, StatusWatchPrintsTheHistoryThenEachNewChange) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  harness.startReadygate(serviceConfig(freePort(), {a.address()},
                                       R"(    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.1
      failureThreshold: 1
)"));
  ASSERT_TRUE(harness.waitForState(a.address(), "ready"));
  ChildProcess watch({readygateBinary(), "status", "--watch", "--admin",
                      "127.0.0.1:" + std::to_string(harness.adminPort())},
                     harness.dir() + "/watch.log");
  std::string readyLine = "web  " + a.address() + "  starting -> ready  readiness ok";
  EXPECT_TRUE(waitUntil([&] { return watch.output().find(readyLine) != std::string::npos; }, 5s))
      << watch.output();
  EXPECT_THAT(watch.output(), ::testing::StartsWith("SERVICE"));
  ASSERT_NE(httpGet("127.0.0.1", a.port, "/control/ready/off"), "");
  std::string notReadyLine = "web  " + a.address() + "  ready -> not_ready  readiness http_503";
  EXPECT_TRUE(waitUntil([&] { return watch.output().find(notReadyLine) != std::string::npos; }, 5s))
      << watch.output();
  // Each change once, however many times it asked meanwhile.
  std::string out = watch.output();
  EXPECT_EQ(out.find(readyLine), out.rfind(readyLine));
  EXPECT_TRUE(watch.running());
  watch.signal(SIGINT);
  EXPECT_TRUE(watch.waitExit(5s));
}

// `readygate health` is the image's HEALTHCHECK: 0 while /healthz answers, 1 when nothing
// does, 2 for a usage error.
TEST(Cli, HealthExitsZeroOnlyWhileTheAdminApiAnswers) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int admin = freePort();
  ChildProcess& readygate = harness.startReadygate(
      fill("admin: {listen: \"127.0.0.1:${admin}\"}\n", {{"admin", std::to_string(admin)}}) +
      serviceConfig(freePort(), {pod.address()}));
  std::string address = "127.0.0.1:" + std::to_string(admin);
  EXPECT_EQ(healthExit(harness, {"--admin", address}, "up"), 0);
  // Without --admin the address comes from READYGATE_ADMIN (the image's HEALTHCHECK).
  setenv("READYGATE_ADMIN", address.c_str(), 1);
  EXPECT_EQ(healthExit(harness, {}, "environment"), 0);
  setenv("READYGATE_ADMIN", "127.0.0.1:1", 1);
  EXPECT_EQ(healthExit(harness, {}, "elsewhere"), 1);
  unsetenv("READYGATE_ADMIN");
  readygate.signal(SIGKILL);
  ASSERT_TRUE(readygate.waitExit(5s).has_value());
  ChildProcess down({readygateBinary(), "health", "--admin", address}, harness.dir() + "/down.out");
  EXPECT_EQ(down.waitExit(10s), 1);
  EXPECT_THAT(down.output(), HasSubstr("readygate health:"));
  EXPECT_EQ(healthExit(harness, {"--token-file", "x"}, "usage"), 2);
}

// The admin API is a control plane: a flood of connections waits in the kernel's queue
// beyond admin.maxConnections instead of each costing readygate a descriptor, and a client
// that never finishes its request is told 408 and closed at admin.requestTimeoutSeconds.
TEST(AdminSecurity, ConnectionAndRequestTimeLimitsHold) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod");
  int adminPort = freePort();
  harness.startReadygate(
      fill(R"(admin: {listen: "127.0.0.1:${admin}", maxConnections: 2, requestTimeoutSeconds: 0.5}
services:
  - {name: web, listen: "127.0.0.1:${port}", endpoints: {static: ["${pod}"]}}
)",
           {{"admin", std::to_string(adminPort)},
            {"port", std::to_string(freePort())},
            {"pod", pod.address()}}));
  auto get = [](TcpClient& client) {
    return client.sendAll("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  };
  auto first = TcpClient::connect("127.0.0.1", adminPort);
  auto second = TcpClient::connect("127.0.0.1", adminPort);
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(get(*first));
  ASSERT_THAT(first->receive(15, 2s), HasSubstr("200 OK"));
  ASSERT_TRUE(get(*second));
  ASSERT_THAT(second->receive(15, 2s), HasSubstr("200 OK"));
  // Two are open (kept alive): a third gets a reserved slot, which answers /healthz and
  // /readyz only (issue 17: a liveness probe must not wait behind slow clients)...
  auto third = TcpClient::connect("127.0.0.1", adminPort);
  ASSERT_TRUE(third);
  ASSERT_TRUE(get(*third));
  EXPECT_THAT(third->receive(15, 2s), HasSubstr("200 OK"));
  auto fourth = TcpClient::connect("127.0.0.1", adminPort);
  ASSERT_TRUE(fourth);
  ASSERT_TRUE(fourth->sendAll("GET /status HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(fourth->receive(12, 2s), HasSubstr("503"));
  EXPECT_TRUE(fourth->waitForEof(2s));
  // ...and past the reserve (4 more), clients wait in the kernel's queue...
  std::vector<TcpClient> reserve;
  for (int i = 0; i < 3; ++i) {
    auto held = TcpClient::connect("127.0.0.1", adminPort);
    ASSERT_TRUE(held && get(*held));
    EXPECT_THAT(held->receive(15, 2s), HasSubstr("200 OK"));
    reserve.push_back(std::move(*held));
  }
  auto queued = TcpClient::connect("127.0.0.1", adminPort);
  ASSERT_TRUE(queued);
  ASSERT_TRUE(get(*queued));
  EXPECT_EQ(queued->receive(15, 300ms), "");
  // ...until a place frees up.
  first->close();
  EXPECT_THAT(queued->receive(15, 2s), HasSubstr("200 OK"));

  // A request that never ends: 408, then the close.
  second->close();
  auto slow = TcpClient::connect("127.0.0.1", adminPort);
  ASSERT_TRUE(slow);
  ASSERT_TRUE(slow->sendAll("GET /status HTTP/1.1\r\nHost: x\r\n"));
  auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(slow->receive(12, 3s), HasSubstr("408"));
  EXPECT_TRUE(slow->waitForEof(1s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
