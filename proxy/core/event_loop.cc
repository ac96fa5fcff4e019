// EventLoop and EventLoopThread implementation.
#include "proxy/core/event_loop.h"

#include <event2/thread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
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
  // No lock in the base: only this loop's thread touches it. Other threads reach it
  // through post(), whose queue has a mutex of its own and whose wake-up is an eventfd,
  // so event_add/del on the hot path take no lock (libevent takes its base lock on every
  // one when a base has locks).
  std::unique_ptr<event_config, decltype(&event_config_free)> config(event_config_new(),
                                                                     &event_config_free);
  if (!config) throw std::runtime_error("event_config_new failed");
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_NOLOCK);
  base_.reset(event_base_new_with_config(config.get()));
  if (!base_) throw std::runtime_error("event_base_new failed");
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) throw std::runtime_error("eventfd failed");
  // Persistent: the loop never runs dry of it, so `run` lasts until stop().
  wake_.reset(event_new(base_.get(), wakeFd_, EV_READ | EV_PERSIST, &EventLoop::onWake, this));
  if (!wake_ || event_add(wake_.get(), nullptr) != 0) throw std::runtime_error("event_new failed");
}

EventLoop::~EventLoop() {
  wake_.reset();
  base_.reset();
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

void EventLoop::wake() {
  uint64_t one = 1;
  // A full counter (never, at 2^64 - 2) or EAGAIN still leaves the fd readable.
  ssize_t wrote = ::write(wakeFd_, &one, sizeof one);
  (void)wrote;
}

void EventLoop::post(std::function<void()> task) {
  bool first;
  {
    std::lock_guard lock(mutex_);
    first = posted_.empty();
    posted_.push_back(std::move(task));
  }
  if (first) wake();  // one write per batch: the loop takes the whole queue at once
}

void EventLoop::onWake(evutil_socket_t fd, short, void* self) {
  uint64_t count;
  ssize_t got = ::read(fd, &count, sizeof count);  // resets the eventfd
  (void)got;
  auto* loop = static_cast<EventLoop*>(self);
  loop->runPosted();
  if (loop->stopping_.load(std::memory_order_acquire)) event_base_loopbreak(loop->base_.get());
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

void EventLoop::stop() {
  // From any thread: the loop breaks on its own thread when it sees the wake-up.
  stopping_.store(true, std::memory_order_release);
  wake();
}

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
