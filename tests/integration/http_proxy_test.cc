// mode http through a real readygate to real fakepods (and small raw servers where a
// pod cannot misbehave enough): keep-alive on both sides, pipelining, bodies both
// ways, 100-continue, Upgrade, every error readygate answers, smuggling refused,
// forwarding headers, and retries when a backend dies under load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;

/// mode http service "web" on `port` over `endpoints`; `extra` is appended to it.
std::string httpConfig(int port, const std::vector<std::string>& endpoints,
                       const std::string& extra = "") {
  std::string list;
  for (const std::string& endpoint : endpoints) {
    list += (list.empty() ? "\"" : ", \"") + endpoint + "\"";
  }
  return fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: [${endpoints}]}
)",
              {{"port", std::to_string(port)}, {"endpoints", list}}) +
         extra;
}

long requestsAt(const FakePod& pod) {
  std::string body = httpBody(httpGet(pod.host, pod.port, "/requests"));
  return body.empty() ? -1 : std::stol(body);
}

TEST(HttpProxy, KeepAliveOnBothSidesAndABackendPerRequest) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  FakePod& b = harness.startPod("pod-b");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address(), b.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  std::vector<std::string> bodies;
  for (int i = 0; i < 20; ++i) {
    auto reply = client->get("/");
    ASSERT_TRUE(reply) << "request " << i;
    EXPECT_EQ(reply->status, 200);
    bodies.push_back(reply->body);
  }
  // One client connection, requests spread over both pods.
  EXPECT_EQ(std::count(bodies.begin(), bodies.end(), "hello from pod-a\n"), 10);
  EXPECT_EQ(std::count(bodies.begin(), bodies.end(), "hello from pod-b\n"), 10);
  // Upstream connections were reused: at most one new one per pod and worker.
  double fresh =
      harness.metric("readygate_upstream_requests_total{service=\"web\",connection=\"new\"}")
          .value_or(-1);
  double reused =
      harness.metric("readygate_upstream_requests_total{service=\"web\",connection=\"reused\"}")
          .value_or(-1);
  EXPECT_LE(fresh, 2);
  EXPECT_GE(reused, 18);
  EXPECT_EQ(harness.metric("readygate_http_requests_total{service=\"web\",backend=\"" +
                           a.address() + "\",code_class=\"2xx\"}"),
            10);
  EXPECT_EQ(harness.metric("readygate_upstream_first_byte_seconds_count{service=\"web\"}"), 20);
  EXPECT_EQ(harness.metric("readygate_upstream_connect_duration_seconds_count{service=\"web\"}"),
            fresh);
  EXPECT_EQ(harness.metric("readygate_http_request_duration_seconds_count{service=\"web\"}"), 20);
}

// The keep-alive wait rides on the client connection's read event (no timer of its own):
// it must still close an idle client, whether it never sent a request or went quiet
// after one, and requests must keep moving it.
TEST(HttpProxy, AnIdleClientIsClosedAfterTheKeepAliveTimeoutAndRequestsKeepItOpen) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(
      httpConfig(port, {a.address()}, "    http: {keepAliveTimeoutSeconds: 1}\n"));
  auto silent = HttpTestClient::connect(port);
  auto quiet = HttpTestClient::connect(port);
  auto busy = HttpTestClient::connect(port);
  ASSERT_TRUE(silent && quiet && busy);
  ASSERT_TRUE(quiet->get("/"));
  EXPECT_FALSE(quiet->closedWithin(std::chrono::milliseconds(300))) << "not before its time";
  // 2.1 s of a request every 0.3 s: past the 1 s timeout, the connection stays.
  for (int i = 0; i < 7; ++i) {
    auto reply = busy->get("/");
    ASSERT_TRUE(reply) << "request " << i << " on a connection in use";
    EXPECT_EQ(reply->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_TRUE(silent->closedWithin(std::chrono::seconds(5))) << "never sent a request";
  EXPECT_TRUE(quiet->closedWithin(std::chrono::seconds(5))) << "quiet after one request";
  EXPECT_TRUE(busy->closedWithin(std::chrono::seconds(5))) << "quiet once its requests stop";
}

TEST(HttpProxy, PipelinedRequestsAreAnsweredInOrder) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  FakePod& b = harness.startPod("pod-b");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address(), b.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  // The first is slow: the others must still come back after it, in order.
  ASSERT_TRUE(
      client->send("GET /status/201?delay_ms=200 HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /status/202 HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /status/203 HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int status : {201, 202, 203}) {
    auto reply = client->read();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, status);
  }
}

