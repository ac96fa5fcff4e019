// Config loading: good files load into the right structs; every kind of bad input is
// reported with its YAML path and position, all errors at once.
#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace readygate {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> errorTexts(const ConfigLoadResult& result) {
  std::vector<std::string> texts;
  for (const auto& error : result.errors) texts.push_back(error.toString());
  return texts;
}

const char* kFullConfig = R"(
admin:
  listen: 127.0.0.1:9911
  readyRequiresBackends: true
workers: 3
services:
  - name: web
    listen: 0.0.0.0:8080
    balance: least_conn
    endpoints:
      static: ["127.0.0.1:5001", "[::1]:5002"]
    readinessProbe:
      httpGet:
        path: /ready
        port: 8081
        scheme: HTTPS
        host: example.internal
        httpHeaders:
          - {name: X-Probe, value: readygate}
        tls: {verify: true, ca: /etc/ca.pem, serverName: web.local}
      initialDelaySeconds: 2
      periodSeconds: 0.5
      timeoutSeconds: 2
      successThreshold: 2
      failureThreshold: 4
    livenessProbe:
      tcpSocket: {port: 5000}
    startupProbe:
      exec:
        command: ["sh", "-c", "test -f /tmp/started"]
      failureThreshold: 30
      periodSeconds: 1
    minReady: 1
    drainTimeoutSeconds: 12
    connectTimeoutSeconds: 0.25
    idleTimeoutSeconds: 60
    retries: 2
    whenNoneReady: all
    mode: http
    http:
      maxHeaderBytes: 16384
      maxUrlBytes: 4096
      maxBodyBytes: 1048576
      headerTimeoutSeconds: 5
      keepAliveTimeoutSeconds: 30
      responseTimeoutSeconds: 20
      upstreamIdleTimeoutSeconds: 2
      upstreamMaxIdle: 8
      forwardedHeaders: false
      via: true
)";

// Before: an admin API on 0.0.0.0 without a token passed --check silently.
TEST(ConfigLoader, ANetworkAdminListenerNeedsATokenOrASaidYes) {
  const char* services = R"(
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]}}
)";
  ConfigLoadResult open = loadConfigText(std::string("admin: {listen: 0.0.0.0:9901}\n") + services);
  ASSERT_FALSE(open.config);
  EXPECT_THAT(open.errors.at(0).toString(), HasSubstr("admin.listen: not a loopback address"));
  ConfigLoadResult insecure = loadConfigText(
      std::string("admin: {listen: 0.0.0.0:9901, allowInsecure: true}\n") + services);
  ASSERT_TRUE(insecure.config);
  ASSERT_EQ(insecure.warnings.size(), 1u);
  EXPECT_THAT(insecure.warnings[0].message, HasSubstr("without a token"));
  EXPECT_TRUE(
      loadConfigText(std::string("admin: {listen: 0.0.0.0:9901, tokenFile: /t}\n") + services)
          .config);
}

// Before: 1e300 passed --check and made a probe timer fire continuously (100 % CPU).
TEST(ConfigLoader, EveryDurationHasACeiling) {
  for (const char* key :
       {"idleTimeoutSeconds", "drainTimeoutSeconds", "connectTimeoutSeconds", "slowStartSeconds"}) {
    ConfigLoadResult result = loadConfigText(
        std::string("services:\n  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: "
                    "[\"127.0.0.1:5001\"]}, ") +
        key + ": 1e300}\n");
    ASSERT_FALSE(result.config) << key;
    EXPECT_THAT(result.errors.at(0).toString(), HasSubstr("must be at most 86400")) << key;
  }
  ConfigLoadResult probe = loadConfigText(R"(
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
    readinessProbe: {tcpSocket: {}, periodSeconds: 1e300}
)");
  ASSERT_FALSE(probe.config);
  EXPECT_THAT(probe.errors.at(0).toString(), HasSubstr("periodSeconds"));
}

// Before: a duplicate name went unreported while another service had an error, so a
// fixed file failed again with the next error (issue 10, finding 6).
TEST(ConfigLoader, DuplicatesAreToldAlongsideOtherErrors) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: broken, listen: 127.0.0.1:8081, endpoints: {static: ["nowhere"]}}
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5002"]}}
)");
  std::vector<std::string> texts = errorTexts(result);
  EXPECT_THAT(texts,
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[1].endpoints.static[0]: \"nowhere\""),
                  HasSubstr("services[2].name: \"web\": duplicate service name"),
                  HasSubstr("services[2].listen: \"127.0.0.1:8080\": address already used")));
}

