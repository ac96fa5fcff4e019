// FileWatch implementation.
#include "proxy/discovery/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

namespace readygate {

FileWatch::FileWatch(event_base* base, std::string path, double pollSeconds,
                     std::function<void()> onChange)
    : path_(std::move(path)),
      onChange_(std::move(onChange)),
      poll_(Timer::calling<&FileWatch::onPoll>(base, this)) {
  size_t slash = path_.rfind('/');
  std::string directory = ".";
  name_ = path_;
  if (slash != std::string::npos) {
    // Assigned, not built with `?:` from temporaries: GCC 12 warns falsely on that (-Wrestrict).
    directory.assign(path_, 0, slash);
    if (directory.empty()) directory = "/";
    name_.assign(path_, slash + 1, std::string::npos);
  }
  inotifyFd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotifyFd_ >= 0 &&
      inotify_add_watch(inotifyFd_, directory.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM) < 0) {
    close(inotifyFd_);
    inotifyFd_ = -1;
  }
  if (inotifyFd_ >= 0) {
    inotifyEvent_.reset(
        event_new(base, inotifyFd_, EV_READ | EV_PERSIST, &FileWatch::onInotify, this));
    event_add(inotifyEvent_.get(), nullptr);
  }
  statChanged();  // remember how it looks now
  poll_.armEvery(pollSeconds);
}

FileWatch::~FileWatch() {
  inotifyEvent_.reset();
  poll_.cancel();
  if (inotifyFd_ >= 0) close(inotifyFd_);
}

bool FileWatch::statChanged() {
  struct stat now {};
  bool exists = ::stat(path_.c_str(), &now) == 0;  // follows a ConfigMap's symlinks
  bool changed =
      exists != existed_ ||
      (exists && (now.st_ino != last_.st_ino || now.st_dev != last_.st_dev ||
                  now.st_size != last_.st_size || now.st_mtim.tv_sec != last_.st_mtim.tv_sec ||
                  now.st_mtim.tv_nsec != last_.st_mtim.tv_nsec));
  existed_ = exists;
  last_ = now;
  return changed;
}

void FileWatch::onInotify(evutil_socket_t fd, short, void* self) {
  auto* watch = static_cast<FileWatch*>(self);
  alignas(inotify_event) char buffer[4096];
  bool relevant = false;
  ssize_t length;
  while ((length = read(fd, buffer, sizeof buffer)) > 0) {
    for (char* at = buffer; at < buffer + length;) {
      auto* event = reinterpret_cast<inotify_event*>(at);
      // Our file by name, or anything for a ConfigMap (it swaps a "..data" symlink).
      if (event->len == 0 || watch->name_ == event->name || event->name[0] == '.') relevant = true;
      at += sizeof(inotify_event) + event->len;
    }
  }
  if (relevant) {
    watch->statChanged();
    watch->onChange_();
  }
}

void FileWatch::onPoll() {
  if (statChanged()) onChange_();
}

}  // namespace readygate