TEST(HttpProxy, BodiesStreamBothWaysChunkedOrNot) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  // A chunked upload arrives whole.
  ASSERT_TRUE(
      client->send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"));
  auto echoed = client->read();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->body, "hello world");
  // A Content-Length upload on the same connection.
  std::string big(100000, 'x');
  ASSERT_TRUE(client->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                           std::to_string(big.size()) + "\r\n\r\n" + big));
  auto bigEcho = client->read();
  ASSERT_TRUE(bigEcho);
  EXPECT_EQ(bigEcho->body.size(), big.size());
  // A chunked response stays chunked for an HTTP/1.1 client.
  auto chunked = client->get("/chunked");
  ASSERT_TRUE(chunked);
  EXPECT_TRUE(chunked->chunked);
  EXPECT_EQ(chunked->body, "pod-a part 0\npod-a part 1\npod-a part 2\n");
  // ... and reaches an HTTP/1.0 client whole, ended by the close.
  auto old = HttpTestClient::connect(port);
  ASSERT_TRUE(old);
  ASSERT_TRUE(old->send("GET /chunked HTTP/1.0\r\n\r\n"));
  auto plain = old->read();
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->chunked);
  EXPECT_EQ(plain->body, "pod-a part 0\npod-a part 1\npod-a part 2\n");
  // HEAD: the head only.
  ASSERT_TRUE(client->send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client->read(5s, true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto after = client->get("/status/204");
  ASSERT_TRUE(after) << "the connection is still in step after HEAD";
  EXPECT_EQ(after->status, 204);
}

TEST(HttpProxy, ExpectContinueLetsTheClientSendItsBodyAfterTheBackendSaysSo) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client->read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client->send("ping"));
  auto reply = client->read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "ping");
}

