// TLS listeners, the PROXY protocol and HTTPS redirects through a real readygate, with
// certificates made at test time and real clients (curl, openssl s_client, sslscan).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/proxy_harness.h"
#include "tests/support/raw_server.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_client.h"

namespace {

using namespace testing_support;

std::string tlsService(int port, const std::string& endpoint, const std::string& mode,
                       const std::string& certificates, const std::string& extra = "") {
  return fill(R"(workers: 2
services:
  - name: web
    listen: 127.0.0.1:${port}
    mode: ${mode}
    endpoints: {static: ["${endpoint}"]}
    tls:
      certificates:
${certificates}${extra}
)",
              {{"port", std::to_string(port)},
               {"mode", mode},
               {"endpoint", endpoint},
               {"certificates", certificates},
               {"extra", extra}});
}

/// One more plaintext http service, to append to a tlsService().
std::string plainHttpService(const std::string& name, int port, const std::string& endpoint,
                             const std::string& extra = "") {
  return fill(R"(  - name: ${name}
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${endpoint}"]}
${extra})",
              {{"name", name}, {"port", std::to_string(port)}, {"endpoint", endpoint}, {"extra", extra}});
}

std::string certificateEntry(const std::pair<std::string, std::string>& pair) {
  return "        - {cert: " + pair.first + ", key: " + pair.second + "}\n";
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string get(const std::string& host) {
  return "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
}

TEST(TlsListener, CurlAndOpensslThroughBothModes) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int httpPort = freePort();
  int tcpPort = freePort();
  std::string yaml = tlsService(httpPort, pod.address(), "http", certificateEntry(pair));
  yaml += fill(R"(  - name: raw
    listen: 127.0.0.1:${port}
    mode: tcp
    endpoints: {static: ["${endpoint}"]}
    tls:
      certificates:
        - {cert: ${cert}, key: ${key}}
)",
               {{"port", std::to_string(tcpPort)},
                {"endpoint", pod.address()},
                {"cert", pair.first},
                {"key", pair.second}});
  harness.startReadygate(yaml);
  std::string resolve = " --resolve web.example.com:" + std::to_string(httpPort) + ":127.0.0.1";
  // HTTP mode: the backend sees X-Forwarded-Proto https.
  auto [status, body] = shell(harness, "curl -sS --max-time 5 --cacert " + pair.first + resolve +
                                           " https://web.example.com:" +
                                           std::to_string(httpPort) + "/headers");
  EXPECT_EQ(status, 0) << body;
  EXPECT_NE(body.find("X-Forwarded-Proto: https"), std::string::npos) << body;
  // s_client in both modes: the pod's answer comes back through TLS.
  for (int port : {httpPort, tcpPort}) {
    auto [code, output] = shell(
        harness, "printf 'GET / HTTP/1.0\\r\\nHost: web.example.com\\r\\n\\r\\n' | "
                 "timeout 10 openssl s_client -ign_eof -connect 127.0.0.1:" +
                     std::to_string(port) + " -servername web.example.com 2>&1");
    EXPECT_NE(output.find("hello from pod-a"), std::string::npos) << port << ": " << output;
    EXPECT_NE(output.find("subject=CN = web.example.com"), std::string::npos) << output;
  }
  EXPECT_GE(harness.metric(R"(readygate_tls_handshakes_total{service="raw",result="ok",version="TLSv1.3"})")
                .value_or(0),
            1);
}

TEST(TlsListener, SniPicksExactThenWildcardThenDefaultAndStrictRefusesUnknownNames) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  std::string dir = harness.dir() + "/certs";
  auto fallback = makeCertificate(harness, dir, "default", {"default.example.com"});
  auto wildcard = makeCertificate(harness, dir, "wild", {"*.apps.example.com"});
  auto exact = makeCertificate(harness, dir, "exact", {"shop.apps.example.com"});
  int port = freePort();
  int strictPort = freePort();
  std::string entries = certificateEntry(fallback) + certificateEntry(wildcard) +
                        certificateEntry(exact);
  std::string yaml = tlsService(port, pod.address(), "http", entries);
  yaml += fill(R"(  - name: strict
    listen: 127.0.0.1:${port}
    mode: http
    endpoints: {static: ["${endpoint}"]}
    tls:
      strictSni: true
      certificates:
${entries})",
               {{"port", std::to_string(strictPort)}, {"endpoint", pod.address()}, {"entries", entries}});
  harness.startReadygate(yaml);

  EXPECT_EQ(tlsExchange(port, "shop.apps.example.com").subject, "shop.apps.example.com")
      << "the exact name wins over the wildcard that covers it too";
  EXPECT_EQ(tlsExchange(port, "cart.apps.example.com").subject, "*.apps.example.com");
  EXPECT_EQ(tlsExchange(port, "a.b.apps.example.com").subject, "default.example.com")
      << "a wildcard covers one label only";
  EXPECT_EQ(tlsExchange(port, "other.example.org").subject, "default.example.com");
  EXPECT_EQ(tlsExchange(port, "").subject, "default.example.com") << "no SNI: the default";
  EXPECT_EQ(tlsExchange(port, "SHOP.Apps.Example.COM").subject, "shop.apps.example.com");

  EXPECT_TRUE(tlsExchange(strictPort, "cart.apps.example.com").handshook);
  TlsAnswer refused = tlsExchange(strictPort, "other.example.org");
  EXPECT_FALSE(refused.handshook);
  EXPECT_NE(refused.error.find("unrecognized name"), std::string::npos) << refused.error;
  EXPECT_FALSE(tlsExchange(strictPort, "").handshook) << "no name matches no certificate either";
  EXPECT_EQ(harness.metric(R"(readygate_tls_handshakes_total{service="strict",result="unknown_sni",version="unknown"})"),
            2);
}