// A wildcard listener takes the specific address's connections too; [::] (IPv6 only)
// and 0.0.0.0 are separate, as are different ports (issue 10, finding 4).
TEST(ConfigLoader, ListenersThatOverlapAreAnError) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - {name: a, listen: 0.0.0.0:8080, endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: b, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: c, listen: "[::]:8080", endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: d, listen: 127.0.0.1:8081, endpoints: {static: ["127.0.0.1:5001"]}, reusePort: shared}
  - {name: e, listen: 127.0.0.2:8081, endpoints: {static: ["127.0.0.1:5001"]}, reusePort: maybe}
)");
  EXPECT_THAT(errorTexts(result),
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[1].listen: \"127.0.0.1:8080\": overlaps 0.0.0.0:8080 of "
                            "service a"),
                  HasSubstr("services[4].reusePort: \"maybe\"")));
}

// Buffers and connection limits are bounded like durations (issue 10, findings 5 and 7).
TEST(ConfigLoader, BufferSizesAndConnectionLimitsHaveBounds) {
  ConfigLoadResult good = loadConfigText(R"(
maxConnections: 10000
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]},
     bufferBytes: 16384, maxConnections: 100, maxConnectionsPerClient: 10}
)");
  ASSERT_TRUE(good.config);
  EXPECT_EQ(good.config->maxConnections, 10000);
  EXPECT_EQ(good.config->services[0].bufferBytes, 16384);
  EXPECT_EQ(good.config->services[0].maxConnections, 100);
  EXPECT_EQ(good.config->services[0].maxConnectionsPerClient, 10);
  ConfigLoadResult bad = loadConfigText(R"(
user: ""
maxConnections: -1
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]},
     bufferBytes: 1e12, maxConnectionsPerClient: -3}
)");
  EXPECT_THAT(errorTexts(bad),
              ::testing::UnorderedElementsAre(HasSubstr("user: \"\": must name a user"),
                                              HasSubstr("maxConnections"),
                                              HasSubstr("services[0].bufferBytes"),
                                              HasSubstr("services[0].maxConnectionsPerClient")));
}

// Issue 17: the 16 MiB ceiling of bufferBytes held only because 1e12 is no integer; an
// integer one past the ceiling must fail on the ceiling itself. maxFileBytes has bounds too.
TEST(ConfigLoader, BufferBytesAndMaxFileBytesStopAtTheirCeilings) {
  ConfigLoadResult atCeiling = loadConfigText(R"(
maxFileBytes: 1073741824
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]},
     bufferBytes: 16777216}
)");
  ASSERT_TRUE(atCeiling.config) << ::testing::PrintToString(errorTexts(atCeiling));
  EXPECT_EQ(atCeiling.config->services[0].bufferBytes, 16 << 20);
  EXPECT_EQ(atCeiling.config->maxFileBytes, size_t{1} << 30);
  ConfigLoadResult defaults = loadConfigText(R"(
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]}}
)");
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->maxFileBytes, size_t{64} << 20);
  ConfigLoadResult past = loadConfigText(R"(
maxFileBytes: 1023
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: ["127.0.0.1:5001"]},
     bufferBytes: 16777217}
)");
  EXPECT_THAT(errorTexts(past),
              ::testing::UnorderedElementsAre(HasSubstr("maxFileBytes"),
                                              HasSubstr("services[0].bufferBytes")));
}

// Before: `static: []` passed silently while every connection was reset.
TEST(ConfigLoader, AServiceWithoutEndpointsIsWarnedAbout) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - {name: web, listen: 127.0.0.1:8080, endpoints: {static: []}}
)");
  ASSERT_TRUE(result.config);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].path, "services[0].endpoints");
  EXPECT_THAT(result.warnings[0].message, HasSubstr("no endpoints"));
}

TEST(ConfigLoader, ConnectRetriesIsADeprecatedAliasOfRetries) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
    connectRetries: 1
)");
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->services[0].retries, 1);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].path, "services[0].connectRetries");
  EXPECT_NE(result.warnings[0].message.find("deprecated"), std::string::npos);
}

