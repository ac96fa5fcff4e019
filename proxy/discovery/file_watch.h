// Watches one file for replacement (write-then-rename, ConfigMap symlink swaps) on the control
// loop.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/timer.h"

namespace readygate {

/// Calls `onChange` when the file at `path` may have changed: inotify on its directory
/// (a rename or a symlink swap replaces the file, so watching the file itself would
/// lose track), plus a periodic stat every `pollSeconds` in case inotify is not to be
/// had or misses something (network file systems). Never blocks; the owner re-reads.
class FileWatch {
 public:
  FileWatch(event_base* base, std::string path, double pollSeconds, std::function<void()> onChange);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  /// Whether inotify is in use (else only the periodic check).
  bool notifying() const { return inotifyFd_ >= 0; }

 private:
  static void onInotify(evutil_socket_t fd, short, void* self);
  void onPoll();
  /// True when the file's identity or size/time differ from the last look.
  bool statChanged();

  std::string path_;
  std::string name_;  // the file name inside its directory
  std::function<void()> onChange_;
  int inotifyFd_ = -1;
  EventPtr inotifyEvent_;
  Timer poll_;  // the periodic check, whether inotify works or not
  struct stat last_ {};
  bool existed_ = false;
};

}  // namespace readygate