TEST(TlsListener, Tls11IsRefusedWhereOpensslItselfWouldSpeakIt) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  const std::string client =
      "timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -connect 127.0.0.1:";
  // First the control: the same client command does connect to a server that allows it,
  // so a refusal below is readygate's, not this machine's OpenSSL's.
  int controlPort = freePort();
  // -quiet: it serves on when its stdin is empty, as here.
  ChildProcess control({"/usr/bin/openssl", "s_server", "-quiet", "-accept",
                        std::to_string(controlPort), "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                        "-cert", pair.first, "-key", pair.second},
                       harness.dir() + "/s_server.log");
  ASSERT_TRUE(waitUntil([&] { return canConnect("127.0.0.1", controlPort); }, 10s));
  auto [controlStatus, controlOutput] =
      shell(harness, "echo | " + client + std::to_string(controlPort) + " 2>&1");
  ASSERT_NE(controlOutput.find("Protocol  : TLSv1.1"), std::string::npos) << controlOutput;
  ASSERT_EQ(controlOutput.find("Cipher is (NONE)"), std::string::npos)
      << controlOutput << "\ns_server: " << control.output();

  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(pair)));
  auto [status, output] = shell(harness, "echo | " + client + std::to_string(port) + " 2>&1");
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("alert protocol version"), std::string::npos) << output;
  EXPECT_EQ(harness.metric(R"(readygate_tls_handshakes_total{service="web",result="protocol_version",version="unknown"})"),
            1);
}

TEST(TlsListener, AlpnPrefersH2ThenHttp11InHttpModeAndHttp11AloneWithHttp2Off) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  int noH2 = freePort();
  std::string yaml = tlsService(port, pod.address(), "http", certificateEntry(pair));
  yaml += "  - name: web-h1\n    listen: 127.0.0.1:" + std::to_string(noH2) +
          "\n    mode: http\n    endpoints: {static: [\"" + pod.address() +
          "\"]}\n    http2: {enabled: false}\n    tls:\n      certificates:\n" +
          certificateEntry(pair);
  harness.startReadygate(yaml);
  auto [status, output] = shell(harness, "echo | timeout 10 openssl s_client -alpn h2,http/1.1 "
                                         "-connect 127.0.0.1:" + std::to_string(port) + " 2>&1");
  EXPECT_NE(output.find("ALPN protocol: h2"), std::string::npos) << output;
  EXPECT_EQ(tlsExchange(port, "web.example.com", "", "http/1.1").alpn, "http/1.1");
  EXPECT_EQ(tlsExchange(noH2, "web.example.com", "", "h2").alpn, "")
      << "http2.enabled false: h2 is not agreed to";
  EXPECT_EQ(tlsExchange(noH2, "web.example.com", "", "http/1.1").alpn, "http/1.1");
}

/// openssl s_client sending one HTTP/1.0 request to web.example.com on `port`: the server
/// answers and closes, so s_client reads the ticket (TLS 1.3 sends it after the
/// handshake) before it exits. Add -sess_in/-sess_out.
std::string resumingClient(int port) {
  return "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 10 openssl s_client -ign_eof "
         "-servername web.example.com -connect 127.0.0.1:" +
         std::to_string(port);
}

TEST(TlsListener, TicketsResumeOnEitherWorker) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(pair)));  // workers: 2
  std::string session = harness.dir() + "/session.pem";
  std::string client = resumingClient(port);
  auto [firstStatus, first] = shell(harness, client + " -sess_out " + session + " 2>&1");
  ASSERT_NE(first.find("New, TLSv1.3"), std::string::npos) << first;
  int reused = 0;
  for (int i = 0; i < 20; ++i) {
    auto [status, output] = shell(harness, client + " -sess_in " + session + " 2>&1");
    if (output.find("Reused, TLSv1.3") != std::string::npos) ++reused;
  }
  EXPECT_EQ(reused, 20);
  // Both workers took part: the kernel spreads new connections over their sockets, and a
  // ticket only one worker could open would not have resumed 20 times of 20.
}