TEST(ConfigLoader, LoadsEveryFieldOfAFullConfig) {
  ConfigLoadResult result = loadConfigText(kFullConfig);
  ASSERT_TRUE(result.config) << ::testing::PrintToString(errorTexts(result));
  const Config& config = *result.config;
  EXPECT_EQ(config.admin.listen.toString(), "127.0.0.1:9911");
  EXPECT_TRUE(config.admin.readyRequiresBackends);
  EXPECT_EQ(config.workers, 3);
  ASSERT_EQ(config.services.size(), 1u);
  const ServiceConfig& web = config.services[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.listen.toString(), "0.0.0.0:8080");
  EXPECT_EQ(web.balance, BalanceKind::LeastConn);
  ASSERT_EQ(web.staticEndpoints.size(), 2u);
  EXPECT_EQ(web.staticEndpoints[1].toString(), "[::1]:5002");

  ASSERT_TRUE(web.readinessProbe);
  const ProbeSpec& readiness = *web.readinessProbe;
  EXPECT_EQ(readiness.handler, ProbeSpec::Handler::HttpGet);
  EXPECT_EQ(readiness.httpGet.path, "/ready");
  EXPECT_EQ(readiness.httpGet.port, 8081);
  EXPECT_TRUE(readiness.httpGet.https);
  EXPECT_EQ(readiness.httpGet.host, "example.internal");
  ASSERT_EQ(readiness.httpGet.headers.size(), 1u);
  EXPECT_EQ(readiness.httpGet.headers[0].name, "X-Probe");
  EXPECT_TRUE(readiness.httpGet.tls.verify);
  EXPECT_EQ(readiness.httpGet.tls.caFile, "/etc/ca.pem");
  EXPECT_EQ(readiness.httpGet.tls.serverName, "web.local");
  EXPECT_DOUBLE_EQ(readiness.initialDelaySeconds, 2);
  EXPECT_DOUBLE_EQ(readiness.periodSeconds, 0.5);
  EXPECT_DOUBLE_EQ(readiness.timeoutSeconds, 2);
  EXPECT_EQ(readiness.successThreshold, 2);
  EXPECT_EQ(readiness.failureThreshold, 4);

  ASSERT_TRUE(web.livenessProbe);
  EXPECT_EQ(web.livenessProbe->handler, ProbeSpec::Handler::TcpSocket);
  EXPECT_EQ(web.livenessProbe->tcpSocket.port, 5000);
  ASSERT_TRUE(web.startupProbe);
  EXPECT_EQ(web.startupProbe->exec.command,
            (std::vector<std::string>{"sh", "-c", "test -f /tmp/started"}));
  EXPECT_EQ(web.startupProbe->failureThreshold, 30);

  EXPECT_EQ(web.minReady, 1);
  EXPECT_DOUBLE_EQ(web.drainTimeoutSeconds, 12);
  EXPECT_DOUBLE_EQ(web.connectTimeoutSeconds, 0.25);
  EXPECT_DOUBLE_EQ(web.idleTimeoutSeconds, 60);
  EXPECT_EQ(web.retries, 2);
  EXPECT_EQ(web.mode, ProxyMode::Http);
  EXPECT_EQ(web.http.maxHeaderBytes, 16384);
  EXPECT_EQ(web.http.maxUrlBytes, 4096);
  EXPECT_DOUBLE_EQ(web.http.maxBodyBytes, 1048576);
  EXPECT_DOUBLE_EQ(web.http.headerTimeoutSeconds, 5);
  EXPECT_DOUBLE_EQ(web.http.keepAliveTimeoutSeconds, 30);
  EXPECT_DOUBLE_EQ(web.http.responseTimeoutSeconds, 20);
  EXPECT_DOUBLE_EQ(web.http.upstreamIdleTimeoutSeconds, 2);
  EXPECT_EQ(web.http.upstreamMaxIdle, 8);
  EXPECT_FALSE(web.http.forwardedHeaders);
  EXPECT_TRUE(web.http.via);
  EXPECT_EQ(web.whenNoneReady, WhenNoneReady::All);
}

TEST(ConfigLoader, AppliesKubernetesAndProxyDefaults) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - name: api
    listen: 127.0.0.1:9000
    endpoints: {static: ["127.0.0.1:9001"]}
    readinessProbe:
      httpGet: {}
)");
  ASSERT_TRUE(result.config) << ::testing::PrintToString(errorTexts(result));
  EXPECT_EQ(result.config->admin.listen.toString(), "127.0.0.1:9901");
  EXPECT_EQ(result.config->workers, 0);
  const ServiceConfig& api = result.config->services[0];
  EXPECT_EQ(api.mode, ProxyMode::Tcp);
  EXPECT_EQ(api.balance, BalanceKind::RoundRobin);
  EXPECT_EQ(api.whenNoneReady, WhenNoneReady::Reject);
  EXPECT_EQ(api.minReady, 0);
  EXPECT_DOUBLE_EQ(api.drainTimeoutSeconds, 30);
  const ProbeSpec& probe = *api.readinessProbe;
  EXPECT_EQ(probe.httpGet.path, "/");
  EXPECT_FALSE(probe.httpGet.port);
  EXPECT_FALSE(probe.httpGet.https);
  EXPECT_FALSE(probe.httpGet.tls.verify);
  EXPECT_DOUBLE_EQ(probe.initialDelaySeconds, 0);
  EXPECT_DOUBLE_EQ(probe.periodSeconds, 10);
  EXPECT_DOUBLE_EQ(probe.timeoutSeconds, 1);
  EXPECT_EQ(probe.successThreshold, 1);
  EXPECT_EQ(probe.failureThreshold, 3);
  EXPECT_FALSE(api.livenessProbe);
  EXPECT_FALSE(api.startupProbe);
}

