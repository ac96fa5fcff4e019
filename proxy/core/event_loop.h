// An event_base plus a thread-safe task queue, so other threads can hand it work.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Reactor, at most one per thread. Owns its event_base, made without locks
/// (EVENT_BASE_FLAG_NOLOCK): `post` and `stop` may be called from any thread and reach
/// the loop through an eventfd; everything else only from the loop's own thread.
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_.get(); }

  /// Runs `task` on the loop's thread at its next pass. Thread-safe.
  void post(std::function<void()> task);

  /// Runs the loop until `stop` (or no events remain and nothing is posted).
  void run();
  /// Makes `run` return after the current pass. Thread-safe.
  void stop();

 private:
  static void onWake(evutil_socket_t fd, short, void* self);
  void runPosted();
  void wake();

  EventBasePtr base_;
  int wakeFd_ = -1;  // eventfd: written by post() and stop(), read by the loop
  EventPtr wake_;    // persistent read event on wakeFd_, so the loop never runs dry
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
};

/// An EventLoop running on a thread of its own; joins on destruction.
class EventLoopThread {
 public:
  EventLoopThread() = default;
  ~EventLoopThread();
  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  EventLoop& loop() { return loop_; }
  /// Runs the loop on a new thread; `onExit` runs on that thread once the loop ends.
  void start(std::function<void()> onExit = nullptr);
  void stopAndJoin();

 private:
  EventLoop loop_;
  std::thread thread_;
};

/// Runs once before any event_base exists: libevent's pthread support, for the objects
/// that still lock (OpenSSL bufferevents, evbuffers made thread-safe). The loops' own
/// bases take no lock.
void initLibeventThreading();

}  // namespace readygate