// Clients use a TLS 1.3 ticket once (browsers do, as RFC 8446 C.4 asks; OpenSSL's client
// drops it after use): each resumed handshake must hand out a new ticket, or every other
// connection costs a full handshake (what wrk with Connection: close showed).
TEST(TlsListener, EveryResumedHandshakeGivesTheClientANewTicket) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(pair)));
  std::string client = resumingClient(port);
  std::string session = harness.dir() + "/session-0.pem";
  auto [firstStatus, first] = shell(harness, client + " -sess_out " + session + " 2>&1");
  ASSERT_NE(first.find("New, TLSv1.3"), std::string::npos) << first;
  int reused = 0;
  for (int i = 1; i <= 10; ++i) {
    // Each connection offers the ticket the one before it received, and only that one.
    std::string next = harness.dir() + "/session-" + std::to_string(i) + ".pem";
    auto [status, output] =
        shell(harness, client + " -sess_in " + session + " -sess_out " + next + " 2>&1");
    if (output.find("Reused, TLSv1.3") != std::string::npos) ++reused;
    if (!std::filesystem::exists(next)) break;  // no new ticket: the chain ends here
    session = next;
  }
  EXPECT_EQ(reused, 10);
  EXPECT_EQ(harness.metric(R"(readygate_tls_resumed_handshakes_total{service="web"})").value_or(0),
            reused);
}

TEST(TlsListener, AStalledHandshakeIsCutAtTheTimeoutAndCounted) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(pair),
                                    "      handshakeTimeoutSeconds: 0.5\n"));
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  client->sendAll(std::string("\x16\x03\x01", 3));  // the start of a record, then nothing
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->waitForEof(5s));
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.4);
  EXPECT_LT(waited, 3.0);
  EXPECT_EQ(harness.metric(R"(readygate_tls_handshakes_total{service="web",result="timeout",version="unknown"})"),
            1);
}

/// A Secret volume as the kubelet writes it: the files are symlinks through `..data`,
/// which is swapped to a new timestamped directory in one rename.
struct SecretVolume {
  std::string dir;
  int generation = 0;
  void publish(const std::string& cert, const std::string& key) {
    std::string stamp = "..2026_12_02_" + std::to_string(++generation);
    std::filesystem::create_directories(dir + "/" + stamp);
    std::filesystem::copy_file(cert, dir + "/" + stamp + "/tls.crt");
    std::filesystem::copy_file(key, dir + "/" + stamp + "/tls.key");
    std::filesystem::create_directory_symlink(stamp, dir + "/..data_tmp");
    std::filesystem::rename(dir + "/..data_tmp", dir + "/..data");
    for (const char* name : {"tls.crt", "tls.key"}) {
      if (!std::filesystem::is_symlink(dir + "/" + name)) {
        std::filesystem::create_symlink(std::string("..data/") + name, dir + "/" + name);
      }
    }
  }
};

TEST(TlsListener, CertificatesFollowTheirFilesUnderLoadWithoutAFailedHandshake) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  std::string made = harness.dir() + "/made";
  auto first = makeCertificate(harness, made, "first", {"swap.example.com"}, "first");
  auto second = makeCertificate(harness, made, "second", {"swap.example.com"}, "second");
  auto third = makeCertificate(harness, made, "third", {"swap.example.com"}, "third");
  auto other = makeCertificate(harness, made, "other", {"swap.example.com"}, "other");
  SecretVolume volume{harness.dir() + "/secret"};
  volume.publish(first.first, first.second);
  int port = freePort();
  harness.startReadygate(tlsService(
      port, pod.address(), "tcp",
      certificateEntry({volume.dir + "/tls.crt", volume.dir + "/tls.key"})));

  // A bounded loop of new TLS connections, recording who served each and any failure.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> handshakes{0};
  std::mutex mutex;
  std::string lastSubject;
  std::string firstError;
  std::thread load([&] {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      TlsAnswer answer = tlsExchange(port, "swap.example.com");
      std::lock_guard lock(mutex);
      if (!answer.handshook) {
        ++failures;
        if (firstError.empty()) firstError = answer.error;
      } else {
        ++handshakes;
        lastSubject = answer.subject;
      }
    }
  });
  auto served = [&](const std::string& subject) {
    std::lock_guard lock(mutex);
    return lastSubject == subject;
  };
  ASSERT_TRUE(waitUntil([&] { return served("first"); }, 5s));

  // 1. The `..data` symlink swap, as the kubelet updates a Secret.
  auto swapped = std::chrono::steady_clock::now();
  volume.publish(second.first, second.second);
  EXPECT_TRUE(waitUntil([&] { return served("second"); }, 5s));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - swapped).count();
  EXPECT_LT(seconds, 1.0) << "a new handshake sees the new certificate within a second";

  // 2. A rename over the files (cert-manager, a script's write-then-rename).
  replaceFile(volume.dir + "/tls.key", readText(third.second));
  replaceFile(volume.dir + "/tls.crt", readText(third.first));
  swapped = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitUntil([&] { return served("third"); }, 5s));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - swapped).count();
  EXPECT_LT(seconds, 1.0);
  EXPECT_TRUE(waitUntil(
      [&] {
        return harness.metric(R"(readygate_tls_certificate_reloads_total{service="web",result="success"})")
                   .value_or(0) >= 2;
      },
      5s));

  // 3. A broken pair (the certificate of one, the key of another) changes nothing.
  double failedBefore =
      harness.metric(R"(readygate_tls_certificate_reloads_total{service="web",result="failure"})")
          .value_or(-1);
  replaceFile(volume.dir + "/tls.key", readText(other.second));
  EXPECT_TRUE(waitUntil(
      [&] {
        return harness.metric(R"(readygate_tls_certificate_reloads_total{service="web",result="failure"})")
                   .value_or(0) > failedBefore;
      },
      5s));
  int before = handshakes.load();
  ASSERT_TRUE(waitUntil([&] { return handshakes.load() > before + 20; }, 10s));
  EXPECT_TRUE(served("third")) << "the previous certificate keeps serving";
  stop = true;
  load.join();
  EXPECT_EQ(failures.load(), 0) << firstError;
  EXPECT_GT(handshakes.load(), 50);
  EXPECT_NE(harness.readygateLog().find("tls_certificate_reload_failed"), std::string::npos);
}

