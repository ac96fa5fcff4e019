// TLS from readygate to its backends (upstreamTls): verification, names, client certificates,
// session resumption and the pool's TLS identity, against a real nginx with certificates
// made at test time.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "tests/support/proxy_harness.h"
#include "tests/support/test_pki.h"

namespace {

using namespace testing_support;

/// nginx (Debian's) serving HTTPS on loopback; every answer says what TLS saw:
/// `sni=NAME reused=r|. client=SUBJECT conn=N` (N: nginx's connection serial number).
class NginxTlsBackend {
 public:
  NginxTlsBackend(ProxyHarness& harness, const std::string& name,
                  const std::pair<std::string, std::string>& certificate,
                  const std::string& extra = "")
      : port_(freePort()) {
    std::string dir = harness.dir() + "/" + name;
    std::filesystem::create_directories(dir + "/tmp");
    std::ofstream(dir + "/nginx.conf") << fill(R"(daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
${extra}
    location / {
      default_type text/plain;
      return 200 "sni=$ssl_server_name reused=$ssl_session_reused client=$ssl_client_s_dn conn=$connection\n";
    }
  }
}
)",
                                               {{"dir", dir},
                                                {"port", std::to_string(port_)},
                                                {"cert", certificate.first},
                                                {"key", certificate.second},
                                                {"extra", extra}});
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf", "-e",
                                 dir + "/error.log"},
        dir + "/stderr.log");
    EXPECT_TRUE(waitUntil([&] { return canConnect("127.0.0.1", port_); }, 10s))
        << "nginx did not start: " << process_->output();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

std::string service(const std::string& name, int port, const std::string& mode,
                    const std::string& endpoint, const std::string& upstreamTls,
                    const std::string& extra = "") {
  return fill(R"(  - name: ${name}
    listen: 127.0.0.1:${port}
    mode: ${mode}
    endpoints: {static: ["${endpoint}"]}
    upstreamTls: ${tls}
${extra})",
              {{"name", name},
               {"port", std::to_string(port)},
               {"mode", mode},
               {"endpoint", endpoint},
               {"tls", upstreamTls},
               {"extra", extra}});
}

/// curl to readygate's plaintext listener; {exit status, "STATUS BODY"}.
std::pair<int, std::string> fetch(ProxyHarness& harness, int port, const std::string& host = "") {
  std::string header = host.empty() ? "" : " -H 'Host: " + host + "'";
  return shell(harness, "curl -sS --max-time 5 -w ' %{http_code}'" + header + " http://127.0.0.1:" +
                            std::to_string(port) + "/ 2>&1");
}

/// The value of `key=` in one of nginx's answers.
std::string field(const std::string& answer, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(answer, match, std::regex(key + "=(\\S*)"))) return "";
  return match[1];
}

/// Every test has a CA for its backends' certificates and a harness.
class UpstreamTls : public ::testing::Test {
 protected:
  UpstreamTls() { ca.create("backends-ca"); }
  /// readygate_upstream_tls_handshakes_total of `service` for `result` (0 when absent).
  double handshakes(const std::string& service, const std::string& result) {
    return harness
        .metric("readygate_upstream_tls_handshakes_total{service=\"" + service + "\",result=\"" +
                result + "\"}")
        .value_or(0);
  }

  ProxyHarness harness;
  TestCa ca{harness, harness.dir() + "/ca"};
};