/// A backend that answers any request with 101 and then echoes bytes: an Upgrade target.
class UpgradeEchoServer {
 public:
  UpgradeEchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(fd_, reinterpret_cast<sockaddr*>(&address), length);
    listen(fd_, 4);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      timeval limit{5, 0};
      setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t got = recv(client, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        request.append(buffer, static_cast<size_t>(got));
      }
      request_ = request;
      std::string answer =
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
      send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ssize_t got;
      while ((got = recv(client, buffer, sizeof buffer, 0)) > 0) {
        send(client, buffer, static_cast<size_t>(got), MSG_NOSIGNAL);
      }
      close(client);
    });
  }
  ~UpgradeEchoServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(HttpProxy, AnUpgradeAnsweredWith101BecomesATunnel) {
  ProxyHarness harness;
  UpgradeEchoServer backend;
  int port = freePort();
  harness.startReadygate(httpConfig(port, {backend.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(
      client->send("GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"));
  auto switched = client->read();
  ASSERT_TRUE(switched);
  EXPECT_EQ(switched->status, 101);
  EXPECT_EQ(switched->header("Upgrade"), "echo");
  ASSERT_TRUE(client->socket().sendAll("raw bytes\n"));
  EXPECT_EQ(client->socket().receiveLine(), "raw bytes");
  EXPECT_THAT(backend.request(), HasSubstr("Upgrade: echo\r\n"));
  EXPECT_THAT(backend.request(), HasSubstr("Connection: upgrade\r\n"));
}

TEST(HttpProxy, ForwardingHeadersArriveAtThePod) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(
      httpConfig(port, {a.address()}, "    http: {via: true, trustedProxies: [127.0.0.0/8]}\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/headers",
                           "X-Forwarded-For: 203.0.113.7\r\nX-Request-Id: given-1\r\n"
                           "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\n");
  ASSERT_TRUE(reply);
  EXPECT_THAT(reply->body, HasSubstr("X-Forwarded-For: 203.0.113.7, 127.0.0.1\n"));
  EXPECT_THAT(reply->body, HasSubstr("X-Forwarded-Proto: http\n"));
  EXPECT_THAT(reply->body, HasSubstr("X-Forwarded-Host: test\n"));
  EXPECT_THAT(reply->body, HasSubstr("X-Request-Id: given-1\n"));
  EXPECT_THAT(reply->body, HasSubstr("Via: 1.1 readygate\n"));
  EXPECT_THAT(reply->body, ::testing::Not(HasSubstr("X-Hop")));
  EXPECT_EQ(reply->header("Via"), "1.1 readygate");
  auto generated = client->get("/headers");
  ASSERT_TRUE(generated);
  EXPECT_THAT(generated->body, ::testing::ContainsRegex("X-Request-Id: [0-9a-f]{16}\n"));
}

TEST(HttpProxy, NoEligibleBackendIs503WithRetryAfter) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--start-unready"});
  int port = freePort();
  harness.startReadygate(httpConfig(
      port, {a.address()}, R"(    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1}
)"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(reply->header("Retry-After"), "1");
  // The connection stays usable: the pod becomes ready, the next request passes.
  httpGet(a.host, a.port, "/control/ready/on");
  ASSERT_TRUE(harness.waitForState(a.address(), "ready", 5s));
  auto later = client->get("/");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
  EXPECT_EQ(harness.metric("readygate_http_requests_total{service=\"web\",backend=\"none\","
                           "code_class=\"5xx\"}"),
            1);
}

TEST(HttpProxy, EachErrorReadygateMakesHasItsStatus) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  int refusedPort = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}, R"(    http:
      maxHeaderBytes: 2048
      maxUrlBytes: 512
      maxBodyBytes: 1000
      headerTimeoutSeconds: 0.3
      responseTimeoutSeconds: 0.3
)") + fill(R"(  - name: dead
    listen: 127.0.0.1:${port}
    mode: http
    retries: 1
    endpoints: {static: ["127.0.0.1:${refused}"]}
)",
           {{"port", std::to_string(freePort())}, {"refused", std::to_string(refusedPort)}}));
  auto status = [&](const std::string& raw) {
    auto client = HttpTestClient::connect(port);
    if (!client || !client->send(raw)) return 0;
    auto reply = client->read();
    return reply ? reply->status : 0;
  };
  EXPECT_EQ(status("GARBAGE\r\n\r\n"), 400);
  EXPECT_EQ(status("GET /" + std::string(600, 'u') + " HTTP/1.1\r\n\r\n"), 414);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nX-Big: " + std::string(3000, 'h') + "\r\n\r\n"), 431);
  EXPECT_EQ(status("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"), 413);
  EXPECT_EQ(status("GET /?delay_ms=2000 HTTP/1.1\r\nHost: t\r\n\r\n"), 504);
  // Slowloris: a head that never ends.
  auto slow = HttpTestClient::connect(port);
  ASSERT_TRUE(slow);
  ASSERT_TRUE(slow->send("GET / HTTP/1.1\r\nHost: t\r\n"));
  auto timedOut = slow->read(3s);
  ASSERT_TRUE(timedOut);
  EXPECT_EQ(timedOut->status, 408);
  EXPECT_TRUE(slow->closedWithin(2s));
  (void)refusedPort;
}

