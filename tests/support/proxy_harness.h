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
  std::string host;
  int port = 0;
  std::unique_ptr<ChildProcess> process;

  /// "127.0.0.2:5001" or "[::1]:5001", as readygate names the backend.
  std::string address() const {
    std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return bracketed + ":" + std::to_string(port);
  }
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
  /// Writes `yaml` and starts readygate on it; waits until its admin API answers (by
  /// then every listener is bound). Without an `admin:` block one is added on a free port.
  ChildProcess& startReadygate(const std::string& yaml);
  /// The same with stderr on `outputFd` instead of the log file, and `extraArgs`.
  ChildProcess& startReadygateWithOutput(const std::string& yaml, int outputFd,
                                         std::vector<std::string> extraArgs);
  ChildProcess& readygate() { return *readygate_; }
  /// A command readygate is started under (`unshare --pid --fork` to run it as PID 1, say).
  void setLauncher(std::vector<std::string> prefix) { launcher_ = std::move(prefix); }
  std::string readygateLog() const;
  int adminPort() const { return adminPort_; }

  /// A certificate and key for `name`, made now with openssl; {"", ""} on failure.
  std::pair<std::string, std::string> selfSignedCertificate(const std::string& name);

  /// GET on the admin API; the body, or "" when it did not answer.
  std::string admin(const std::string& path) const;
  /// One field of one backend in /status ("state", "reason", "connect_failures", ...);
  /// string values without quotes, "" when not found.
  std::string backendField(const std::string& backend, const std::string& field) const;
  std::string backendState(const std::string& backend) const {
    return backendField(backend, "state");
  }
  /// The value of one series in /metrics, by its exact name and label text as readygate
  /// prints it (`readygate_backend_ready{service="web",backend="127.0.0.1:5001"}`);
  /// nullopt when the series is absent.
  std::optional<double> metric(const std::string& series) const;
  /// POST on the admin API (with Host set as a browser would for this address, and
  /// `setAdminPostHeaders`); status line and body.
  std::string adminPost(const std::string& path) const;
  /// Extra header lines ("Name: value\r\n") for adminPost, e.g. Authorization.
  void setAdminPostHeaders(std::string headers) { adminPostHeaders_ = std::move(headers); }
  /// Waits (bounded) until `backend` is in `state`.
  bool waitForState(const std::string& backend, const std::string& state,
                    std::chrono::milliseconds timeout = 10s) const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<FakePod>> pods_;
  std::unique_ptr<ChildProcess> readygate_;
  int adminPort_ = 0;
  std::string adminPostHeaders_;
  std::vector<std::string> launcher_;
};

/// A config with `workers: 2` and one service "web" listening on `listenHost`:`listenPort`
/// with these static endpoints; `extra` is appended (4-space indented service keys).
std::string serviceConfig(int listenPort, const std::vector<std::string>& endpoints,
                          const std::string& extra = "",
                          const std::string& listenHost = "127.0.0.1");

/// `text` (a raw-string YAML template) with every `${name}` replaced by its value, so
/// tests write configs as they read instead of gluing strings together.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

/// The body of an HTTP response (after the blank line).
std::string httpBody(const std::string& response);
/// One JSON field's value out of `object` (first match; strings without quotes).
std::string jsonField(const std::string& object, const std::string& field);

/// The readygate and fakepod binaries of this build.
std::string readygateBinary();
std::string fakepodBinary();

}  // namespace testing_support