TEST(TlsListener, MisdirectedRequestsGet421ButClientsWithoutSniDoNot) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  std::string dir = harness.dir() + "/certs";
  auto exact = makeCertificate(harness, dir, "exact", {"shop.example.com"});
  auto wildcard = makeCertificate(harness, dir, "wild", {"*.apps.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http",
                                    certificateEntry(exact) + certificateEntry(wildcard)));
  auto status = [&](const std::string& sni, const std::string& host) {
    TlsAnswer answer = tlsExchange(port, sni, get(host));
    return answer.response.substr(0, 12);
  };
  EXPECT_EQ(status("shop.example.com", "shop.example.com"), "HTTP/1.1 200");
  EXPECT_EQ(status("shop.example.com", "shop.example.com:443"), "HTTP/1.1 200");
  EXPECT_EQ(status("shop.example.com", "cart.apps.example.com"), "HTTP/1.1 421")
      << "the exact certificate was chosen; this name would get the wildcard";
  EXPECT_EQ(status("cart.apps.example.com", "shop.example.com"), "HTTP/1.1 421");
  EXPECT_EQ(status("cart.apps.example.com", "blog.apps.example.com"), "HTTP/1.1 200")
      << "one wildcard certificate covers both names";
  EXPECT_EQ(status("", "cart.apps.example.com"), "HTTP/1.1 200") << "no SNI, no 421";
  EXPECT_EQ(status("", "shop.example.com"), "HTTP/1.1 200");
}

/// The requests of an HTTP service reach a RawServer that answers with what it saw.
struct HeaderEcho {
  std::mutex mutex;
  std::vector<std::string> heads;
  RawServer server{[this](RawConnection& connection, int) {
    while (true) {
      std::string head = connection.readHead();
      if (head.empty()) return;
      {
        std::lock_guard lock(mutex);
        heads.push_back(head);
      }
      connection.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  }};
  std::string last() {
    std::lock_guard lock(mutex);
    return heads.empty() ? "" : heads.back();
  }
};

TEST(ProxyProtocol, V1AndV2HeadersFromATrustedSourceNameTheClient) {
  ProxyHarness harness;
  HeaderEcho backend;
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {backend.server.address()}, R"(    mode: http
    proxyProtocol: {accept: any, from: [127.0.0.0/8]}
    http: {accessLog: true}
)"));
  auto client = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(client);
  client->sendAll("PROXY TCP4 203.0.113.7 127.0.0.1 41000 443\r\nGET /v1 HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n\r\n");
  EXPECT_NE(client->receive(1000).find("200 OK"), std::string::npos);
  EXPECT_NE(backend.last().find("X-Forwarded-For: 203.0.113.7\r\n"), std::string::npos)
      << backend.last();

