// mode http against backends and clients that break the rules on purpose (issue 17): a
// response that would reach the wrong client, upstream connections in a doubtful state,
// Host and request-target checks, hop-by-hop headers, trailers, timeouts that must move
// with traffic, a half-closed tunnel, and bytes validated before any reach a backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/proxy_harness.h"
#include "tests/support/raw_server.h"

namespace {

using namespace testing_support;
using ::testing::HasSubstr;
using ::testing::Not;

/// One worker, so that a pooled upstream connection is the one the next client gets.
std::string oneWorkerConfig(int port, const std::string& backend, const std::string& extra = "") {
  return fill(R"(workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${backend}"]}
)",
              {{"port", std::to_string(port)}, {"backend", backend}}) +
         extra;
}

/// Serves every request on a connection with `reply` until the peer closes.
RawServer::Play serveEach(const std::string& reply) {
  return [reply](RawConnection& connection, int) {
    while (!connection.readHead(3s).empty()) {
      if (!connection.send(reply)) return;
    }
  };
}

/// A backend that answers each request with the head it received as the body.
RawServer::Play echoHead() {
  return [](RawConnection& connection, int) {
    std::string head;
    while (!(head = connection.readHead(3s)).empty()) {
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(head.size()) +
                      "\r\n\r\n" + head);
    }
  };
}

// Finding 1: a 101 to a request that asked for no upgrade is a bad response, and the
// connection it came on is closed, never pooled: bytes the backend sends later must never
// reach the next client.
TEST(HttpHardening, AnUnaskedFor101IsA502AndItsConnectionIsNeverReused) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int index) {
    if (index == 0) {
      if (connection.readHead().empty()) return;
      connection.send(
          "HTTP/1.1 101 Switching Protocols\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      std::this_thread::sleep_for(300ms);  // the backend's script: inject later
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected");
      connection.waitForEof(2s);
      return;
    }
    serveEach("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhonest")(connection, index);
  });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto a = HttpTestClient::connect(port);
  ASSERT_TRUE(a);
  auto first = a->get("/");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 502);
  auto b = HttpTestClient::connect(port);
  ASSERT_TRUE(b);
  auto second = b->get("/next");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "honest");
}

// Finding 1: a 101 naming a protocol the request did not offer is refused as well.
TEST(HttpHardening, A101ForAnotherProtocolThanOfferedIsA502) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    connection.send(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n");
    connection.waitForEof(2s);
  });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get(
      "/chat", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 502);
}

