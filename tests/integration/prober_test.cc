// Probers in-process against canned answers from a real loopback server: what the
// kubelet's HTTP probe semantics say about redirects, odd answers, caps and timeouts.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "proxy/core/event_loop.h"
#include "proxy/probe/http_prober.h"
#include "proxy/probe/tcp_prober.h"
#include "tests/support/net_helpers.h"

namespace readygate {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

/// Accepts one connection, records the request, writes `answer` (after `delay`), keeps
/// the connection open for `holdOpen`, closes.
class CannedServer {
 public:
  CannedServer(std::string answer, std::chrono::milliseconds delay = 0ms,
               std::chrono::milliseconds holdOpen = 0ms) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(fd_, reinterpret_cast<sockaddr*>(&address), length);
    listen(fd_, 4);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, answer = std::move(answer), delay, holdOpen] {
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t got = recv(client, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        request.append(buffer, static_cast<size_t>(got));
      }
      request_ = request;
      std::this_thread::sleep_for(delay);
      send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      std::this_thread::sleep_for(holdOpen);
      close(client);
    });
  }
  ~CannedServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  SocketAddress address() const {
    return std::get<SocketAddress>(SocketAddress::fromHostPort("127.0.0.1", port_));
  }
  std::string request() const { return request_; }

 private:
  int fd_;
  int port_;
  std::thread thread_;
  std::string request_;
};

/// Runs one probe on a real loop and returns its result.
ProbeResult probeOnce(Prober& prober, EventLoop& loop) {
  std::optional<ProbeResult> result;
  auto attempt = prober.start([&](ProbeResult done) {
    result = std::move(done);
    loop.stop();
  });
  EXPECT_FALSE(result) << "done must not run inside start()";
  // A guard so a broken prober cannot hang the test.
  EventPtr guard(evtimer_new(
      loop.base(), [](evutil_socket_t, short, void* l) { static_cast<EventLoop*>(l)->stop(); },
      &loop));
  timeval limit = toTimeval(5);
  evtimer_add(guard.get(), &limit);
  loop.run();
  return result.value_or(ProbeResult::failed("no_result"));
}

HttpGetAction action(std::string path = "/ready") {
  HttpGetAction get;
  get.path = std::move(path);
  return get;
}

TEST(HttpProber, SendsKubeletLikeRequestAndPassesOn200) {
  EventLoop loop;
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nready\n");
  HttpGetAction get = action("/ready?x=1");
  get.headers.push_back({"X-Probe", "readygate"});
  HttpProber prober(loop.base(), server.address(), get, 1, nullptr);
  ProbeResult result = probeOnce(prober, loop);
  EXPECT_TRUE(result.success);
  EXPECT_EQ(result.reason, "ok");
  EXPECT_EQ(result.message, "ready");
  std::string request = server.request();
  EXPECT_THAT(request, ::testing::StartsWith("GET /ready?x=1 HTTP/1.1\r\n"));
  EXPECT_THAT(request, HasSubstr("Host: " + server.address().toString() + "\r\n"));
  EXPECT_THAT(request, HasSubstr("User-Agent: readygate/"));
  EXPECT_THAT(request, HasSubstr("X-Probe: readygate\r\n"));
  EXPECT_THAT(request, HasSubstr("Connection: close\r\n"));
}

TEST(HttpProber, CustomHostAndUserAgentReplaceTheDefaults) {
  EventLoop loop;
  CannedServer server("HTTP/1.1 204 No Content\r\n\r\n");
  HttpGetAction get = action();
  get.headers.push_back({"Host", "web.internal"});
  get.headers.push_back({"User-Agent", "kube-probe/1.29"});
  HttpProber prober(loop.base(), server.address(), get, 1, nullptr);
  EXPECT_TRUE(probeOnce(prober, loop).success);
  std::string request = server.request();
  EXPECT_THAT(request, HasSubstr("Host: web.internal\r\n"));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("Host: 127.0.0.1")));
  EXPECT_THAT(request, HasSubstr("User-Agent: kube-probe/1.29\r\n"));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("readygate/")));
}

TEST(HttpProber, StatusClassesDecide) {
  const std::pair<const char*, const char*> cases[] = {
      {"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", "ok"},
      {"HTTP/1.1 399 Odd\r\nContent-Length: 0\r\n\r\n", "ok"},
      // The boundary: 400 is the first failure (the kubelet: 200 <= code < 400).
      {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "http_400"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "ok"},
      {"HTTP/1.1 199 Early\r\nContent-Length: 0\r\n\r\n", "http_199"},
      {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "http_404"},
      {"HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready\n", "http_503"},
      {"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: "
       "chunked\r\n\r\n4\r\nboom\r\n0\r\n\r\n",
       "http_500"},
      {"SSH-2.0-OpenSSH_9.2\r\n", "http_malformed"},
      {"", "connection_closed"},
  };
  for (const auto& [answer, reason] : cases) {
    EventLoop loop;
    CannedServer server(answer);
    HttpProber prober(loop.base(), server.address(), action(), 1, nullptr);
    EXPECT_EQ(probeOnce(prober, loop).reason, reason) << answer;
  }
}

TEST(HttpProber, ReadsAtMostTenKibibytesOfBody) {
  // 20 KiB of a promised 1 MiB, then silence: only a prober that stops at 10 KiB (as the
  // kubelet) answers before its timeout.
  EventLoop loop;
  CannedServer server(
      "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + std::string(20 * 1024, 'x'), 0ms,
      2000ms);
  HttpProber prober(loop.base(), server.address(), action(), 1, nullptr);
  ProbeResult result = probeOnce(prober, loop);
  EXPECT_EQ(result.reason, "ok");
  EXPECT_LE(result.message.size(), 200u);
}

TEST(HttpProber, SlowAnswerTimesOut) {
  EventLoop loop;
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 600ms);
  HttpProber prober(loop.base(), server.address(), action(), 0.2, nullptr);
  auto started = std::chrono::steady_clock::now();
  ProbeResult result = probeOnce(prober, loop);
  EXPECT_EQ(result.reason, "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 550ms);
}

TEST(HttpProber, RefusedConnection) {
  EventLoop loop;
  int port = testing_support::freePort();
  HttpProber prober(loop.base(),
                    std::get<SocketAddress>(SocketAddress::fromHostPort("127.0.0.1", port)),
                    action(), 1, nullptr);
  EXPECT_EQ(probeOnce(prober, loop).reason, "connect_refused");
}

TEST(TcpProber, ConnectsOrIsRefused) {
  EventLoop loop;
  CannedServer server("");
  TcpProber up(loop.base(), server.address(), 1);
  EXPECT_TRUE(probeOnce(up, loop).success);
  int port = testing_support::freePort();
  TcpProber down(loop.base(),
                 std::get<SocketAddress>(SocketAddress::fromHostPort("127.0.0.1", port)), 1);
  EXPECT_EQ(probeOnce(down, loop).reason, "connect_refused");
}

}  // namespace
}  // namespace readygate
