// A libevent timer owned by its object: the one timer type sessions, connectors, probes and the
// control loop use, made once and re-armed, never allocated per request; and the idle window.
#pragma once

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Calls `callback(owner)` once, `seconds` after arm(), or every `seconds` after
/// armEvery(). The libevent event is made on the first arm (a connector served from the
/// pool never needs its connect timer, so it costs nothing) and kept until the Timer
/// goes. Not thread-safe: the loop's thread only.
class Timer {
 public:
  using Callback = void (*)(void* owner);

  Timer(event_base* base, void* owner, Callback callback)
      : base_(base), owner_(owner), callback_(callback) {}
  /// A timer calling `(owner->*Method)()`.
  template <auto Method, typename Owner>
  static Timer calling(event_base* base, Owner* owner) {
    return Timer(base, owner, [](void* self) { (static_cast<Owner*>(self)->*Method)(); });
  }
  // The event points at this object: a Timer never moves (calling() returns by
  // guaranteed elision).
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm(double seconds) {
    period_ = 0;
    add(seconds);
  }
  /// Every `seconds` from now until cancel() (re-armed before each call).
  void armEvery(double seconds) {
    period_ = seconds;
    add(seconds);
  }
  /// Fires at the loop's next pass: for work that must not run inside the caller.
  /// Activated directly, not through the timer heap (a pooled upstream per request).
  void armNow() {
    period_ = 0;
    event_active(event(), EV_TIMEOUT, 1);
  }
  void cancel() {
    period_ = 0;
    if (event_) evtimer_del(event_.get());
  }
  bool armed() const { return event_ && evtimer_pending(event_.get(), nullptr); }

 private:
  struct event* event() {
    if (!event_) event_.reset(evtimer_new(base_, &Timer::onFire, this));
    return event_.get();
  }
  void add(double seconds) {
    timeval delay = toTimeval(seconds);
    evtimer_add(event(), &delay);
  }
  static void onFire(evutil_socket_t, short, void* self) {
    auto* timer = static_cast<Timer*>(self);
    if (timer->period_ > 0) timer->add(timer->period_);
    timer->callback_(timer->owner_);  // last: the owner may destroy the timer
  }

  event_base* base_;
  void* owner_;  // not owned: the object the timer belongs to
  Callback callback_;
  double period_ = 0;  // armEvery's, 0 for one shot
  EventPtr event_;
};

/// Seconds from `from` to `to` (the loop's cached times).
inline double secondsBetween(const timeval& from, const timeval& to) {
  return static_cast<double>(to.tv_sec - from.tv_sec) +
         static_cast<double>(to.tv_usec - from.tv_usec) / 1e6;
}

/// An idle timeout that moves with traffic without a timer operation per byte: activity
/// is noted with touch(); when the timer fires, expired() says whether the whole window
/// has passed since, and if not re-arms the timer for the rest of it.
class IdleWindow {
 public:
  explicit IdleWindow(event_base* base) : base_(base) {}
  /// Arms `timer` for `seconds` of idleness from now.
  void start(Timer& timer, double seconds) {
    window_ = seconds;
    touch();
    timer.arm(seconds);
  }
  void touch() { event_base_gettimeofday_cached(base_, &last_); }
  /// From `timer`'s callback.
  bool expired(Timer& timer) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    double idleFor = secondsBetween(last_, now);
    if (idleFor >= window_) return true;
    timer.arm(window_ - idleFor);
    return false;
  }

 private:
  event_base* base_;
  double window_ = 0;
  timeval last_{};
};

}  // namespace readygate