// Finding 1: interim responses go on to HTTP/1.1 clients and are dropped for HTTP/1.0
// ones; the final response follows in both cases.
TEST(HttpHardening, InterimResponsesReachHttp11ClientsOnly) {
  ProxyHarness harness;
  RawServer backend(
      serveEach("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto modern = HttpTestClient::connect(port);
  ASSERT_TRUE(modern);
  auto hints = modern->get("/");
  ASSERT_TRUE(hints);
  EXPECT_EQ(hints->status, 103);
  auto final = modern->read();
  ASSERT_TRUE(final);
  EXPECT_EQ(final->status, 200);
  EXPECT_EQ(final->body, "final");
  auto old = HttpTestClient::connect(port);
  ASSERT_TRUE(old);
  ASSERT_TRUE(old->send("GET / HTTP/1.0\r\n\r\n"));
  auto only = old->read();
  ASSERT_TRUE(only);
  EXPECT_EQ(only->status, 200);
}

// Finding 1 and the first of the four bugs: every response that leaves its connection in a
// doubtful state costs that connection. The backend below goes on serving on each
// connection whatever it said, so a connection readygate wrongly pooled would be reused
// and the backend would count fewer connections than requests.
TEST(HttpHardening, ConnectionsInADoubtfulStateAreNeverPooled) {
  struct Case {
    const char* name;
    std::string reply;
  };
  for (const Case& each : std::vector<Case>{
           {"Connection: close",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"},
           {"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
           {"a body longer than declared", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"},
       }) {
    SCOPED_TRACE(each.name);
    ProxyHarness harness;
    RawServer backend(serveEach(each.reply));
    int port = freePort();
    harness.startReadygate(oneWorkerConfig(port, backend.address()));
    for (int i = 0; i < 3; ++i) {
      // A new client each time: the client side may close when the backend's did.
      auto client = HttpTestClient::connect(port);
      ASSERT_TRUE(client);
      auto reply = client->get("/");
      ASSERT_TRUE(reply) << i;
      EXPECT_EQ(reply->body, "ok");
    }
    EXPECT_EQ(backend.connections(), 3);
  }
}

// Finding 1: a response that starts before the request was all sent leaves the
// connection mid-request: never pooled.
TEST(HttpHardening, AResponseBeforeTheWholeRequestCostsTheConnection) {
  ProxyHarness harness;
  RawServer backend(serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto early = HttpTestClient::connect(port);
  ASSERT_TRUE(early);
  ASSERT_TRUE(
      early->send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\npart"));
  auto answered = early->read();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  auto next = HttpTestClient::connect(port);
  ASSERT_TRUE(next);
  auto reply = next->get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(backend.connections(), 2);
}

// Finding 14: HTTP/1.0 keep-alive is announced when it is honoured.
TEST(HttpHardening, Http10KeepAliveIsAnnounced) {
  ProxyHarness harness;
  RawServer backend(serveEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client->send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto reply = client->read();
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply->body, "ok");
    EXPECT_EQ(reply->header("Connection"), "keep-alive") << reply->head;
  }
  // Without asking, an HTTP/1.0 client is told the connection closes, and it does.
  ASSERT_TRUE(client->send("GET / HTTP/1.0\r\n\r\n"));
  auto last = client->read();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("Connection"), "close");
  EXPECT_TRUE(client->closedWithin(2s));
}

// Finding 15: a client cannot switch a backend connection to h2c past routing.
TEST(HttpHardening, UpgradeToH2cIsRemovedAndServedAsHttp11) {
  ProxyHarness harness;
  RawServer backend(echoHead());
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/",
                           "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                           "HTTP2-Settings: AAMAAABkAAQAAP__\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_THAT(reply->body, Not(HasSubstr("h2c")));
  EXPECT_THAT(reply->body, Not(HasSubstr("HTTP2-Settings")));
  EXPECT_THAT(reply->body, Not(HasSubstr("pgrade")));
  auto again = client->get("/again");  // still HTTP/1.1 on the same connection
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// Finding 6: Host must be there once and valid; what Connection names is removed, but
// Host, a generated X-Request-Id and readygate's own headers are sent anyway.
TEST(HttpHardening, HostIsRequiredOnceAndValidAndConnectionCannotStripIt) {
  ProxyHarness harness;
  RawServer backend(echoHead());
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  for (const std::string& bad :
       {std::string("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\n\r\n"), std::string("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n")}) {
    SCOPED_TRACE(bad);
    auto client = HttpTestClient::connect(port);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send(bad));
    auto reply = client->read();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400);
  }
  EXPECT_EQ(backend.connections(), 0);
  // HTTP/1.0 may come without Host. It goes on as HTTP/1.1, which needs one (a backend
  // such as nginx answers 400 without it): the address the client reached.
  auto old = HttpTestClient::connect(port);
  ASSERT_TRUE(old);
  ASSERT_TRUE(old->send("GET / HTTP/1.0\r\n\r\n"));
  auto oldReply = old->read();
  ASSERT_TRUE(oldReply);
  EXPECT_EQ(oldReply->status, 200);
  EXPECT_THAT(oldReply->body, HasSubstr("Host: 127.0.0.1:" + std::to_string(port) + "\r\n"));

  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/", "Connection: Host, X-Request-Id\r\nX-Request-Id: client-id\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_THAT(reply->body, HasSubstr("Host: test\r\n"));
  EXPECT_THAT(reply->body, Not(HasSubstr("client-id")));
  EXPECT_THAT(reply->body, HasSubstr("X-Request-Id: "));
  EXPECT_THAT(reply->body, HasSubstr("X-Forwarded-For: 127.0.0.1"));
}

// Finding 6: an absolute-form target is routed by its authority and forwarded in
// origin form with Host set to that authority.
TEST(HttpHardening, AnAbsoluteFormTargetIsRoutedByItsAuthority) {
  ProxyHarness harness;
  RawServer api(echoHead());
  RawServer other(serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nother"));
  int port = freePort();
  harness.startReadygate(
      fill(R"(workers: 1
services:
  - name: front
    listen: 127.0.0.1:${port}
    mode: http
    routes:
      - {host: api.example.com, service: api}
      - {host: other, service: other}
  - name: api
    mode: http
    endpoints: {static: ["${api}"]}
  - name: other
    mode: http
    endpoints: {static: ["${other}"]}
)",
           {{"port", std::to_string(port)}, {"api", api.address()}, {"other", other.address()}}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("GET http://api.example.com/v1/x?q=1 HTTP/1.1\r\nHost: other\r\n\r\n"));
  auto reply = client->read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_THAT(reply->body, HasSubstr("GET /v1/x?q=1 HTTP/1.1\r\n"));
  EXPECT_THAT(reply->body, HasSubstr("Host: api.example.com\r\n"));
  EXPECT_THAT(reply->body, Not(HasSubstr("Host: other")));
}

// Finding 13: nothing of a request reaches a backend before the bytes at hand are valid.
TEST(HttpHardening, ABadChunkInTheSameReadAsTheHeadNeverReachesTheBackend) {
  ProxyHarness harness;
  RawServer backend(echoHead());
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n"));
  auto reply = client->read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  std::this_thread::sleep_for(200ms);  // a connect under way would have been counted by now
  EXPECT_EQ(backend.connections(), 0);
}

// Finding 5: a trailer section is limited like a head: 431 while nothing was answered.
TEST(HttpHardening, AnOversizedRequestTrailerIsRefused) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) { connection.waitForEof(5s); });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  std::string trailer = headerLines(100000);
  client->send(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
      trailer + "\r\n");
  auto reply = client->read(4s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
}

// Finding 5: a response trailer past the limit ends the client connection (its response
// began) instead of arriving as a complete 200.
TEST(HttpHardening, AnOversizedResponseTrailerCutsTheResponse) {
  ProxyHarness harness;
  std::string trailer = headerLines(100000);
  RawServer backend(
      serveEach("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
                trailer + "\r\n"));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/");
  EXPECT_FALSE(reply) << "a whole response came: " << reply->head;
  EXPECT_TRUE(client->closedWithin(2s));
}

// Finding 4: the idle timeout moves with traffic: a slow chunked stream keeps going.
TEST(HttpHardening, AnActiveStreamOutlivesTheIdleTimeout) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    connection.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 8 && !false; ++i) {
      std::this_thread::sleep_for(300ms);
      if (!connection.send("1\r\nx\r\n")) return;
    }
    connection.send("0\r\n\r\n");
    connection.waitForEof(2s);
  });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address(), "    idleTimeoutSeconds: 1\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/events");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "xxxxxxxx");
}

