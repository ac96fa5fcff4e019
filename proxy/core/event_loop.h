// An event_base plus a thread-safe task queue, so other threads can hand it work.
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Reactor, at most one per thread. Owns its event_base; `post` may be called
/// from any thread, everything else only from the loop's own thread.
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
  static void onWake(evutil_socket_t, short, void* self);
  void runPosted();

  EventBasePtr base_;
  EventPtr wake_;  // activated by post(); persistent so the loop never runs dry of it
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

/// Must run once before any event_base exists, so bases get locks and cross-thread wakeups.
void initLibeventThreading();

}  // namespace readygate
