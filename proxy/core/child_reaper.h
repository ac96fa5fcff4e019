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

  /// (Adopted orphans reaped are counted in process_events.) Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): an exec probe's
  /// grandchild that outlives its parent is re-parented to us instead of init, and we reap
  /// it. Also what keeps zombies away when readygate runs as PID 1 without an init. Only
  /// for a process whose every child is spawned through this reaper (the server; not a
  /// test that also runs children of its own), since it reaps any child.
  bool adoptOrphans();

 private:
  static void onSigchld(evutil_socket_t, short, void* self);
  void reap();
  void reapWatched();
  void reapAny();

  EventPtr sigchld_;
  std::unordered_map<pid_t, OnExit> children_;
  bool adoptsOrphans_ = false;
};

}  // namespace readygate