// Finding 4: the response timeout counts from the end of the request: a slow upload is
// not a slow backend.
TEST(HttpHardening, TheResponseTimeoutStartsWhenTheRequestHasBeenSent) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    std::string body = connection.readBytes(8, 8s);
    connection.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body);
    connection.waitForEof(2s);
  });
  int port = freePort();
  harness.startReadygate(
      oneWorkerConfig(port, backend.address(), "    http: {responseTimeoutSeconds: 1}\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n"));
  for (char c : std::string("12345678")) {
    std::this_thread::sleep_for(250ms);  // the client's pace: 2 s for 8 bytes
    ASSERT_TRUE(client->send(std::string(1, c)));
  }
  auto reply = client->read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "12345678");
}

// The response timeout ends with the response head: a body that pauses longer than it
// (but not longer than the idle timeout) still arrives whole.
TEST(HttpHardening, TheResponseTimeoutEndsWhenTheHeadArrives) {
  ProxyHarness harness;
  RawServer backend([](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    connection.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
    std::this_thread::sleep_for(1800ms);  // past responseTimeoutSeconds, inside idle
    connection.send("-last");
    connection.waitForEof(2s);
  });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(
      port, backend.address(), "    idleTimeoutSeconds: 5\n    http: {responseTimeoutSeconds: 1}\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/slow-body");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "first-last");
}