TEST_F(UpstreamTls, VerifiesByDefaultAnd502sAWrongCaOrAWrongName) {
  TestCa other{harness, harness.dir() + "/other"};
  other.create("other-ca");
  NginxTlsBackend backend(harness, "nginx", ca.issueServer("api", {"api.internal"}));
  int good = freePort(), wrongCa = freePort(), wrongName = freePort(), fromHost = freePort(),
      systemCas = freePort(), noVerify = freePort();
  std::string access = "    http: {accessLog: true}\n";
  std::string yaml = "services:\n" +
                     service("good", good, "http", backend.address(),
                             "{ca: " + ca.cert() + ", serverName: api.internal}", access) +
                     service("wrongca", wrongCa, "http", backend.address(),
                             "{ca: " + other.cert() + ", serverName: api.internal}", access) +
                     service("wrongname", wrongName, "http", backend.address(),
                             "{ca: " + ca.cert() + ", serverName: db.internal}", access) +
                     service("fromhost", fromHost, "http", backend.address(),
                             "{ca: " + ca.cert() + "}", access) +
                     service("systemcas", systemCas, "http", backend.address(), "true", access) +
                     service("noverify", noVerify, "http", backend.address(), "{verify: false}");
  harness.startReadygate(yaml);

  auto [status, answer] = fetch(harness, good);
  EXPECT_EQ(status, 0) << answer;
  EXPECT_TRUE(answer.ends_with(" 200")) << answer;
  EXPECT_EQ(field(answer, "sni"), "api.internal");

  for (int port : {wrongCa, wrongName, systemCas}) {
    auto [failedStatus, failed] = fetch(harness, port, "api.internal");
    EXPECT_TRUE(failed.ends_with(" 502")) << port << ": " << failed;
    EXPECT_NE(failed.find("upstream_tls_verify_failed"), std::string::npos) << failed;
  }
  // Without serverName, the request's Host is the name asked for and verified.
  auto [hostStatus, byHost] = fetch(harness, fromHost, "API.internal:8443");
  EXPECT_TRUE(byHost.ends_with(" 200")) << byHost;
  EXPECT_EQ(field(byHost, "sni"), "api.internal");
  auto [otherStatus, otherHost] = fetch(harness, fromHost, "evil.example");
  EXPECT_TRUE(otherHost.ends_with(" 502")) << otherHost;
  // verify: false takes any certificate (as the kubelet's probes do).
  auto [anyStatus, any] = fetch(harness, noVerify);
  EXPECT_TRUE(any.ends_with(" 200")) << any;

  EXPECT_EQ(handshakes("wrongca", "verify_failed"), 1);
  EXPECT_EQ(handshakes("good", "full"), 1);
  EXPECT_TRUE(waitUntil(
      [&] {
        return std::regex_search(harness.readygateLog(),
                                 std::regex("event=access service=wrongname .*status=502 .*"
                                            "reason=upstream_tls_verify_failed"));
      },
      3s))
      << harness.readygateLog();
  EXPECT_NE(harness.readygateLog().find("event=upstream_tls_failed service=wrongname"),
            std::string::npos)
      << "the operator's warning names the service and says why";
}

TEST_F(UpstreamTls, AClientCertificateReachesABackendThatRequiresOne) {
  TestCa clients{harness, harness.dir() + "/clients"};
  clients.create("clients-ca");
  auto proxyCertificate = clients.issue("readygate");
  NginxTlsBackend backend(harness, "nginx", ca.issueServer("api", {"api.internal"}),
                          "    ssl_verify_client on;\n    ssl_client_certificate " +
                              clients.cert() + ";\n");
  int withCert = freePort(), without = freePort();
  std::string common = "ca: " + ca.cert() + ", serverName: api.internal";
  harness.startReadygate(
      "services:\n" +
      service("mtls", withCert, "http", backend.address(),
              "{" + common + ", cert: " + proxyCertificate.first + ", key: " +
                  proxyCertificate.second + "}") +
      service("plain", without, "http", backend.address(), "{" + common + "}"));
  auto [status, answer] = fetch(harness, withCert);
  EXPECT_TRUE(answer.ends_with(" 200")) << answer;
  EXPECT_EQ(field(answer, "client"), "CN=readygate,O=shop");
  // nginx finishes the handshake and answers 400 itself to a client without one.
  auto [plainStatus, refused] = fetch(harness, without);
  EXPECT_TRUE(refused.ends_with(" 400")) << refused;
  EXPECT_NE(refused.find("No required SSL certificate"), std::string::npos) << refused;
}

TEST_F(UpstreamTls, TenNewConnectionsResumeTheFirstSession) {
  // keepalive_timeout 0: nginx closes after each answer, so each request is a new
  // connection and a new handshake.
  NginxTlsBackend backend(harness, "nginx", ca.issueServer("api", {"api.internal"}),
                          "    keepalive_timeout 0;\n");
  int port = freePort();
  harness.startReadygate("workers: 1\nservices:\n" +
                         service("web", port, "http", backend.address(),
                                 "{ca: " + ca.cert() + ", serverName: api.internal}"));
  std::string reused;
  std::set<std::string> connections;
  for (int i = 0; i < 10; ++i) {
    auto [status, answer] = fetch(harness, port);
    ASSERT_TRUE(answer.ends_with(" 200")) << answer;
    reused += field(answer, "reused");
    connections.insert(field(answer, "conn"));
  }
  EXPECT_EQ(connections.size(), 10u) << "every request had a connection of its own";
  EXPECT_EQ(reused, ".rrrrrrrrr") << "the first handshake is full, the nine after it resumed";
  EXPECT_EQ(handshakes("web", "resumed"), 9);
}