TEST(ConfigLoader, ErrorNamesPathLineAndColumn) {
  ConfigLoadResult result = loadConfigText(
      "services:\n"
      "  - name: web\n"
      "    endpoints: {static: [\"127.0.0.1:5001\"]}\n"
      "    listen: \"0.0.0.0:80x\"\n");
  ASSERT_FALSE(result.config);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].toString(),
            "services[0].listen: \"0.0.0.0:80x\": invalid port (line 4, column 13)");
}

/// One bad value per row, inside an otherwise valid service: the error must name the
/// path and say what is wrong.
struct BadValueCase {
  const char* field;    // YAML lines put into the service (4-space indented)
  const char* path;     // expected path in the error
  const char* message;  // expected part of the message
};

class ConfigBadValue : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(ConfigBadValue, IsReportedWithPath) {
  const BadValueCase& c = GetParam();
  std::string yaml = std::string("services:\n  - name: web\n    listen: 127.0.0.1:8080\n") +
                     "    endpoints: {static: [\"127.0.0.1:5001\"]}\n" + c.field;
  ConfigLoadResult result = loadConfigText(yaml);
  ASSERT_FALSE(result.config) << "accepted: " << c.field;
  std::vector<std::string> texts = errorTexts(result);
  ASSERT_EQ(texts.size(), 1u) << ::testing::PrintToString(texts);
  EXPECT_THAT(texts[0], HasSubstr(std::string(c.path) + ":"));
  EXPECT_THAT(texts[0], HasSubstr(c.message));
  EXPECT_THAT(texts[0], HasSubstr("(line "));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ConfigBadValue,
    ::testing::Values(
        BadValueCase{"    mode: udp\n", "services[0].mode", "must be one of tcp, http"},
        BadValueCase{"    mode: udp\n", "services[0].mode", "must be one of tcp, http"},
        BadValueCase{"    http: {maxHeaderBytes: 10}\n", "services[0].http.maxHeaderBytes",
                     "must be between 1024 and 1048576"},
        BadValueCase{"    http: {maxBodyBytes: 1.5}\n", "services[0].http.maxBodyBytes",
                     "whole number of bytes"},
        BadValueCase{"    http: {keepAlive: 3}\n", "services[0].http.keepAlive", "unknown key"},
        BadValueCase{"    http: {trustedProxies: [10.0.0.1/8]}\n",
                     "services[0].http.trustedProxies[0]", "host bits are set"},
        BadValueCase{"    retries: 1\n    connectRetries: 1\n", "services[0].connectRetries",
                     "not both"},
        BadValueCase{"    balance: fastest\n", "services[0].balance",
                     "must be one of round_robin, least_conn, random_two"},
        BadValueCase{"    minReady: -1\n", "services[0].minReady", "must be at least 0"},
        BadValueCase{"    minReady: two\n", "services[0].minReady", "must be an integer"},
        BadValueCase{"    drainTimeoutSeconds: soon\n", "services[0].drainTimeoutSeconds",
                     "must be a number of seconds"},
        BadValueCase{"    connectTimeoutSeconds: 0\n", "services[0].connectTimeoutSeconds",
                     "must be at least"},
        BadValueCase{"    connectRetries: 99\n", "services[0].connectRetries",
                     "must be between 0 and 16"},
        BadValueCase{"    whenNoneReady: maybe\n", "services[0].whenNoneReady",
                     "must be one of reject, all"},
        BadValueCase{"    lisen: 1.2.3.4:5\n", "services[0].lisen",
                     "unknown key (did you mean \"listen\"?)"},
        BadValueCase{"    readinessProbe: {httpGet: {path: ready}}\n",
                     "services[0].readinessProbe.httpGet.path", "must start with '/'"},
        BadValueCase{"    readinessProbe: {httpGet: {port: http}}\n",
                     "services[0].readinessProbe.httpGet.port", "named ports are not supported"},
        BadValueCase{"    readinessProbe: {httpGet: {port: 70000}}\n",
                     "services[0].readinessProbe.httpGet.port", "between 1 and 65535"},
        BadValueCase{"    readinessProbe: {httpGet: {scheme: FTP}}\n",
                     "services[0].readinessProbe.httpGet.scheme", "must be one of HTTP, HTTPS"},
        BadValueCase{
            "    readinessProbe: {httpGet: {httpHeaders: [{name: 'Bad Name', value: x}]}}\n",
            "services[0].readinessProbe.httpGet.httpHeaders[0].name", "not a valid header name"},
        BadValueCase{"    readinessProbe: {httpGet: {httpHeaders: [{name: X}]}}\n",
                     "services[0].readinessProbe.httpGet.httpHeaders[0].value", "required"},
        BadValueCase{"    readinessProbe: {periodSeconds: 5}\n", "services[0].readinessProbe",
                     "needs one handler"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, exec: {command: [true]}}\n",
                     "services[0].readinessProbe", "only one handler"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, periodSeconds: 0}\n",
                     "services[0].readinessProbe.periodSeconds", "must be at least 0.01"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, timeoutSeconds: -1}\n",
                     "services[0].readinessProbe.timeoutSeconds", "must be at least 0.01"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, failureThreshold: 0}\n",
                     "services[0].readinessProbe.failureThreshold", "must be at least 1"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, initialDelaySeconds: -2}\n",
                     "services[0].readinessProbe.initialDelaySeconds", "must be at least 0"},
        BadValueCase{"    livenessProbe: {tcpSocket: {}, successThreshold: 2}\n",
                     "services[0].livenessProbe.successThreshold", "must be 1 for a liveness"},
        BadValueCase{"    startupProbe: {tcpSocket: {}, successThreshold: 3}\n",
                     "services[0].startupProbe.successThreshold", "must be 1 for a startup"},
        BadValueCase{"    readinessProbe: {exec: {command: []}}\n",
                     "services[0].readinessProbe.exec.command", "must name a program"},
        BadValueCase{"    readinessProbe: {exec: {command: \"ps -ef | grep python\"}}\n",
                     "services[0].readinessProbe.exec.command", "must be a list"},
        BadValueCase{"    readinessProbe: {grpc: {service: web}}\n",
                     "services[0].readinessProbe.grpc.port", "required"},
        BadValueCase{"    readinessProbe: {tcpSocket: {prot: 80}}\n",
                     "services[0].readinessProbe.tcpSocket.prot", "did you mean \"port\"?"},
        BadValueCase{"    readinessProbe: {tcpSocket: {}, failureTreshold: 2}\n",
                     "services[0].readinessProbe.failureTreshold",
                     "did you mean \"failureThreshold\"?"}));