  // v2, IPv6 source, with a TLV after the addresses (AWS and Azure send some).
  std::string v2("\r\n\r\n\0\r\nQUIT\n", 12);
  v2 += '\x21';  // version 2, PROXY
  v2 += '\x21';  // TCP over IPv6
  std::string body;
  unsigned char source[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  unsigned char destination[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  body.append(reinterpret_cast<char*>(source), 16);
  body.append(reinterpret_cast<char*>(destination), 16);
  body += std::string("\xa0\x28\x01\xbb", 4);  // ports 41000, 443
  body += std::string("\x04\x00\x03" "abc", 6);  // a NOOP TLV
  v2 += static_cast<char>(body.size() >> 8);
  v2 += static_cast<char>(body.size() & 0xff);
  v2 += body;
  auto second = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(second);
  second->sendAll(v2 + "GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(second->receive(1000).find("200 OK"), std::string::npos);
  EXPECT_NE(backend.last().find("X-Forwarded-For: 2001:db8::42\r\n"), std::string::npos)
      << backend.last();
  EXPECT_TRUE(waitUntil(
      [&] { return harness.readygateLog().find("client=2001:db8::42") != std::string::npos; }, 5s))
      << "the access log names the real client";
  EXPECT_NE(harness.readygateLog().find("client=203.0.113.7"), std::string::npos);
}

TEST(ProxyProtocol, UntrustedSourcesAndMissingHeadersAreRefused) {
  ProxyHarness harness;
  HeaderEcho backend;
  int trustingNobody = freePort();
  int requiring = freePort();
  harness.startReadygate(fill(R"(workers: 2
services:
  - name: elsewhere
    listen: 127.0.0.1:${a}
    mode: http
    endpoints: {static: ["${backend}"]}
    proxyProtocol: {from: [10.0.0.0/8]}
  - name: web
    listen: 127.0.0.1:${b}
    mode: http
    endpoints: {static: ["${backend}"]}
    proxyProtocol: {accept: v2, from: [127.0.0.1/32]}
)",
                              {{"a", std::to_string(trustingNobody)},
                               {"b", std::to_string(requiring)},
                               {"backend", backend.server.address()}}));
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto untrusted = TcpClient::connect("127.0.0.1", trustingNobody);
  ASSERT_TRUE(untrusted);
  untrusted->sendAll("PROXY TCP4 203.0.113.7 127.0.0.1 41000 443\r\n" + request);
  EXPECT_EQ(untrusted->receive(100, 3s), "") << "closed without an answer";
  auto missing = TcpClient::connect("127.0.0.1", requiring);
  ASSERT_TRUE(missing);
  missing->sendAll(request);
  EXPECT_EQ(missing->receive(100, 3s), "");
  auto wrongVersion = TcpClient::connect("127.0.0.1", requiring);
  ASSERT_TRUE(wrongVersion);
  wrongVersion->sendAll("PROXY TCP4 203.0.113.7 127.0.0.1 41000 443\r\n" + request);
  EXPECT_EQ(wrongVersion->receive(100, 3s), "") << "v1 where only v2 is accepted";
  EXPECT_EQ(backend.server.connections(), 0);
  EXPECT_EQ(harness.metric(R"(readygate_proxy_protocol_refused_total{service="elsewhere"})"), 1);
  EXPECT_EQ(harness.metric(R"(readygate_proxy_protocol_refused_total{service="web"})"), 2);
}

TEST(ProxyProtocol, SendProxyProtocolReachesABackendThatReadsIt) {
  ProxyHarness harness;
  std::mutex mutex;
  std::vector<std::string> firstBytes;
  RawServer backend([&](RawConnection& connection, int) {
    std::string head = connection.readBytes(16, 3s);  // a v2 header's fixed part, or v1's start
    std::lock_guard lock(mutex);
    firstBytes.push_back(head + connection.pending());
  });
  int v1Port = freePort();
  int v2Port = freePort();
  harness.startReadygate(fill(R"(workers: 1
services:
  - name: one
    listen: 127.0.0.1:${a}
    endpoints: {static: ["${backend}"]}
    sendProxyProtocol: v1
  - name: two
    listen: 127.0.0.1:${b}
    endpoints: {static: ["${backend}"]}
    sendProxyProtocol: v2
)",
                              {{"a", std::to_string(v1Port)},
                               {"b", std::to_string(v2Port)},
                               {"backend", backend.address()}}));
  auto first = TcpClient::connect("127.0.0.1", v1Port);
  ASSERT_TRUE(first);
  first->sendAll("hello");
  ASSERT_TRUE(waitUntil([&] { std::lock_guard l(mutex); return firstBytes.size() == 1; }, 5s));
  auto second = TcpClient::connect("127.0.0.1", v2Port);
  ASSERT_TRUE(second);
  second->sendAll("hello");
  ASSERT_TRUE(waitUntil([&] { std::lock_guard l(mutex); return firstBytes.size() == 2; }, 5s));
  std::lock_guard lock(mutex);
  EXPECT_TRUE(std::regex_search(firstBytes[0],
                                std::regex("^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 [0-9]+ " +
                                           std::to_string(v1Port) + "\r\n")))
      << firstBytes[0];
  ASSERT_GE(firstBytes[1].size(), 16u);
  EXPECT_EQ(firstBytes[1].substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(firstBytes[1][12], '\x21');
  EXPECT_EQ(firstBytes[1][13], '\x11') << "TCP over IPv4";
}

TEST(HttpsRedirect, KeepsHostPathAndQueryAndHstsIsOnTlsResponsesOnly) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int tlsPort = freePort();
  int plainPort = freePort();
  int plainNoRedirect = freePort();
  std::string yaml = tlsService(tlsPort, pod.address(), "http", certificateEntry(pair),
                                "    hsts: {maxAgeSeconds: 31536000, includeSubDomains: true}\n");
  yaml += plainHttpService("plain", plainPort, pod.address(),
                           "    redirectToHttps: {port: " + std::to_string(tlsPort) +
                               ", status: 308}\n");
  yaml += plainHttpService("open", plainNoRedirect, pod.address());
  harness.startReadygate(yaml);
  auto [status, redirect] =
      shell(harness, "curl -sS -D - -o /dev/null --max-time 5 -H 'Host: web.example.com:" +
                         std::to_string(plainPort) + "' 'http://127.0.0.1:" +
                         std::to_string(plainPort) + "/shop/cart?item=42&q=a%20b'");
  EXPECT_NE(redirect.find("HTTP/1.1 308"), std::string::npos) << redirect;
  EXPECT_NE(redirect.find("Location: https://web.example.com:" + std::to_string(tlsPort) +
                          "/shop/cart?item=42&q=a%20b\r\n"),
            std::string::npos)
      << redirect;
  // curl follows it to the TLS listener; the answer there carries HSTS.
  auto [followed, answer] = shell(
      harness, "curl -sS -L -D - --max-time 5 --cacert " + pair.first + " --resolve web.example.com:" +
                   std::to_string(plainPort) + ":127.0.0.1 --resolve web.example.com:" +
                   std::to_string(tlsPort) + ":127.0.0.1 http://web.example.com:" +
                   std::to_string(plainPort) + "/");
  EXPECT_EQ(followed, 0) << answer;
  // Over h2 (curl's choice by ALPN) field names are lowercase.
  std::string lower = answer;
  for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("strict-transport-security: max-age=31536000; includesubdomains\r\n"),
            std::string::npos)
      << answer;
  EXPECT_NE(answer.find("hello from pod-a"), std::string::npos);
  std::string plain = httpGet("127.0.0.1", plainNoRedirect, "/");
  EXPECT_NE(plain.find("hello from pod-a"), std::string::npos);
  EXPECT_EQ(plain.find("Strict-Transport-Security"), std::string::npos) << plain;
}