TEST_F(UpstreamTls, APooledConnectionIsReusedOnlyForTheSameServerName) {
  NginxTlsBackend backend(harness, "nginx",
                          ca.issueServer("api", {"a.internal", "b.internal"}));
  int a = freePort(), b = freePort(), byHost = freePort();
  std::string tls = "ca: " + ca.cert();
  harness.startReadygate(
      "workers: 1\nservices:\n" +
      service("a", a, "http", backend.address(), "{" + tls + ", serverName: a.internal}") +
      service("b", b, "http", backend.address(), "{" + tls + ", serverName: b.internal}") +
      service("host", byHost, "http", backend.address(), "{" + tls + "}"));
  // Each name's answers come over its own connections; a connection that served one name
  // never serves the other.
  std::map<std::string, std::set<std::string>> connectionsOf;
  auto record = [&](const std::string& expected, const std::string& answer) {
    EXPECT_TRUE(answer.ends_with(" 200")) << answer;
    EXPECT_EQ(field(answer, "sni"), expected) << answer;
    connectionsOf[expected].insert(field(answer, "conn"));
  };
  for (int i = 0; i < 6; ++i) {
    record("a.internal", fetch(harness, a).second);
    record("b.internal", fetch(harness, b).second);
    record("a.internal", fetch(harness, byHost, "a.internal").second);
    record("b.internal", fetch(harness, byHost, "b.internal").second);
  }
  for (const std::string& connection : connectionsOf["a.internal"]) {
    EXPECT_EQ(connectionsOf["b.internal"].count(connection), 0u)
        << "connection " << connection << " carried both names";
  }
  // The pool was used at all (else the test would prove nothing).
  EXPECT_GE(harness.metric(R"(readygate_upstream_requests_total{service="host",connection="reused"})")
                .value_or(0),
            8);
}

TEST_F(UpstreamTls, TcpModeVerifiesTheEndpointsAddress) {
  NginxTlsBackend byAddress(harness, "by-address", ca.issueServer("ip", {"127.0.0.1"}));
  NginxTlsBackend byName(harness, "by-name", ca.issueServer("named", {"api.internal"}));
  int good = freePort(), bad = freePort();
  harness.startReadygate("services:\n" +
                         service("good", good, "tcp", byAddress.address(), "{ca: " + ca.cert() + "}") +
                         service("bad", bad, "tcp", byName.address(), "{ca: " + ca.cert() + "}"));
  // Plain HTTP from the client, TLS from readygate: an IP is verified against IP SANs and
  // sent without SNI (SNI carries host names only).
  auto [status, answer] = fetch(harness, good);
  EXPECT_TRUE(answer.ends_with(" 200")) << answer;
  EXPECT_EQ(field(answer, "sni"), "");
  auto [badStatus, refused] = fetch(harness, bad);
  EXPECT_NE(badStatus, 0) << "a certificate without the address: the connection is closed\n"
                          << refused;
  EXPECT_EQ(handshakes("bad", "verify_failed"), 1);
}

TEST_F(UpstreamTls, CheckAndReloadReadTheFilesAndRefuseABadOne) {
  TestCa other{harness, harness.dir() + "/other"};
  other.create("other-ca");
  NginxTlsBackend backend(harness, "nginx", ca.issueServer("api", {"api.internal"}));
  int port = freePort();
  auto web = [&](const std::string& tls) {
    return "services:\n" + service("web", port, "http", backend.address(), tls);
  };
  std::string missing =
      harness.writeFile("missing.yaml", web("{ca: " + harness.dir() + "/nope.crt}"));
  auto [checkStatus, check] = shell(harness, readygateBinary() + " --check -c " + missing + " 2>&1");
  EXPECT_EQ(checkStatus, 1) << check;
  EXPECT_NE(check.find("service web: upstreamTls: cannot read " + harness.dir() + "/nope.crt"),
            std::string::npos)
      << check;
  harness.startReadygate(web("{ca: " + ca.cert() + ", serverName: api.internal}"));
  std::string admin = "admin: {listen: \"127.0.0.1:" + std::to_string(harness.adminPort()) + "\"}\n";
  EXPECT_TRUE(fetch(harness, port).second.ends_with(" 200"));
  // A reload reads the CA again: the other CA's is used from then on, for new connections.
  harness.writeFile("readygate.yaml", admin + web("{ca: " + other.cert() + ", serverName: api.internal}"));
  EXPECT_NE(harness.adminPost("/reload").find("200 OK"), std::string::npos);
  EXPECT_TRUE(fetch(harness, port).second.ends_with(" 502")) << "pooled connections of the old context are not reused";
  // A reload naming a CA that does not exist is refused whole; the running one stays.
  harness.writeFile("readygate.yaml", admin + web("{ca: " + harness.dir() + "/nope.crt}"));
  std::string reply = harness.adminPost("/reload");
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("nope.crt"), std::string::npos) << reply;
  EXPECT_TRUE(fetch(harness, port).second.ends_with(" 502"));
}

}  // namespace