TEST(HttpProxy, ABackendThatRefusesIs502) {
  ProxyHarness harness;
  int port = freePort();
  harness.startReadygate(
      httpConfig(port, {"127.0.0.1:" + std::to_string(freePort())}, "    retries: 1\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 502);
}

TEST(HttpProxy, AmbiguousRequestsAre400AndNothingIsForwarded) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}));
  long before = requestsAt(a);
  const char* smuggled[] = {
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\nG",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
      "GET / HTTP/1.1\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
  };
  for (const char* raw : smuggled) {
    auto client = HttpTestClient::connect(port);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send(raw));
    auto reply = client->read();
    ASSERT_TRUE(reply) << raw;
    EXPECT_EQ(reply->status, 400) << raw;
    EXPECT_EQ(reply->header("Connection"), "close") << raw;
    EXPECT_TRUE(client->closedWithin(2s)) << raw;
  }
  // The pod saw only this test's own /requests calls.
  EXPECT_EQ(requestsAt(a), before + 1);
}

/// Three pods under 20-connection keep-alive load; one is SIGKILLed; {ok, failed}.
/// `serviceExtra` sets retries and the probe (how fast the dead pod leaves rotation).
std::pair<int, int> killOnePodUnderLoad(const std::string& serviceExtra) {
  ProxyHarness harness;
  std::vector<FakePod*> pods;
  for (int i = 0; i < 3; ++i) pods.push_back(&harness.startPod("pod-" + std::to_string(i)));
  int port = freePort();
  harness.startReadygate(
      httpConfig(port, {pods[0]->address(), pods[1]->address(), pods[2]->address()}, serviceExtra));
  for (FakePod* pod : pods) EXPECT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  HttpLoad load;
  load.start(port, 20, "/");
  EXPECT_TRUE(waitUntil([&] { return load.ok() > 500; }, 10s));
  kill(pods[1]->process->pid(), SIGKILL);
  int atKill = load.ok();
  waitUntil([&] { return load.ok() > atKill + 2000; }, 20s);  // the tests judge the counts
  load.finish();
  return {load.ok(), load.failed()};
}

TEST(HttpProxy, ABackendKilledUnderLoadCostsNoClientErrorThanksToRetries) {
  auto [ok, failed] = killOnePodUnderLoad(R"(    retries: 2
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.1, failureThreshold: 1}
)");
  EXPECT_EQ(failed, 0) << "ok " << ok;
  EXPECT_GT(ok, 2500);
}

TEST(HttpProxy, WithoutRetriesTheSameKillShowsErrors) {
  auto [ok, failed] = killOnePodUnderLoad(R"(    retries: 0
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.5, failureThreshold: 3}
)");
  EXPECT_GT(failed, 0) << "ok " << ok << ": the kill must show without retries";
}

TEST(HttpProxy, APostIsNeverReplayed) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  FakePod& b = harness.startPod("pod-b");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address(), b.address()}, "    retries: 2\n"));
  // A POST to a backend that hangs then dies must not reach the other one.
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  long beforeA = requestsAt(a);
  ASSERT_TRUE(
      client->send("POST /echo?delay_ms=500 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
  std::this_thread::sleep_for(100ms);      // lets the request reach a pod; the kill is the test
  long onA = requestsAt(a) - 1 - beforeA;  // the POST, if it went to pod-a
  FakePod& victim = onA > 0 ? a : b;
  FakePod& other = onA > 0 ? b : a;
  long otherBefore = requestsAt(other);
  kill(victim.process->pid(), SIGKILL);
  auto reply = client->read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 502);
  EXPECT_EQ(requestsAt(other), otherBefore + 1) << "the POST was sent again";
}

