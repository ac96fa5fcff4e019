// A real child process for integration tests: spawn, signal, wait with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

/// Owns a child process; kills it (SIGKILL) on destruction if it still runs.
class ChildProcess {
 public:
  /// Starts argv[0] with argv; stdout and stderr go to `logFile` when given (so a failing
  /// test can print what the process said), else are inherited.
  ChildProcess(std::vector<std::string> argv, std::string logFile = "");
  /// The same, with stdout and stderr on `outputFd` (a pipe the test holds, say).
  ChildProcess(std::vector<std::string> argv, int outputFd);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal);
  /// Exit status if it exits within `timeout` (128+N when killed by signal N).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  bool running();
  /// What the process wrote so far (empty when no log file).
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exitStatus_;
  std::string logFile_;
};

/// A /proc file of a process that may exit while it is read: "" then, never a throw
/// (libstdc++'s filebuf throws when read() fails with ESRCH half way).
std::string readProcFile(const std::filesystem::path& path);
/// Processes (from /proc) whose command line is exactly `argv`.
std::vector<pid_t> processesRunning(const std::vector<std::string>& argv);
/// `pid`'s children and their state letter from /proc ('Z' for a zombie).
std::vector<std::pair<pid_t, char>> childrenOf(pid_t pid);

}  // namespace testing_support