/// A backend that accepts any upgrade, then answers what arrives on the tunnel.
RawServer::Play upgradeThen(std::function<void(RawConnection&)> tunnel) {
  return [tunnel](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    connection.send(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    tunnel(connection);
  };
}

const char* kUpgradeRequest =
    "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

// Finding 4: an active tunnel outlives the idle timeout.
TEST(HttpHardening, AnActiveTunnelOutlivesTheIdleTimeout) {
  ProxyHarness harness;
  RawServer backend(upgradeThen([](RawConnection& connection) {
    std::string got;
    while (!(got = connection.readBytes(1, 3s)).empty()) connection.send(got);
  }));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address(), "    idleTimeoutSeconds: 1\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(kUpgradeRequest));
  auto switched = client->read();
  ASSERT_TRUE(switched);
  ASSERT_EQ(switched->status, 101);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(client->socket().sendAll("e"));
    EXPECT_EQ(client->socket().receive(1, 2s), "e") << "echo " << i;
  }
}

// Finding 10: a tunnel keeps half-close, as TCP mode does.
TEST(HttpHardening, AHalfClosedTunnelStillGetsItsAnswer) {
  ProxyHarness harness;
  RawServer backend(upgradeThen([](RawConnection& connection) {
    std::string received = connection.pending();
    connection.waitForEof(3s, &received);
    connection.send("received " + std::to_string(received.size()) + " bytes");
  }));
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send(kUpgradeRequest));
  auto switched = client->read();
  ASSERT_TRUE(switched);
  ASSERT_EQ(switched->status, 101);
  ASSERT_TRUE(client->socket().sendAll("hello world"));
  client->socket().shutdownWrite();
  EXPECT_EQ(client->socket().receive(18, 3s), "received 11 bytes");
}

// The second of the four bugs: the pool's sweep closes idle connections past
// upstreamIdleTimeoutSeconds (nothing else would while the backend stays in rotation).
TEST(HttpHardening, IdleUpstreamConnectionsAreClosedAfterTheirTimeout) {
  ProxyHarness harness;
  std::atomic<bool> closedByProxy{false};
  RawServer backend([&](RawConnection& connection, int) {
    if (connection.readHead().empty()) return;
    connection.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    if (connection.waitForEof(6s)) closedByProxy = true;
  });
  int port = freePort();
  harness.startReadygate(
      oneWorkerConfig(port, backend.address(), "    http: {upstreamIdleTimeoutSeconds: 1}\n"));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(waitUntil([&] { return closedByProxy.load(); }, 5s));
}

// Finding 7: routes match the normalized path (forwarded unchanged); raw is HAProxy's way.
TEST(HttpHardening, PathRoutesMatchTheNormalizedPath) {
  ProxyHarness harness;
  RawServer api(echoHead());
  RawServer other(serveEach("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nother"));
  int port = freePort();
  int rawPort = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: front
    listen: 127.0.0.1:${port}
    mode: http
    routes:
      - {pathPrefix: /api, service: api}
      - {pathPrefix: /, service: other}
  - name: raw
    listen: 127.0.0.1:${rawPort}
    mode: http
    http: {pathMatching: raw}
    routes:
      - {pathPrefix: /api, service: api}
      - {pathPrefix: /, service: other}
  - name: api
    mode: http
    endpoints: {static: ["${api}"]}
  - name: other
    mode: http
    endpoints: {static: ["${other}"]}
)",
                              {{"port", std::to_string(port)},
                               {"rawPort", std::to_string(rawPort)},
                               {"api", api.address()},
                               {"other", other.address()}}));
  auto served = [&](int listen, const std::string& path) {
    auto client = HttpTestClient::connect(listen);
    if (!client) return std::string("refused");
    auto reply = client->get(path);
    return reply ? reply->body : std::string("no answer");
  };
  for (std::string walk : {"/x/../api", "/%61pi", "//api", "/./api"}) {
    EXPECT_THAT(served(port, walk), HasSubstr("GET " + walk + " HTTP/1.1")) << walk;
  }
  EXPECT_EQ(served(port, "/api/../x"), "other");
  EXPECT_EQ(served(rawPort, "/%61pi"), "other");
  EXPECT_THAT(served(rawPort, "/api/x"), HasSubstr("GET /api/x HTTP/1.1"));
}