TEST(ConfigLoader, BadAddressesSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"0.0.0.0", "missing port"},
      {"0.0.0.0:", "missing port"},
      {"0.0.0.0:99999", "invalid port"},
      {"::1:80", "IPv6 addresses must be written in brackets"},
      {"[::1:80", "missing ']'"},
      {"web.local:80", "numeric IPv4 or IPv6 address"},
      {"127.0.0.1:0", "port must be between 1 and 65535"},
  };
  for (const auto& [address, message] : cases) {
    std::string yaml = std::string("services:\n  - name: web\n    listen: \"") + address +
                       "\"\n    endpoints: {static: [\"127.0.0.1:5001\"]}\n";
    ConfigLoadResult result = loadConfigText(yaml);
    ASSERT_EQ(result.errors.size(), 1u) << address;
    EXPECT_THAT(result.errors[0].toString(), HasSubstr(message)) << address;
    EXPECT_THAT(result.errors[0].toString(), HasSubstr("services[0].listen")) << address;
  }
}

TEST(ConfigLoader, ReportsAllErrorsAtOnceAcrossServices) {
  ConfigLoadResult result = loadConfigText(R"(
workers: many
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001", "127.0.0.1:5001"]}
    balance: nope
  - name: "bad name"
    endpoints: {static: ["nowhere"]}
  - name: ok
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:5003"], dns: {name: x}}
typo: 1
)");
  ASSERT_FALSE(result.config);
  std::vector<std::string> texts = errorTexts(result);
  EXPECT_THAT(texts, ::testing::UnorderedElementsAre(
                         HasSubstr("workers: \"many\": must be an integer (line 2"),
                         HasSubstr("services[0].endpoints.static[1]: \"127.0.0.1:5001\": "
                                   "duplicate endpoint"),
                         HasSubstr("services[0].balance: \"nope\""),
                         HasSubstr("services[1].name: \"bad name\""),
                         HasSubstr("services[1].listen: required"),
                         HasSubstr("services[1].endpoints.static[0]: \"nowhere\": missing port"),
                         HasSubstr("services[2].endpoints.dns.port: required"),
                         HasSubstr("typo: unknown key (line 13, column 1)")));
}

