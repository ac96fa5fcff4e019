// ChildProcess implementation.
#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testing_support {

namespace {

/// fork + execv of `argv`; `outputFd` (when >= 0) becomes the child's stdout and stderr.
pid_t spawn(std::vector<std::string>& argv, int outputFd) {
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (outputFd >= 0) {
      dup2(outputFd, STDOUT_FILENO);
      dup2(outputFd, STDERR_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string logFile)
    : logFile_(std::move(logFile)) {
  int fd = logFile_.empty()
               ? -1
               : open(logFile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = spawn(argv, fd);
  if (fd >= 0) close(fd);
}

ChildProcess::ChildProcess(std::vector<std::string> argv, int outputFd) {
  pid_ = spawn(argv, outputFd);
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitExit(std::chrono::seconds(5));
  }
}

void ChildProcess::signal(int signal) {
  if (pid_ > 0 && !exitStatus_) kill(pid_, signal);
}

bool ChildProcess::running() {
  if (exitStatus_) return false;
  return !waitExit(std::chrono::milliseconds(0));
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  if (exitStatus_) return exitStatus_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exitStatus_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ChildProcess::output() const {
  if (logFile_.empty()) return "";
  std::ifstream file(logFile_);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string readProcFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(got));
  ::close(fd);
  return got < 0 ? "" : text;
}

std::vector<pid_t> processesRunning(const std::vector<std::string>& argv) {
  std::string wanted;
  for (const std::string& arg : argv) wanted += arg + '\0';
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = readProcFile(entry.path() / "cmdline");
    if (cmdline == wanted) found.push_back(std::stoi(name));
  }
  return found;
}

std::vector<std::pair<pid_t, char>> childrenOf(pid_t pid) {
  std::vector<std::pair<pid_t, char>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // /proc/N/stat: "N (comm) S PPID ..."; comm may hold spaces, so read after the last ')'.
    std::string stat = readProcFile(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == pid) children.emplace_back(std::stoi(name), state);
  }
  return children;
}

}  // namespace testing_support