// Finding 8 in HTTP mode: one client's 5xx cannot eject every ready backend. Two of four
// pods are still starting; the two ready ones both answer 500 to /. Only one may go, and
// the other keeps serving every other client (its own 500s, never a 503).
TEST(HttpHardening, OneClientCannotEjectEveryReadyBackend) {
  ProxyHarness harness;
  FakePod& a = harness.startPod("pod-a", {"--fail-root"});
  FakePod& b = harness.startPod("pod-b", {"--fail-root"});
  FakePod& c = harness.startPod("pod-c", {"--start-unready"});
  FakePod& d = harness.startPod("pod-d", {"--start-unready"});
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${a}", "${b}", "${c}", "${d}"]}
    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 0.1}
    retries: 0
    outlierDetection: {consecutive5xx: 3, baseEjectionSeconds: 30, maxEjectionPercent: 50}
)",
                              {{"port", std::to_string(port)},
                               {"a", a.address()},
                               {"b", b.address()},
                               {"c", c.address()},
                               {"d", d.address()}}));
  ASSERT_TRUE(harness.waitForState(a.address(), "ready", 5s));
  ASSERT_TRUE(harness.waitForState(b.address(), "ready", 5s));
  auto attacker = HttpTestClient::connect(port);
  ASSERT_TRUE(attacker);
  for (int i = 0; i < 20; ++i) {
    auto reply = attacker->get("/");
    ASSERT_TRUE(reply);
    std::this_thread::sleep_for(20ms);  // the control thread looks every 0.25 s
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        return harness.backendState(a.address()) == "ejected" ||
               harness.backendState(b.address()) == "ejected";
      },
      3s));
  std::this_thread::sleep_for(600ms);  // two more looks: a second ejection would show now
  int ejected = (harness.backendState(a.address()) == "ejected") +
                (harness.backendState(b.address()) == "ejected");
  EXPECT_EQ(ejected, 1);
  auto other = HttpTestClient::connect(port);
  ASSERT_TRUE(other);
  for (int i = 0; i < 5; ++i) {
    auto reply = other->get("/health-of-another-path");
    ASSERT_TRUE(reply);
    EXPECT_NE(reply->status, 503) << reply->body;
  }
}

// The maxEjectionPercent cap in HTTP mode: four ready pods all answering 500 to /, 50 %:
// two are ejected and two stay (ignoring the cap would leave only the last one).
TEST(HttpHardening, MaxEjectionPercentHoldsInHttpMode) {
  ProxyHarness harness;
  std::vector<FakePod*> pods;
  std::string list;
  for (const char* name : {"pod-a", "pod-b", "pod-c", "pod-d"}) {
    pods.push_back(&harness.startPod(name, {"--fail-root"}));
    list += (list.empty() ? "\"" : ", \"") + pods.back()->address() + "\"";
  }
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: [${list}]}
    retries: 0
    outlierDetection: {consecutive5xx: 2, baseEjectionSeconds: 30, maxEjectionPercent: 50}
)",
                              {{"port", std::to_string(port)}, {"list", list}}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto ejectedCount = [&] {
    int count = 0;
    for (FakePod* pod : pods) count += harness.backendState(pod->address()) == "ejected";
    return count;
  };
  for (int i = 0; i < 40 && ejectedCount() < 2; ++i) {
    ASSERT_TRUE(client->get("/"));
    std::this_thread::sleep_for(20ms);
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->get("/"));
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(ejectedCount(), 2);
}