TEST(ConfigLoader, RejectsDuplicateNamesAndListenAddresses) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - {name: web, listen: "127.0.0.1:8080", endpoints: {static: ["127.0.0.1:5001"]}}
  - {name: web, listen: "127.0.0.1:8080", endpoints: {static: ["127.0.0.1:5002"]}}
)");
  std::vector<std::string> texts = errorTexts(result);
  EXPECT_THAT(texts,
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[1].name: \"web\": duplicate service name"),
                  HasSubstr("services[1].listen: \"127.0.0.1:8080\": address already used")));
}

TEST(ConfigLoader, RejectsDuplicateKeys) {
  ConfigLoadResult result = loadConfigText(R"(
services:
  - name: web
    name: web2
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
)");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].toString(), "services[0].name: duplicate key (line 4, column 5)");
}

TEST(ConfigLoader, StructuralErrors) {
  EXPECT_THAT(errorTexts(loadConfigText("")), ::testing::ElementsAre("configuration is empty"));
  EXPECT_THAT(errorTexts(loadConfigText("services: []\n")),
              ::testing::ElementsAre(HasSubstr("services: needs at least one service")));
  EXPECT_THAT(errorTexts(loadConfigText("services: web\n")),
              ::testing::ElementsAre(HasSubstr("services: must be a list")));
  EXPECT_THAT(errorTexts(loadConfigText("admin: {}\n")),
              ::testing::ElementsAre(HasSubstr("services: required")));
  EXPECT_THAT(errorTexts(loadConfigText("- just\n- a list\n")),
              ::testing::ElementsAre(HasSubstr("must be a mapping")));
  EXPECT_THAT(errorTexts(loadConfigText("services:\n  - name: [unclosed\n")),
              ::testing::ElementsAre(HasSubstr("YAML syntax error")));
}

TEST(ConfigLoader, MissingFileIsAnError) {
  ConfigLoadResult result = loadConfigFile("/nonexistent/readygate.yaml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0].toString(), HasSubstr("cannot read /nonexistent/readygate.yaml"));
}

}  // namespace
}  // namespace readygate

namespace readygate {
namespace {

TEST(ConfigLoader, ListenerTlsProxyProtocolRedirectAndHsts) {
  ConfigLoadResult good = loadConfigText(R"(
services:
  - name: web
    listen: 127.0.0.1:8443
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    tls:
      certificates: [{cert: /etc/tls/a.crt, key: /etc/tls/a.key}, {cert: b.crt, key: b.key}]
      minVersion: "1.3"
      strictSni: true
      handshakeTimeoutSeconds: 3
    proxyProtocol: {accept: v2, from: [10.0.0.0/8, "::1/128"]}
    sendProxyProtocol: v1
    hsts: {maxAgeSeconds: 600, includeSubDomains: true, preload: true}
  - name: plain
    listen: 127.0.0.1:8080
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    redirectToHttps: {port: 8443, status: 308}
)");
  ASSERT_TRUE(good.config) << ::testing::PrintToString(errorTexts(good));
  const ServiceConfig& web = good.config->services[0];
  ASSERT_TRUE(web.tls);
  EXPECT_EQ(web.tls->certificates.size(), 2u);
  EXPECT_EQ(web.tls->certificates[1].key, "b.key");
  EXPECT_TRUE(web.tls->tls13Only);
  EXPECT_TRUE(web.tls->strictSni);
  EXPECT_EQ(web.tls->handshakeTimeoutSeconds, 3);
  ASSERT_TRUE(web.proxyProtocol);
  EXPECT_EQ(web.proxyProtocol->accept, ProxyProtocolVersion::V2);
  EXPECT_EQ(web.proxyProtocol->from.size(), 2u);
  EXPECT_EQ(web.sendProxyProtocol, ProxyProtocolVersion::V1);
  ASSERT_TRUE(web.hsts);
  EXPECT_TRUE(web.hsts->preload);
  ASSERT_TRUE(good.config->services[1].redirectToHttps);
  EXPECT_EQ(good.config->services[1].redirectToHttps->status, 308);

  ConfigLoadResult bad = loadConfigText(R"(
services:
  - name: a
    listen: 127.0.0.1:8443
    endpoints: {static: ["127.0.0.1:5001"]}
    tls: {certificates: [], minVersion: "1.1", handshakeTimeoutSeconds: 1000}
    proxyProtocol: {accept: v3}
    sendProxyProtocol: any
    hsts: {}
  - name: b
    listen: 127.0.0.1:8444
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    tls: {certificates: [{cert: ""}]}
    redirectToHttps: {status: 302}
  - name: c
    listen: 127.0.0.1:8445
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    hsts: {maxAgeSeconds: 60}
)");
  EXPECT_THAT(errorTexts(bad),
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[0].tls.certificates: needs at least one certificate"),
                  HasSubstr("services[0].tls.minVersion"),
                  HasSubstr("services[0].tls.handshakeTimeoutSeconds"),
                  HasSubstr("services[0].proxyProtocol.accept"),
                  HasSubstr("services[0].proxyProtocol.from: required"),
                  HasSubstr("services[0].sendProxyProtocol"),
                  HasSubstr("services[0].hsts: needs mode: http"),
                  HasSubstr("services[1].tls.certificates[0].cert"),
                  HasSubstr("services[1].tls.certificates[0].key: required"),
                  HasSubstr("services[1].redirectToHttps.status"),
                  HasSubstr("services[1].redirectToHttps: is for a plaintext listener"),
                  HasSubstr("services[2].hsts: needs tls")));
}

}  // namespace
}  // namespace readygate