TEST(TlsListener, SslscanFindsNoOldProtocolAndNoCipherWithoutForwardSecrecy) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  // One RSA and one ECDSA certificate: the ciphers of both key types are offered.
  std::string dir = harness.dir() + "/certs";
  auto ecdsa = makeCertificate(harness, dir, "ec", {"web.example.com"});
  std::string rsaKey = dir + "/rsa.key";
  std::string rsaCert = dir + "/rsa.crt";
  auto [made, madeOutput] = shell(
      harness, "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + rsaKey + " -out " + rsaCert +
                   " -days 30 -subj /CN=rsa.example.com -addext subjectAltName=DNS:rsa.example.com");
  ASSERT_EQ(made, 0) << madeOutput;
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http",
                                    certificateEntry({rsaCert, rsaKey}) + certificateEntry(ecdsa)));
  for (const char* name : {"rsa.example.com", "web.example.com"}) {
    auto [status, output] = shell(harness, std::string("sslscan --no-colour --no-heartbleed --sni-name=") +
                                               name + " 127.0.0.1:" + std::to_string(port),
                                  60s);
    ASSERT_EQ(status, 0) << output;
    for (const char* old : {"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"}) {
      EXPECT_TRUE(std::regex_search(output, std::regex(std::string(old) + " +disabled")))
          << old << "\n" << output;
    }
    EXPECT_TRUE(std::regex_search(output, std::regex("TLSv1.2 +enabled"))) << output;
    EXPECT_TRUE(std::regex_search(output, std::regex("TLSv1.3 +enabled"))) << output;
    std::istringstream lines(output);
    int accepted = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("Accepted", 0) != 0 && line.rfind("Preferred", 0) != 0) continue;
      ++accepted;
      bool tls13 = line.find("TLSv1.3") != std::string::npos;
      EXPECT_TRUE(tls13 || line.find("ECDHE-") != std::string::npos)
          << "a TLS 1.2 cipher without ECDHE: " << line;
      EXPECT_EQ(line.find("CBC"), std::string::npos) << line;
    }
    EXPECT_GE(accepted, 4) << output;
  }
}


TEST(TlsListener, ARefusalAtALimitIsNeverPlaintextOnTls) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int tlsPort = freePort();
  int plainPort = freePort();
  std::string yaml = tlsService(tlsPort, pod.address(), "http", certificateEntry(pair),
                                "    maxConnections: 1\n");
  yaml += plainHttpService("plain", plainPort, pod.address(), "    maxConnections: 1\n");
  harness.startReadygate(yaml);
  for (int port : {plainPort, tlsPort}) {
    // A client that takes the one place: connected (TLS: handshake done) with its request
    // head unfinished, so its session stays open.
    std::optional<TcpClient> holder;
    std::thread tlsHolder;
    if (port == plainPort) {
      holder = TcpClient::connect("127.0.0.1", port);
      ASSERT_TRUE(holder);
      holder->sendAll("GET / HTTP/1.1\r\n");
    } else {
      tlsHolder = std::thread([port] { tlsExchange(port, "web.example.com", "GET / HTTP/1.1\r\n", "", 4s); });
    }
    ASSERT_TRUE(waitUntil(
        [&] {
          std::string name = port == tlsPort ? "web" : "plain";
          return harness.metric("readygate_connections_active{service=\"" + name + "\"}").value_or(0) ==
                 1;
        },
        5s));
    auto refused = TcpClient::connect("127.0.0.1", port);
    ASSERT_TRUE(refused);
    std::string said = refused->receive(200, 3s);
    if (port == plainPort) {
      EXPECT_NE(said.find("HTTP/1.1 503"), std::string::npos) << "plaintext: a 503 is said";
    } else {
      EXPECT_EQ(said, "") << "TLS: a plaintext 503 would be garbage to a TLS client";
      EXPECT_TRUE(refused->waitForEof(100ms)) << "closed, not left waiting for a hello";
    }
    if (tlsHolder.joinable()) tlsHolder.join();
  }
  EXPECT_EQ(harness.metric(R"(readygate_connections_refused_total{service="web",reason="service_limit"})"),
            1);
}