// The retry budget in HTTP mode: retries: 1 means one other backend after the first, so
// of three backends that close every connection before answering, exactly two are tried.
TEST(HttpHardening, TheRetryBudgetIsExactInHttpMode) {
  ProxyHarness harness;
  auto closeAtOnce = [](RawConnection& connection, int) { connection.readHead(2s); };
  RawServer one(closeAtOnce), two(closeAtOnce), three(closeAtOnce);
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${one}", "${two}", "${three}"]}
    retries: 1
    http: {upstreamMaxIdle: 0}
)",
                              {{"port", std::to_string(port)},
                               {"one", one.address()},
                               {"two", two.address()},
                               {"three", three.address()}}));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  auto reply = client->get("/");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 502);
  EXPECT_EQ(one.connections() + two.connections() + three.connections(), 2);
}

// Finding 11: a backend that drops some requests arriving on a reused connection (as a
// backend does when its keep-alive timeout races ours). An idempotent request that failed
// on a reused connection before any response byte goes once more, on a new connection to
// the same backend: a one-backend service loses nothing.
TEST(HttpHardening, AStalePooledConnectionCostsNoRequest) {
  ProxyHarness harness;
  std::atomic<int> dropped{0};
  RawServer backend([&](RawConnection& connection, int index) {
    for (int request = 0; !connection.readHead(3s).empty(); ++request) {
      if (request > 0 && (index + request) % 3 == 0) {
        ++dropped;  // about a third of reused requests: closed without an answer
        return;
      }
      if (!connection.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) return;
    }
  });
  int port = freePort();
  harness.startReadygate(oneWorkerConfig(port, backend.address()));
  auto client = HttpTestClient::connect(port);
  ASSERT_TRUE(client);
  int failed = 0;
  for (int i = 0; i < 300; ++i) {
    auto reply = client->get("/");
    if (!reply || reply->status != 200) {
      ++failed;
      client = HttpTestClient::connect(port);
      if (!client) break;
    }
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(dropped, 50);
  // A POST is never sent twice, reused connection or not.
  RawServer counting([&](RawConnection& connection, int) { connection.readHead(2s); });
  int postPort = freePort();
  ProxyHarness postHarness;
  postHarness.startReadygate(oneWorkerConfig(postPort, counting.address()));
  auto poster = HttpTestClient::connect(postPort);
  ASSERT_TRUE(poster);
  ASSERT_TRUE(poster->send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
  auto refused = poster->read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502);
  EXPECT_EQ(counting.connections(), 1);
}

// Finding 11: a one-backend service whose pod restarts on its port (down for 0.3 s) under
// keep-alive load: a refused connect is tried again within the connect timeout, with a
// short backoff, so no client sees the restart.
TEST(HttpHardening, ABackendRestartingOnItsPortCostsNoRequest) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  int port = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${pod}"]}
    connectTimeoutSeconds: 3
)",
                              {{"port", std::to_string(port)}, {"pod", pod.address()}}));
  HttpLoad load;
  load.start(port, 4, "/");
  ASSERT_TRUE(waitUntil([&] { return load.ok() > 200; }, 5s));
  kill(pod.process->pid(), SIGKILL);
  pod.process->waitExit(2s);
  std::this_thread::sleep_for(300ms);  // the restart takes this long
  ChildProcess restarted(
      {fakepodBinary(), "--name", "pod-a", "--host", pod.host, "--port", std::to_string(pod.port)},
      harness.dir() + "/pod-a-restarted.log");
  int atRestart = load.ok();
  EXPECT_TRUE(waitUntil([&] { return load.ok() > atRestart + 500; }, 10s));
  load.finish();
  EXPECT_EQ(load.failed(), 0) << "ok " << load.ok();
}

}  // namespace