namespace readygate {
namespace {

TEST(ConfigLoader, ClientAuthAndItsSubjectHeader) {
  ConfigLoadResult good = loadConfigText(R"(
services:
  - name: web
    listen: 127.0.0.1:8443
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    tls:
      certificates: [{cert: a.crt, key: a.key}]
      clientAuth: {mode: optional, ca: ca.crt, crl: ca.crl}
      clientSubjectHeader: X-Client-Cert
)");
  ASSERT_TRUE(good.config) << ::testing::PrintToString(errorTexts(good));
  const ListenerTls& tls = *good.config->services[0].tls;
  ASSERT_TRUE(tls.clientAuth);
  EXPECT_FALSE(tls.clientAuth->required);
  EXPECT_EQ(tls.clientAuth->crl, "ca.crl");
  EXPECT_EQ(tls.clientSubjectHeader, "X-Client-Cert");
  ConfigLoadResult bad = loadConfigText(R"(
services:
  - name: a
    listen: 127.0.0.1:8443
    endpoints: {static: ["127.0.0.1:5001"]}
    tls:
      certificates: [{cert: a.crt, key: a.key}]
      clientAuth: {mode: sometimes}
      clientSubjectHeader: "X Client"
  - name: b
    listen: 127.0.0.1:8444
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    tls: {certificates: [{cert: a.crt, key: a.key}], clientSubjectHeader: X-Client}
)");
  EXPECT_THAT(errorTexts(bad),
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[0].tls.clientAuth.mode"),
                  HasSubstr("services[0].tls.clientAuth.ca: required"),
                  HasSubstr("services[0].tls.clientSubjectHeader: \"X Client\": must be a header name"),
                  HasSubstr("services[1].tls.clientSubjectHeader: needs clientAuth")));
}

}  // namespace
}  // namespace readygate

