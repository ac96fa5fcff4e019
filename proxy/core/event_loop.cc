// EventLoop and EventLoopThread implementation.
#include "proxy/core/event_loop.h"

#include <event2/thread.h>

#include <stdexcept>

namespace readygate {

void initLibeventThreading() {
  static const bool initialized = [] {
    if (evthread_use_pthreads() != 0) throw std::runtime_error("evthread_use_pthreads failed");
    return true;
  }();
  (void)initialized;
}

EventLoop::EventLoop() {
  initLibeventThreading();
  base_.reset(event_base_new());
  if (!base_) throw std::runtime_error("event_base_new failed");
  wake_.reset(event_new(base_.get(), -1, EV_PERSIST, &EventLoop::onWake, this));
  if (!wake_) throw std::runtime_error("event_new failed");
  // Never fires on its own: the persistent add keeps `run` alive until stop().
  timeval forever = toTimeval(365.0 * 24 * 3600);
  event_add(wake_.get(), &forever);
}

EventLoop::~EventLoop() {
  wake_.reset();
  base_.reset();
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(task));
  }
  event_active(wake_.get(), EV_READ, 0);
}

void EventLoop::onWake(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runPosted();
}

void EventLoop::runPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void EventLoop::run() {
  event_base_dispatch(base_.get());
  runPosted();  // tasks posted while stopping still run, so nothing handed over is lost
}

void EventLoop::stop() { event_base_loopbreak(base_.get()); }

EventLoopThread::~EventLoopThread() { stopAndJoin(); }

void EventLoopThread::start(std::function<void()> onExit) {
  thread_ = std::thread([this, onExit = std::move(onExit)] {
    loop_.run();
    if (onExit) onExit();
  });
}

void EventLoopThread::stopAndJoin() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
}

}  // namespace readygate