TEST(TlsListener, AReloadReadsTheCertificatesAgainAndABadOneIsRefused) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  std::string dir = harness.dir() + "/certs";
  auto first = makeCertificate(harness, dir, "first", {"web.example.com"}, "first");
  auto second = makeCertificate(harness, dir, "second", {"web.example.com"}, "second");
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(first)));
  std::string admin = "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n";
  EXPECT_EQ(tlsExchange(port, "web.example.com").subject, "first");

  harness.writeFile("readygate.yaml",
                    admin + tlsService(port, pod.address(), "http", certificateEntry(second)));
  EXPECT_NE(harness.adminPost("/reload").find("200 OK"), std::string::npos);
  EXPECT_EQ(tlsExchange(port, "web.example.com").subject, "second");

  harness.writeFile("readygate.yaml",
                    admin + tlsService(port, pod.address(), "http",
                                       certificateEntry({second.first, first.second})));
  std::string reply = harness.adminPost("/reload");
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("do not match"), std::string::npos) << reply;
  EXPECT_EQ(tlsExchange(port, "web.example.com").subject, "second") << "the running set stays";
}


TEST(TlsListener, AClientMidHandshakeWhenAReloadMovesItsListenerStillGetsItsAnswer) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  auto pair = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  int moved = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http", certificateEntry(pair)));
  auto client = TcpClient::connect("127.0.0.1", port);  // accepted; no hello yet
  ASSERT_TRUE(client);
  std::string admin = "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n";
  harness.writeFile("readygate.yaml",
                    admin + tlsService(moved, pod.address(), "http", certificateEntry(pair)));
  ASSERT_NE(harness.adminPost("/reload").find("200 OK"), std::string::npos);
  ASSERT_TRUE(waitUntil([&] { return !canConnect("127.0.0.1", port); }, 5s)) << "old listener closed";
  TlsAnswer answer = tlsExchangeOn(client->fd(), "web.example.com", get("web.example.com"));
  EXPECT_TRUE(answer.handshook) << answer.error;
  EXPECT_NE(answer.response.find("hello from pod-a"), std::string::npos) << answer.response;
}


TEST(TlsListener, CheckReadsTheCertificatesAsAStartWould) {
  ProxyHarness harness;
  std::string dir = harness.dir() + "/certs";
  auto one = makeCertificate(harness, dir, "one", {"one.example.com"});
  auto two = makeCertificate(harness, dir, "two", {"two.example.com"});
  std::string good = harness.writeFile(
      "good.yaml", tlsService(freePort(), "127.0.0.1:1", "tcp", certificateEntry(one)));
  std::string bad = harness.writeFile(
      "bad.yaml", tlsService(freePort(), "127.0.0.1:1", "tcp",
                             certificateEntry({one.first, two.second})));
  auto [goodStatus, goodOutput] =
      shell(harness, readygateBinary() + " --check -c " + good + " 2>&1");
  EXPECT_EQ(goodStatus, 0) << goodOutput;
  auto [badStatus, badOutput] = shell(harness, readygateBinary() + " --check -c " + bad + " 2>&1");
  EXPECT_EQ(badStatus, 1);
  EXPECT_NE(badOutput.find("service web: tls: " + one.first + ": certificate and key do not match"),
            std::string::npos)
      << badOutput;
}