namespace readygate {
namespace {

TEST(ConfigLoader, UpstreamTlsVerifiesByDefault) {
  ConfigLoadResult good = loadConfigText(R"(
services:
  - name: full
    listen: 127.0.0.1:8080
    mode: http
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: {ca: ca.crt, serverName: API.Internal, cert: me.crt, key: me.key}
  - name: short
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: true
  - name: off
    listen: 127.0.0.1:8082
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: false
  - name: trusting
    listen: 127.0.0.1:8083
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: {verify: false}
)");
  ASSERT_TRUE(good.config) << ::testing::PrintToString(errorTexts(good));
  const auto& services = good.config->services;
  ASSERT_TRUE(services[0].upstreamTls);
  EXPECT_TRUE(services[0].upstreamTls->verify);
  EXPECT_EQ(services[0].upstreamTls->serverName, "api.internal");
  EXPECT_EQ(services[0].upstreamTls->cert, "me.crt");
  ASSERT_TRUE(services[1].upstreamTls);
  EXPECT_TRUE(services[1].upstreamTls->verify);
  EXPECT_TRUE(services[1].upstreamTls->ca.empty()) << "the system's CAs";
  EXPECT_FALSE(services[2].upstreamTls);
  ASSERT_TRUE(services[3].upstreamTls);
  EXPECT_FALSE(services[3].upstreamTls->verify);
  ASSERT_EQ(good.warnings.size(), 1u);
  EXPECT_THAT(good.warnings[0].toString(), HasSubstr("services[3].upstreamTls.verify"));

  ConfigLoadResult bad = loadConfigText(R"(
services:
  - name: a
    listen: 127.0.0.1:8080
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: {cert: me.crt, serverName: "two words", verfiy: true}
  - name: b
    listen: 127.0.0.1:8081
    endpoints: {static: ["127.0.0.1:5001"]}
    upstreamTls: {verify: false, ca: ca.crt, key: ""}
)");
  EXPECT_THAT(errorTexts(bad),
              ::testing::UnorderedElementsAre(
                  HasSubstr("services[0].upstreamTls.serverName: \"two words\""),
                  HasSubstr("services[0].upstreamTls: cert and key go together"),
                  HasSubstr("services[0].upstreamTls.verfiy"),
                  HasSubstr("services[1].upstreamTls.key: \"\": must name a PEM file"),
                  HasSubstr("services[1].upstreamTls.ca: is unused with verify: false")));
}

}  // namespace
}  // namespace readygate

namespace readygate {
namespace {

TEST(ConfigLoader, TheKubernetesSourceIsChecked) {
  ConfigLoadResult good = loadConfigText(R"(
kubernetes: {kubeconfig: /home/me/.kube/config}
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {kubernetes: {service: web, namespace: shop, port: http, family: ipv4,
                             staleWatchSeconds: 60}}
  - name: api
    listen: 127.0.0.1:8081
    endpoints: {kubernetes: {service: api, port: 8443}}
  - name: unnamed
    listen: 127.0.0.1:8082
    endpoints: {kubernetes: {service: unnamed, port: ""}}
)");
  ASSERT_TRUE(good.config) << errorTexts(good)[0];
  EXPECT_EQ(good.config->kubernetes.kubeconfig, "/home/me/.kube/config");
  const auto& web = *good.config->services[0].endpointsKubernetes;
  EXPECT_EQ(web.service, "web");
  EXPECT_EQ(web.namespaceName, "shop");
  EXPECT_EQ(web.portName, "http");
  EXPECT_EQ(web.family, DnsEndpoints::Family::IPv4);
  EXPECT_EQ(web.staleWatchSeconds, 60);
  const auto& api = *good.config->services[1].endpointsKubernetes;
  EXPECT_EQ(api.portNumber, 8443);
  EXPECT_EQ(api.namespaceName, "");
  EXPECT_EQ(api.staleWatchSeconds, 180);
  EXPECT_EQ(good.config->services[2].endpointsKubernetes->portName, "");

  ConfigLoadResult bad = loadConfigText(R"(
kubernetes: {kubeconfig: "", contexts: x}
services:
  - name: web
    listen: 127.0.0.1:8080
    endpoints: {kubernetes: {service: Web_1, namespace: "a.b", port: 70000, family: ipx,
                             staleWatchSeconds: 5, selector: app=web}}
  - name: api
    listen: 127.0.0.1:8081
    endpoints: {kubernetes: {port: "HTTP"}}
)");
  ASSERT_FALSE(bad.config);
  EXPECT_THAT(errorTexts(bad),
              ::testing::UnorderedElementsAre(
                  HasSubstr("kubernetes.kubeconfig: \"\": must not be empty"),
                  HasSubstr("kubernetes.contexts: unknown key"),
                  HasSubstr("services[0].endpoints.kubernetes.service: \"Web_1\": must be a "
                            "Kubernetes name"),
                  HasSubstr("services[0].endpoints.kubernetes.namespace: \"a.b\""),
                  HasSubstr("services[0].endpoints.kubernetes.port: \"70000\""),
                  HasSubstr("services[0].endpoints.kubernetes.family: \"ipx\""),
                  HasSubstr("services[0].endpoints.kubernetes.staleWatchSeconds: \"5\""),
                  HasSubstr("services[0].endpoints.kubernetes.selector: unknown key"),
                  HasSubstr("services[1].endpoints.kubernetes.service: required"),
                  HasSubstr("services[1].endpoints.kubernetes.port: \"HTTP\": must be a port "
                            "number or a port name")));
}

}  // namespace
}  // namespace readygate
