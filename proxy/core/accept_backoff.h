// What a listener does when accept() fails: count, log once per pause, pause, refuse politely.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/timer.h"

namespace readygate {

/// Out of descriptors, accepting again at once would spin (libevent retries on every
/// loop pass and logs each time). Instead: count the error by reason
/// (`readygate_accept_errors_total`), pause the listeners for a short while, and answer the
/// clients already queued with the reserve descriptor (so they get a reply or a close, not
/// a hang). Everything resumes by itself when descriptors are free again.
/// One per event loop (the reserve descriptor is per thread of accepting).
class AcceptBackoff {
 public:
  /// `setPaused(true)` disables the owner's listeners, `setPaused(false)` enables them.
  AcceptBackoff(event_base* base, std::string owner, std::function<void(bool)> setPaused);
  ~AcceptBackoff();
  AcceptBackoff(const AcceptBackoff&) = delete;
  AcceptBackoff& operator=(const AcceptBackoff&) = delete;

  /// accept() on `listenFd` failed with `error`. For resource exhaustion: refuses what is
  /// queued on `listenFd` (writing `refusal` first, e.g. an HTTP 503) and pauses.
  void onAcceptError(int listenFd, int error, std::string_view refusal);
  bool paused() const { return paused_; }

 private:
  void refuseQueued(int listenFd, std::string_view refusal);
  void resume();

  std::string owner_;
  std::function<void(bool)> setPaused_;
  Timer resumeTimer_;
  int reserveFd_ = -1;  // held open so that one accept can still succeed when none are left
  bool paused_ = false;
  uint64_t errorsSinceLog_ = 0;
  uint64_t refusedSinceLog_ = 0;
};

/// Writes `refusal` (if any) without waiting and closes `fd`: a client turned away by a
/// limit gets an answer rather than a hang.
void refuseConnection(int fd, std::string_view refusal);

}  // namespace readygate
