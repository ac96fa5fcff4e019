// ExecProber implementation: posix_spawn, output pipe and timeout on the loop.
#include "proxy/probe/exec_prober.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/child_reaper.h"
#include "proxy/core/libevent_handles.h"
#include "proxy/core/timer.h"

extern char** environ;

namespace readygate {
namespace {

constexpr size_t kMaxOutputBytes = 4096;

class ExecAttempt : public ProbeAttempt {
 public:
  ExecAttempt(event_base* base, ChildReaper& reaper, ProbeDone done)
      : base_(base),
        reaper_(reaper),
        done_(std::move(done)),
        deliver_(Timer::calling<&ExecAttempt::deliver>(base, this)),
        timeout_(Timer::calling<&ExecAttempt::onTimeout>(base, this)) {}

  ~ExecAttempt() override {
    closeOutput();
    if (discard_ >= 0) close(discard_);
    if (pid_ > 0) {
      // Cancelled while running: kill the whole group, let the reaper collect it.
      kill(-pid_, SIGKILL);
      reaper_.forget(pid_);
    }
  }

  void begin(const std::vector<std::string>& command, const std::vector<std::string>& extraEnv,
             double timeoutSeconds) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      finish(ProbeResult::localResource(std::string("pipe: ") + strerror(errno)));
      return;
    }
    std::vector<char*> argv;
    for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    // Ours first: getenv takes the first match, so an inherited READYGATE_* cannot shadow them.
    std::vector<char*> envp;
    for (const std::string& entry : extraEnv) envp.push_back(const_cast<char*>(entry.c_str()));
    for (char** entry = environ; *entry != nullptr; ++entry) envp.push_back(*entry);
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Own process group, so a timeout kills `sh -c` and whatever it started. Signal
    // dispositions back to default: readygate ignores SIGPIPE, a probe must not.
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(
        &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    int error = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(fds[1]);
    if (error != 0) {
      close(fds[0]);
      // EAGAIN or ENOMEM: no process could be made (the program may be fine).
      finish(error == EAGAIN || error == ENOMEM || error == EMFILE || error == ENFILE
                 ? ProbeResult::localResource(std::string("spawn: ") + strerror(error))
                 : ProbeResult::failed("exec_not_found", command[0] + ": " + strerror(error)));
      return;
    }
    pid_ = pid;
    outputFd_ = fds[0];
    fcntl(outputFd_, F_SETFL, fcntl(outputFd_, F_GETFL) | O_NONBLOCK);
    outputEvent_.reset(
        event_new(base_, outputFd_, EV_READ | EV_PERSIST, &ExecAttempt::onOutput, this));
    event_add(outputEvent_.get(), nullptr);
    timeout_.arm(timeoutSeconds);
    reaper_.watch(pid_, [this](int status) { onExit(status); });
  }

 private:
  static void onOutput(evutil_socket_t, short, void* self) {
    static_cast<ExecAttempt*>(self)->readOutput();
  }

  void onTimeout() {
    timedOut_ = true;
    kill(-pid_, SIGKILL);  // the reaper reports the exit, and we finish then
  }

  void deliver() {
    // Last thing this object does: the owner may drop it from here on.
    ProbeDone done = std::move(done_);
    done(std::move(result_));
  }

  void readOutput() {
    char chunk[1024];
    while (outputFd_ >= 0) {
      if (output_.size() >= kMaxOutputBytes && discardOutput()) continue;
      ssize_t got = read(outputFd_, chunk, sizeof chunk);
      if (got > 0) {
        size_t room = kMaxOutputBytes - std::min(output_.size(), kMaxOutputBytes);
        output_.append(chunk, std::min(room, static_cast<size_t>(got)));
        continue;
      }
      // EOF: every writer is gone. EAGAIN: nothing more for now.
      if (got == 0) closeOutput();
      break;
    }
  }

  // Past the cap the rest is moved to /dev/null in the kernel (splice), so a probe that
  // prints megabytes costs a few syscalls instead of the control loop's time. True while
  // that moved something; false to fall back to read() (EAGAIN and EOF are seen there).
  bool discardOutput() {
    if (discard_ < 0) {
      discard_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (discard_ < 0) return false;
      // A larger pipe: fewer wakeups of the loop per megabyte (best effort).
      fcntl(outputFd_, F_SETPIPE_SZ, 1 << 20);
    }
    ssize_t moved = splice(outputFd_, nullptr, discard_, nullptr, 1 << 20, SPLICE_F_NONBLOCK);
    return moved > 0;
  }

  void closeOutput() {
    outputEvent_.reset();
    if (outputFd_ >= 0) close(outputFd_);
    outputFd_ = -1;
  }

  void onExit(int status) {
    // Whatever the probe left running in its group (`cmd &`) ends with it, as the kubelet's
    // exec probes do; the kernel keeps the group id from being reused while any member lives.
    kill(-pid_, SIGKILL);
    pid_ = -1;
    timeout_.cancel();
    // Whatever it wrote before exiting is in the pipe; a grandchild holding the pipe
    // open must not hold up the result, so read what is there and stop.
    readOutput();
    closeOutput();
    std::string message = output_.substr(0, output_.find('\n'));
    if (message.size() > 200) message.resize(200);
    if (timedOut_) {
      finish(ProbeResult::failed("timeout", message));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      finish(ProbeResult::passed(message));
    } else if (WIFEXITED(status)) {
      finish(ProbeResult::failed("exit_" + std::to_string(WEXITSTATUS(status)), message));
    } else {
      finish(ProbeResult::failed("signal_" + std::to_string(WTERMSIG(status)), message));
    }
  }

  void finish(ProbeResult result) {
    result_ = std::move(result);
    deliver_.armNow();
  }

  event_base* base_;
  ChildReaper& reaper_;
  ProbeDone done_;
  ProbeResult result_;
  Timer deliver_;
  Timer timeout_;
  EventPtr outputEvent_;
  int outputFd_ = -1;
  int discard_ = -1;
  pid_t pid_ = -1;
  bool timedOut_ = false;
  std::string output_;
};

}  // namespace

ExecProber::ExecProber(event_base* base, ChildReaper& reaper, std::vector<std::string> command,
                       std::vector<std::string> extraEnvironment, double timeoutSeconds)
    : base_(base),
      reaper_(reaper),
      command_(std::move(command)),
      extraEnvironment_(std::move(extraEnvironment)),
      timeoutSeconds_(timeoutSeconds) {}

std::unique_ptr<ProbeAttempt> ExecProber::start(ProbeDone done) {
  auto attempt = std::make_unique<ExecAttempt>(base_, reaper_, std::move(done));
  attempt->begin(command_, extraEnvironment_, timeoutSeconds_);
  return attempt;
}

}  // namespace readygate