TEST(HttpProxy, RoutesByHostAndPathToOtherServicesPools) {
  ProxyHarness harness;
  FakePod& front = harness.startPod("pod-front");
  FakePod& api = harness.startPod("pod-api");
  FakePod& shop = harness.startPod("pod-shop");
  int port = freePort();
  const char* yaml = R"(workers: 2
services:
  - name: front
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${front}"]}
    routes:
      - {host: api.example.com, service: api}
      - {host: "*.example.com", pathPrefix: /shop, service: shop}
${extraRoute}  - name: api
    mode: http
    endpoints: {static: ["${api}"]}
  - name: shop
    mode: http
    retries: 0
    endpoints: {static: ["${shop}"]}
)";
  auto config = [&](const std::string& extraRoute) {
    return fill(yaml, {{"port", std::to_string(port)},
                       {"front", front.address()},
                       {"api", api.address()},
                       {"shop", shop.address()},
                       {"extraRoute", extraRoute}});
  };
  harness.startReadygate(config(""));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto ask = [&](const std::string& host, const std::string& path) {
    if (!client->send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"))
      return std::string();
    auto reply = client->read();
    return reply ? reply->header("X-Pod") : std::string();  // which pod answered
  };
  EXPECT_EQ(ask("api.example.com", "/"), "pod-api");
  EXPECT_EQ(ask("API.example.com:8080", "/"), "pod-api");
  EXPECT_EQ(ask("www.example.com", "/shop/item"), "pod-shop");
  EXPECT_EQ(ask("www.example.com", "/shopping"), "pod-front");  // segment boundary
  EXPECT_EQ(ask("elsewhere.org", "/shop"), "pod-front");
  // The target's own counters count its requests.
  EXPECT_EQ(harness.metric("readygate_http_requests_total{service=\"api\",backend=\"" +
                           api.address() + "\",code_class=\"2xx\"}"),
            2);
  // Routes change by reload like everything else.
  harness.writeFile("readygate.yaml", fill("admin: {listen: \"127.0.0.1:${admin}\"}\n",
                                           {{"admin", std::to_string(harness.adminPort())}}) +
                                          config("      - {pathPrefix: /api, service: api}\n"));
  ASSERT_THAT(harness.adminPost("/reload"), HasSubstr("200 OK"));
  EXPECT_EQ(ask("elsewhere.org", "/api/users"), "pod-api");
}

// A pod that fails traffic but passes its probe is taken out by passive outlier
// detection, shows as ejected, and comes back after the ejection time.
TEST(HttpProxy, APodAnswering500IsEjectedAndReturns) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  FakePod& b = harness.startPod("pod-b", {"--fail-root"});
  FakePod& c = harness.startPod("pod-c");
  int port = freePort();
  harness.startReadygate(
      httpConfig(port, {a.address(), b.address(), c.address()},
                 R"(    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1}
    retries: 0
    outlierDetection:
      consecutive5xx: 3
      baseEjectionSeconds: 1
      maxEjectionPercent: 10
)"));
  for (FakePod* pod : {&a, &b, &c}) ASSERT_TRUE(harness.waitForState(pod->address(), "ready", 5s));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  int errors = 0;
  for (int i = 0; i < 12; ++i) {
    auto reply = client->get("/");
    ASSERT_TRUE(reply);
    if (reply->status == 500) ++errors;
  }
  // One in three until its third 500; the control thread looks every 0.25 s, so a few
  // more may pass before it acts.
  EXPECT_GE(errors, 3);
  ASSERT_TRUE(harness.waitForState(b.address(), "ejected", 2s));
  EXPECT_EQ(harness.backendField(b.address(), "reason"), "consecutive_5xx");
  EXPECT_EQ(harness.metric("readygate_backend_state{service=\"web\",backend=\"" + b.address() +
                           "\",state=\"ejected\"}"),
            1);
  for (int i = 0; i < 10; ++i) {
    auto reply = client->get("/");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200) << "an ejected pod got traffic";
  }
  // Its probe passes all along; only the ejection time brings it back.
  EXPECT_TRUE(harness.waitForState(b.address(), "ready", 3s));
  EXPECT_EQ(harness.metric("readygate_backend_ejections_total{service=\"web\",backend=\"" +
                           b.address() + "\"}"),
            1);
}