TEST(ProxyProtocol, PerClientLimitsCountTheRealClientNotTheBalancer) {
  ProxyHarness harness;
  HeaderEcho backend;
  int port = freePort();
  harness.startReadygate(serviceConfig(port, {backend.server.address()}, R"(    mode: http
    maxConnectionsPerClient: 1
    proxyProtocol: {accept: v1, from: [127.0.0.1/32]}
)"));
  // Two clients behind one balancer (one source address): each has its one place.
  auto first = TcpClient::connect("127.0.0.1", port);
  auto second = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(first && second);
  first->sendAll("PROXY TCP4 203.0.113.1 127.0.0.1 1000 80\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  second->sendAll("PROXY TCP4 203.0.113.2 127.0.0.1 1000 80\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(first->receive(40).find("200 OK"), std::string::npos);
  EXPECT_NE(second->receive(40).find("200 OK"), std::string::npos);
  // A second connection of the first real client is over its limit.
  auto third = TcpClient::connect("127.0.0.1", port);
  ASSERT_TRUE(third);
  third->sendAll("PROXY TCP4 203.0.113.1 127.0.0.1 1001 80\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(third->receive(200).find("503"), std::string::npos);
  EXPECT_EQ(harness.metric(R"(readygate_connections_refused_total{service="web",reason="client_limit"})"),
            1);
}

}  // namespace

namespace {

TEST(TlsListener, RsaAndEcdsaForOneNameEachClientGetsTheKindItTakes) {
  ProxyHarness harness;
  FakePod& pod = harness.startPod("pod-a");
  std::string dir = harness.dir() + "/certs";
  std::string rsaKey = dir + "/rsa.key";
  std::string rsaCert = dir + "/rsa.crt";
  auto ecdsa = makeCertificate(harness, dir, "ecdsa", {"web.example.com"}, "ecdsa");
  auto [made, madeOutput] = shell(
      harness, "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + rsaKey + " -out " + rsaCert +
                   " -days 30 -subj /CN=rsa -addext subjectAltName=DNS:web.example.com");
  ASSERT_EQ(made, 0) << madeOutput;
  int port = freePort();
  harness.startReadygate(tlsService(port, pod.address(), "http",
                                    certificateEntry({rsaCert, rsaKey}) + certificateEntry(ecdsa)));
  auto served = [&](const std::string& sigalgs, const std::string& serverName) {
    auto [status, output] =
        shell(harness, "echo | timeout 10 openssl s_client -connect 127.0.0.1:" +
                           std::to_string(port) + " -sigalgs '" + sigalgs + "'" +
                           (serverName.empty() ? "" : " -servername " + serverName) + " 2>&1");
    std::smatch subject;
    return std::regex_search(output, subject, std::regex("subject=CN = ([a-z]+)")) ? subject[1].str()
                                                                                 : output;
  };
  for (const char* name : {"web.example.com", ""}) {  // by name, and as the default
    EXPECT_EQ(served("ECDSA+SHA256", name), "ecdsa") << name;
    EXPECT_EQ(served("RSA-PSS+SHA256:RSA+SHA256", name), "rsa") << name;
    EXPECT_EQ(served("ECDSA+SHA256:RSA-PSS+SHA256", name), "ecdsa") << name;
  }
}

}  // namespace

namespace {

TEST(TlsListener, ClientCertificatesRequiredCheckedAgainstTheCaAndItsCrl) {
  ProxyHarness harness;
  HeaderEcho backend;
  TestCa ca{harness, harness.dir() + "/ca"};
  ca.create("clients-ca");
  TestCa other{harness, harness.dir() + "/other"};
  other.create("other-ca");
  auto good = ca.issue("good");
  auto revoked = ca.issue("revoked");
  auto stranger = other.issue("stranger");
  ca.revoke(revoked.first);
  auto server = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(
      port, backend.server.address(), "http", certificateEntry(server),
      "      clientAuth: {mode: required, ca: " + ca.cert() + ", crl: " + ca.crl() +
          "}\n      clientSubjectHeader: X-Client-Cert\n"));
  auto request = [&](const std::string& certificate) {
    std::string flags = certificate.empty() ? "" : " --cert " + certificate + " --key " +
                                                       certificate.substr(0, certificate.size() - 3) + "key";
    return shell(harness, "curl -sS -k --max-time 5 -H 'X-Client-Cert: forged' " + flags +
                              " --resolve web.example.com:" + std::to_string(port) +
                              ":127.0.0.1 https://web.example.com:" + std::to_string(port) + "/ 2>&1");
  };
  auto [noneStatus, none] = request("");
  EXPECT_NE(noneStatus, 0) << "no certificate: refused at the handshake\n" << none;
  auto [strangerStatus, fromStranger] = request(stranger.first);
  EXPECT_NE(strangerStatus, 0) << "another CA's certificate\n" << fromStranger;
  auto [revokedStatus, fromRevoked] = request(revoked.first);
  EXPECT_NE(revokedStatus, 0) << "a revoked certificate\n" << fromRevoked;
  EXPECT_EQ(backend.server.connections(), 0);
  auto [goodStatus, fromGood] = request(good.first);
  EXPECT_EQ(goodStatus, 0) << fromGood;
  EXPECT_EQ(fromGood, "ok");
  std::string head = backend.last();
  EXPECT_NE(head.find("X-Client-Cert: Subject=\"CN=good,O=shop\";URI=spiffe://cluster/ns/good\r\n"),
            std::string::npos)
      << head;
  EXPECT_EQ(head.find("forged"), std::string::npos) << "the client's own header is removed";
  EXPECT_GE(harness.metric(R"(readygate_tls_handshakes_total{service="web",result="client_certificate",version="unknown"})")
                .value_or(0),
            3);
  // The CRL is followed like the certificates: revoked now, refused from the next handshake.
  ca.revoke(good.first);
  EXPECT_TRUE(waitUntil([&] { return request(good.first).first != 0; }, 5s));
}

TEST(TlsListener, OptionalClientCertificatesAreMarkedNotRequired) {
  ProxyHarness harness;
  HeaderEcho backend;
  TestCa ca{harness, harness.dir() + "/ca"};
  ca.create("clients-ca");
  TestCa other{harness, harness.dir() + "/other"};
  other.create("other-ca");
  auto good = ca.issue("good");
  auto stranger = other.issue("stranger");
  auto server = makeCertificate(harness, harness.dir() + "/certs", "web", {"web.example.com"});
  int port = freePort();
  harness.startReadygate(tlsService(
      port, backend.server.address(), "http", certificateEntry(server),
      "      clientAuth: {mode: optional, ca: " + ca.cert() +
          "}\n      clientSubjectHeader: X-Client-Cert\n"));
  auto request = [&](const std::pair<std::string, std::string>* pair) {
    std::string flags = pair ? " --cert " + pair->first + " --key " + pair->second : "";
    auto [status, output] = shell(harness, "curl -sS -k --max-time 5 -H 'X-Client-Cert: forged'" +
                                               flags + " https://127.0.0.1:" +
                                               std::to_string(port) + "/ 2>&1");
    EXPECT_EQ(status, 0) << output;
    return backend.last();
  };
  std::string anonymous = request(nullptr);
  EXPECT_EQ(anonymous.find("X-Client-Cert"), std::string::npos) << anonymous;
  std::string unverified = request(&stranger);
  EXPECT_EQ(unverified.find("X-Client-Cert"), std::string::npos)
      << "a certificate that does not verify names nobody\n" << unverified;
  std::string verified = request(&good);
  EXPECT_NE(verified.find("X-Client-Cert: Subject=\"CN=good,O=shop\""), std::string::npos)
      << verified;
}

}  // namespace
