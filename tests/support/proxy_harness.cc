// ProxyHarness implementation.
#include "tests/support/proxy_harness.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

namespace testing_support {

// READYGATE_UNDER_TEST runs the suite against another build (an older one, to see a
// new test fail on the code it was written against).
std::string readygateBinary() {
  const char* other = std::getenv("READYGATE_UNDER_TEST");
  return other != nullptr && *other != 0 ? other : READYGATE_BIN;
}
std::string fakepodBinary() { return FAKEPOD_BIN; }

ProxyHarness::ProxyHarness() {
  std::string pattern = (std::filesystem::temp_directory_path() / "readygate-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
}

ProxyHarness::~ProxyHarness() {
  bool failed = ::testing::Test::HasFailure();
  if (failed && readygate_) std::cerr << "---- readygate output ----\n" << readygateLog();
  readygate_.reset();
  for (auto& pod : pods_) {
    if (failed) std::cerr << "---- fakepod " << pod->name << " ----\n" << pod->process->output();
  }
  pods_.clear();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ProxyHarness::writeFile(const std::string& name, const std::string& content) {
  std::string path = dir_ + "/" + name;
  std::ofstream(path) << content;
  return path;
}

FakePod& ProxyHarness::startPod(const std::string& name, std::vector<std::string> args,
                                bool waitListening, const std::string& host) {
  auto pod = std::make_unique<FakePod>();
  pod->name = name;
  pod->host = host;
  // A free port can be taken by a test running in parallel before the pod binds it
  // ("Address already in use"): a pod that exits at once gets another port.
  for (int attempt = 0; attempt < 5; ++attempt) {
    pod->port = freePort(host.c_str());
    std::vector<std::string> argv = {
        fakepodBinary(), "--name", name, "--host", host, "--port", std::to_string(pod->port)};
    argv.insert(argv.end(), args.begin(), args.end());
    pod->process = std::make_unique<ChildProcess>(argv, dir_ + "/pod-" + name + ".log");
    if (!waitListening) break;
    int port = pod->port;
    // 10 s: a sanitized fakepod loading TLS material beside a load test on two cores is slow.
    bool up = waitUntil([&] { return canConnect(host, port) || !pod->process->running(); }, 10s) &&
              canConnect(host, port);
    if (up) break;
    bool portTaken = pod->process->output().find("Address already in use") != std::string::npos;
    if (!portTaken || attempt == 4) {
      ADD_FAILURE() << "fakepod " << name << " did not start listening";
      break;
    }
  }
  pods_.push_back(std::move(pod));
  return *pods_.back();
}

ChildProcess& ProxyHarness::startReadygate(const std::string& yaml) {
  return startReadygateWithOutput(yaml, -1, {});
}

ChildProcess& ProxyHarness::startReadygateWithOutput(const std::string& yaml, int outputFd,
                                                     std::vector<std::string> extraArgs) {
  std::string full = yaml;
  if (yaml.find("admin:") == std::string::npos) {
    adminPort_ = freePort();
    full =
        fill("admin: {listen: \"127.0.0.1:${port}\"}\n", {{"port", std::to_string(adminPort_)}}) +
        yaml;
  } else {
    std::smatch match;
    if (std::regex_search(yaml, match, std::regex("listen: \"?127\\.0\\.0\\.1:([0-9]+)"))) {
      adminPort_ = std::stoi(match[1]);
    }
  }
  std::string config = writeFile("readygate.yaml", full);
  std::vector<std::string> argv = launcher_;
  argv.insert(argv.end(), {readygateBinary(), "-c", config, "--log-level", "debug"});
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  readygate_ = outputFd >= 0 ? std::make_unique<ChildProcess>(argv, outputFd)
                             : std::make_unique<ChildProcess>(argv, dir_ + "/readygate.log");
  // The admin API answers once every listener is bound (it starts after them); /healthz
  // needs no token.
  bool up = waitUntil([&] { return admin("/healthz") == "ok\n" || !readygate_->running(); }, 5s);
  EXPECT_TRUE(up && readygate_->running()) << "readygate did not start listening";
  // No test connection here: it would take a turn of the balancer behind the test's back.
  return *readygate_;
}

std::string serviceConfig(int listenPort, const std::vector<std::string>& endpoints,
                          const std::string& extra, const std::string& listenHost) {
  std::string bracketed =
      listenHost.find(':') != std::string::npos ? "[" + listenHost + "]" : listenHost;
  std::string list;
  for (const std::string& endpoint : endpoints) {
    if (!list.empty()) list += ", ";
    list += "\"" + endpoint + "\"";
  }
  return fill(R"(workers: 2
services:
  - name: web
    listen: "${listen}"
    endpoints: {static: [${endpoints}]}
)",
              {{"listen", bracketed + ":" + std::to_string(listenPort)}, {"endpoints", list}}) +
         extra;
}

std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    std::string placeholder = "${" + name + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string httpBody(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string jsonField(const std::string& object, const std::string& field) {
  std::smatch match;
  std::regex pattern("\"" + field + "\":(\"((\\\\.|[^\"\\\\])*)\"|[^,}\\]]*)");
  if (!std::regex_search(object, match, pattern)) return "";
  return match[2].matched ? match[2].str() : match[1].str();
}

std::string ProxyHarness::admin(const std::string& path) const {
  if (adminPort_ == 0) return "";
  return httpBody(httpGet("127.0.0.1", adminPort_, path, 2s));
}

std::string ProxyHarness::backendField(const std::string& backend, const std::string& field) const {
  std::string status = admin("/status");
  size_t start = status.find("{\"address\":\"" + backend + "\"");
  if (start == std::string::npos) return "";
  size_t end = status.find("{\"address\":", start + 1);
  return jsonField(status.substr(start, end == std::string::npos ? end : end - start), field);
}

std::pair<std::string, std::string> ProxyHarness::selfSignedCertificate(const std::string& name) {
  std::string key = dir_ + "/" + name + ".key";
  std::string cert = dir_ + "/" + name + ".crt";
  ChildProcess openssl(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
       cert, "-days", "1", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name},
      dir_ + "/openssl-" + name + ".log");
  if (openssl.waitExit(30s) != 0) {
    ADD_FAILURE() << "openssl failed: " << openssl.output();
    return {"", ""};
  }
  return {cert, key};
}

std::optional<double> ProxyHarness::metric(const std::string& series) const {
  std::string text = admin("/metrics");
  std::string prefix = series + " ";
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + 1 + prefix.size()));
}

std::string ProxyHarness::adminPost(const std::string& path) const {
  auto client = TcpClient::connect("127.0.0.1", adminPort_);
  if (!client) return "";
  client->sendAll("POST " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(adminPort_) +
                  "\r\nContent-Length: 0\r\n" + adminPostHeaders_ + "\r\n");
  return client->receive(1 << 20, 3s);
}

bool ProxyHarness::waitForState(const std::string& backend, const std::string& state,
                                std::chrono::milliseconds timeout) const {
  return waitUntil([&] { return backendState(backend) == state; }, timeout, 20ms);
}

std::string ProxyHarness::readygateLog() const {
  return readygate_ ? readygate_->output() : std::string();
}

}  // namespace testing_support
