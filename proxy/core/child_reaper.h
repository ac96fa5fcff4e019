// Reaps child processes from the event loop on SIGCHLD: no blocking waitpid, no threads.
#pragma once

#include <sys/types.h>

#include <functional>
#include <unordered_map>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Owns SIGCHLD for the process: only one per process, on the control loop (libevent
/// delivers signals to one event_base). Only children it was told about are reaped.
class ChildReaper {
 public:
  using OnExit = std::function<void(int waitStatus)>;

  explicit ChildReaper(event_base* base);
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  /// Calls `onExit` from the loop once `pid` has exited.
  void watch(pid_t pid, OnExit onExit);
  /// Stops caring about `pid`'s exit but still reaps it, so no zombie is left behind.
  void forget(pid_t pid);
  size_t watched() const { return children_.size(); }

 private:
  static void onSigchld(evutil_socket_t, short, void* self);
  void reap();

  EventPtr sigchld_;
  std::unordered_map<pid_t, OnExit> children_;
};

}  // namespace readygate
