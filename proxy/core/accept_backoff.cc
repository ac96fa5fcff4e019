// AcceptBackoff implementation.
#include "proxy/core/accept_backoff.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/log.h"
#include "proxy/core/process_events.h"

namespace readygate {
namespace {

/// Long enough not to spin, short enough that a freed descriptor is used soon.
constexpr double kPauseSeconds = 0.1;
/// Clients refused per pause at most, so one pass of the loop stays short.
constexpr int kMaxRefusedPerPause = 256;

int openReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

AcceptBackoff::AcceptBackoff(event_base* base, std::string owner,
                             std::function<void(bool)> setPaused)
    : owner_(std::move(owner)),
      setPaused_(std::move(setPaused)),
      resumeTimer_(Timer::calling<&AcceptBackoff::resume>(base, this)),
      reserveFd_(openReserve()) {}

AcceptBackoff::~AcceptBackoff() {
  if (reserveFd_ >= 0) ::close(reserveFd_);
}

void AcceptBackoff::onAcceptError(int listenFd, int error, std::string_view refusal) {
  AcceptError kind = classifyAcceptError(error);
  countAcceptError(kind);
  ++errorsSinceLog_;
  if (kind == AcceptError::Other) {
    logEvent(LogLevel::Warn, "accept_failed", {{"listener", owner_}, {"error", strerror(error)}});
    return;
  }
  if (kind == AcceptError::ProcessFdLimit || kind == AcceptError::SystemFdLimit) {
    refuseQueued(listenFd, refusal);
  }
  if (paused_) return;
  // Once per pause: a storm of errors is one line with counts, not megabytes of log.
  logEvent(LogLevel::Warn, "accept_paused",
           {{"listener", owner_},
            {"reason", toString(kind)},
            {"error", strerror(error)},
            {"errors", errorsSinceLog_},
            {"refused", refusedSinceLog_},
            {"pause_seconds", kPauseSeconds}});
  errorsSinceLog_ = 0;
  refusedSinceLog_ = 0;
  paused_ = true;
  setPaused_(true);
  resumeTimer_.arm(kPauseSeconds);
}

void AcceptBackoff::refuseQueued(int listenFd, std::string_view refusal) {
  for (int i = 0; i < kMaxRefusedPerPause && reserveFd_ >= 0; ++i) {
    ::close(reserveFd_);
    int client = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) {
      refuseConnection(client, refusal);
      ++refusedSinceLog_;
    }
    reserveFd_ = openReserve();  // the descriptor just freed, unless another thread took it
    if (client < 0) break;       // queue empty (EAGAIN), or nothing to gain
  }
}

void AcceptBackoff::resume() {
  paused_ = false;
  setPaused_(false);
  if (reserveFd_ < 0) reserveFd_ = openReserve();
}

void refuseConnection(int fd, std::string_view refusal) {
  if (!refusal.empty()) {
    // Fits the socket buffer of a new connection; if not, the client gets less.
    (void)::send(fd, refusal.data(), refusal.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  ::close(fd);
}

}  // namespace readygate
