// ProxyHarness implementation.
#include "tests/support/proxy_harness.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace testing_support {

std::string readygateBinary() { return READYGATE_BIN; }
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
  pod->port = freePort(host.c_str());
  std::vector<std::string> argv = {fakepodBinary(), "--name", name, "--host", host, "--port",
                                   std::to_string(pod->port)};
  argv.insert(argv.end(), args.begin(), args.end());
  pod->process = std::make_unique<ChildProcess>(argv, dir_ + "/pod-" + name + ".log");
  if (waitListening) {
    int port = pod->port;
    bool up = waitUntil([&] { return canConnect(host, port); }, 5s);
    EXPECT_TRUE(up) << "fakepod " << name << " did not start listening";
  }
  pods_.push_back(std::move(pod));
  return *pods_.back();
}

ChildProcess& ProxyHarness::startReadygate(const std::string& yaml, int port,
                                           const std::string& host) {
  std::string config = writeFile("readygate.yaml", yaml);
  readygate_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{readygateBinary(), "-c", config, "--log-level", "debug"},
      dir_ + "/readygate.log");
  // The log line says every listener is bound; connecting alone could reach a stranger.
  bool up = waitUntil(
      [&] {
        return readygateLog().find("event=listening") != std::string::npos ||
               !readygate_->running();
      },
      5s);
  EXPECT_TRUE(up && readygate_->running()) << "readygate did not start listening";
  EXPECT_TRUE(canConnect(host, port));
  return *readygate_;
}

std::string ProxyHarness::readygateLog() const {
  return readygate_ ? readygate_->output() : std::string();
}

}  // namespace testing_support