// The access log is the one place a request leaves a line (no metric says which path
// got which status), so this test reads the log.
TEST(HttpProxy, TheAccessLogHasALinePerRequest) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}, "    http: {accessLog: true}\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->get("/status/201", "X-Request-Id: req-42\r\n"));
  ASSERT_TRUE(client->send("BROKEN\r\n\r\n"));
  ASSERT_TRUE(client->read());
  std::string pattern =
      "event=access service=web client=127.0.0.1 method=GET path=/status/201 "
      "status=201 bytes=[0-9]+ duration_seconds=[0-9.e-]+ backend=" +
      a.address() + " upstream_seconds=[0-9.e-]+ retries=0 reason=- request_id=req-42 grpc_status=-";
  EXPECT_TRUE(
      waitUntil([&] { return std::regex_search(harness.readygateLog(), std::regex(pattern)); }, 3s))
      << harness.readygateLog();
  EXPECT_TRUE(waitUntil(
      [&] {
        return harness.readygateLog().find("method=- path=- status=400 bytes=0") !=
               std::string::npos;
      },
      3s));
}

// A reload from mode tcp to mode http replaces the service (a removal plus an
// addition): a held TCP connection carries on, new requests are proxied as HTTP.
TEST(HttpProxy, AReloadFromTcpToHttpReplacesTheService) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  std::string tcp = fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    endpoints: {static: ["${a}"]}
)",
                         {{"port", std::to_string(port)}, {"a", a.address()}});
  harness.startReadygate(tcp);
  auto held = HttpTestClient::connect(port);
  ASSERT_TRUE(held);
  auto before = held->get("/headers");
  ASSERT_TRUE(before);
  EXPECT_THAT(before->body,
              ::testing::Not(HasSubstr("X-Forwarded-For")));  // bytes passed as they are
  std::string admin = fill("admin: {listen: \"127.0.0.1:${admin}\"}\n",
                           {{"admin", std::to_string(harness.adminPort())}});
  harness.writeFile("readygate.yaml", admin + httpConfig(port, {a.address()}));
  std::string reply = harness.adminPost("/reload");
  EXPECT_THAT(reply, HasSubstr("200 OK"));
  EXPECT_THAT(reply, HasSubstr("mode tcp -> http"));
  // Workers swap listeners on their next loop pass: a connect in that instant may
  // still meet the old one.
  EXPECT_TRUE(waitUntil(
      [&] {
        auto client = HttpTestClient::connect(port);
        auto after = client ? client->get("/headers") : std::nullopt;
        return after && after->body.find("X-Forwarded-For: 127.0.0.1") != std::string::npos;
      },
      3s));
  auto stillTcp = held->get("/");  // the old connection drains as it was
  ASSERT_TRUE(stillTcp);
  EXPECT_EQ(stillTcp->status, 200);
}

// readygate's own rolling restart behind a load balancer: on SIGTERM /readyz fails at
// once, listeners keep accepting for shutdownDelaySeconds, kept-alive clients get
// Connection: close, an in-flight request completes, then the process exits 0.
TEST(HttpProxy, SigtermWithAShutdownDelayKeepsServingUntilTheDelayEnds) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  ChildProcess& readygate =
      harness.startReadygate("shutdownDelaySeconds: 2\n" + httpConfig(port, {a.address()}));
  auto kept = HttpTestClient::connect(port);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(kept->get("/"));
  auto slow = HttpTestClient::connect(port);
  ASSERT_TRUE(slow);
  ASSERT_TRUE(slow->send("GET /?delay_ms=2500 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // the slow request is on its way; not a sync
  auto signalledAt = std::chrono::steady_clock::now();
  readygate.signal(SIGTERM);
  EXPECT_TRUE(waitUntil(
      [&] { return harness.admin("/readyz").find("shutting down") != std::string::npos; }, 1s));
  // Still accepting during the delay; the kept-alive client is told to go.
  auto late = HttpTestClient::connect(port);
  ASSERT_TRUE(late);
  auto lateReply = late->get("/");
  ASSERT_TRUE(lateReply);
  EXPECT_EQ(lateReply->status, 200);
  auto last = kept->get("/");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("Connection"), "close");
  EXPECT_TRUE(kept->closedWithin(2s));
  // (The checks above are only meaningful inside the delay.)
  EXPECT_LT(std::chrono::steady_clock::now() - signalledAt, 1800ms) << "the checks above ran late";
  // After the delay nobody listens; the in-flight request still completes.
  EXPECT_TRUE(waitUntil([&] { return !canConnect("127.0.0.1", port); }, 4s));
  auto slowReply = slow->read(5s);
  ASSERT_TRUE(slowReply);
  EXPECT_EQ(slowReply->status, 200);
  EXPECT_EQ(readygate.waitExit(10s), 0);
}

