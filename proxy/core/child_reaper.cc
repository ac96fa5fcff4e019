// ChildReaper implementation.
#include "proxy/core/child_reaper.h"

#include "proxy/core/process_events.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <csignal>
#include <vector>

namespace readygate {

ChildReaper::ChildReaper(event_base* base) {
  sigchld_.reset(evsignal_new(base, SIGCHLD, &ChildReaper::onSigchld, this));
  evsignal_add(sigchld_.get(), nullptr);
}

void ChildReaper::watch(pid_t pid, OnExit onExit) {
  children_[pid] = std::move(onExit);
  // The child may have exited before we were watching; its SIGCHLD is then already past.
  reap();
}

void ChildReaper::forget(pid_t pid) {
  auto found = children_.find(pid);
  if (found != children_.end()) found->second = nullptr;
  reap();
}

void ChildReaper::onSigchld(evutil_socket_t, short, void* self) {
  static_cast<ChildReaper*>(self)->reap();
}

bool ChildReaper::adoptOrphans() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return false;
  adoptsOrphans_ = true;
  reap();
  return true;
}

void ChildReaper::reap() {
  if (adoptsOrphans_) {
    reapAny();
  } else {
    reapWatched();
  }
}

void ChildReaper::reapAny() {
  std::vector<std::pair<OnExit, int>> exited;
  int status = 0;
  pid_t done;
  while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
    auto found = children_.find(done);
    if (found == children_.end()) {
      countOrphanReaped();
      continue;
    }
    if (found->second) exited.emplace_back(std::move(found->second), status);
    children_.erase(found);
  }
  for (auto& [onExit, exitStatus] : exited) onExit(exitStatus);
}

void ChildReaper::reapWatched() {
  // Signals coalesce: one SIGCHLD may stand for many exits, so ask every child.
  std::vector<std::pair<OnExit, int>> exited;
  for (auto it = children_.begin(); it != children_.end();) {
    int status = 0;
    pid_t done = waitpid(it->first, &status, WNOHANG);
    if (done == it->first || (done < 0 && errno == ECHILD)) {
      if (it->second) exited.emplace_back(std::move(it->second), status);
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
  // Callbacks last: they may watch new children.
  for (auto& [onExit, status] : exited) onExit(status);
}

}  // namespace readygate
