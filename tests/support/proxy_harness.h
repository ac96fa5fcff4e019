// Integration-test harness: a temp dir, fake pods and a readygate process on loopback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/net_helpers.h"

namespace testing_support {

struct FakePod {
  std::string name;
  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

/// Starts real processes and cleans them up; on a failed test prints what each said.
class ProxyHarness {
 public:
  ProxyHarness();
  ~ProxyHarness();

  const std::string& dir() const { return dir_; }
  std::string writeFile(const std::string& name, const std::string& content);

  /// Starts a fakepod on a free port and waits (bounded) until it accepts; `args` are
  /// extra fakepod flags. With `waitListening` false it returns at once (startup delay tests).
  FakePod& startPod(const std::string& name, std::vector<std::string> args = {},
                    bool waitListening = true, const std::string& host = "127.0.0.1");
  /// Writes `yaml` and starts readygate on it; waits until `port` accepts connections.
  ChildProcess& startReadygate(const std::string& yaml, int port,
                               const std::string& host = "127.0.0.1");
  ChildProcess& readygate() { return *readygate_; }
  std::string readygateLog() const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<FakePod>> pods_;
  std::unique_ptr<ChildProcess> readygate_;
};

/// The readygate and fakepod binaries of this build.
std::string readygateBinary();
std::string fakepodBinary();

}  // namespace testing_support