// The pool's idle timeout (4 s) is longer than this backend's (1 s): the backend's
// close must still never cost a request, a POST included.
TEST(HttpProxy, ABackendClosingIdleConnectionsCostsNoRequest) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--idle-timeout", "1"});
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  for (int round = 0; round < 3; ++round) {
    auto get = client->get("/");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200);
    ASSERT_TRUE(client->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
    auto post = client->read();
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 200);
    EXPECT_EQ(post->body, "hi");
    std::this_thread::sleep_for(1300ms);  // the pause the backend closes on; not a sync
  }
  EXPECT_EQ(harness.metric("readygate_http_retries_total{service=\"web\"}"), 0);
}

TEST(HttpProxy, A100MebibyteBodyStreamsThroughInLittleMemory) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  ChildProcess& readygate = harness.startReadygate(httpConfig(port, {a.address()}));
  long before = residentKib(readygate.pid());
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  const size_t total = 100u << 20;
  ASSERT_TRUE(client->send(
      "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n"));
  std::string block(1 << 20, 'z');
  long peak = before;
  for (size_t sent = 0; sent < total; sent += block.size()) {
    ASSERT_TRUE(client->send(block));
    peak = std::max(peak, residentKib(readygate.pid()));
  }
  auto reply = client->read(30s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, std::to_string(total) + "\n");
  if (!underSanitizer()) {  // ASan keeps freed memory in quarantine: RSS says little
    EXPECT_LT(peak - before, 16 * 1024) << "readygate grew " << (peak - before) << " KiB";
  }
}

// Real clients: curl and Python's http.client, keep-alive and all.
TEST(HttpProxy, CurlAndPythonWorkAgainstIt) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(httpConfig(port, {a.address()}));
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::string curlOut = harness.dir() + "/curl.out";
  ChildProcess curl({"/usr/bin/curl", "-s", "-d", "payload", url + "/echo", url + "/"}, curlOut);
  ASSERT_EQ(curl.waitExit(10s), 0);
  EXPECT_EQ(curl.output(), "payloadhello from pod-a\n");
  std::string script = harness.writeFile("client.py", fill(R"(
import http.client
c = http.client.HTTPConnection("127.0.0.1", ${port}, timeout=5)
for i in range(3):
    c.request("GET", "/")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"hello from pod-a\n", r.status
c.request("PUT", "/echo", body=b"x" * 70000)
r = c.getresponse()
assert r.status == 200 and len(r.read()) == 70000
print("python ok")
)",
                                                           {{"port", std::to_string(port)}}));
  std::string pythonOut = harness.dir() + "/python.out";
  ChildProcess python({"/usr/bin/python3", script}, pythonOut);
  ASSERT_EQ(python.waitExit(20s), 0) << python.output();
  EXPECT_EQ(python.output(), "python ok\n");
  // wrk: a second of keep-alive load from 4 connections, every answer a 2xx.
  std::string wrkOut = harness.dir() + "/wrk.out";
  ChildProcess wrk({"/usr/bin/wrk", "-t1", "-c4", "-d1s", url + "/"}, wrkOut);
  ASSERT_EQ(wrk.waitExit(20s), 0) << wrk.output();
  EXPECT_THAT(wrk.output(), HasSubstr("requests in"));
  EXPECT_THAT(wrk.output(), ::testing::Not(HasSubstr("Non-2xx")));
  EXPECT_THAT(wrk.output(), ::testing::Not(HasSubstr("Socket errors")));
}

}  // namespace
