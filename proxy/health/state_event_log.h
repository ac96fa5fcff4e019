// The last state changes of every backend, in a bounded ring: what /events and the console's
// timeline show.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace readygate {

/// The `from` of a backend that just appeared, and the `to` of one whose last connection
/// is gone after its removal: the ends of its life, beside the states between.
inline constexpr const char* kNewEvent = "new";
inline constexpr const char* kGoneEvent = "gone";

/// One backend's change of effective state.
struct StateEvent {
  uint64_t sequence = 0;  // 1, 2, 3, ... in the order they happened; never reused
  double unixTime = 0;
  std::string service;
  std::string backend;
  std::string pod;  // the Kubernetes pod, "" for other sources
  std::string from;
  std::string to;
  std::string cause;   // what decided it: a probe kind, "admin", "kubernetes", ...
  std::string reason;  // the reason token of the new state
};

/// Control loop only. Keeps the newest `capacity` events: a deploy of 10,000 pods does not
/// grow it, and a reader that fell behind learns that it did (`truncated`).
class StateEventLog {
 public:
  static constexpr size_t kDefaultCapacity = 1000;

  explicit StateEventLog(size_t capacity = kDefaultCapacity);

  /// Gives the event its sequence number and keeps it, dropping the oldest when full.
  void record(StateEvent event);

  struct Page {
    std::vector<const StateEvent*> events;  // oldest first; valid until the next record()
    uint64_t next = 1;                      // what to ask for next time
    bool truncated = false;                 // some events at or after `since` are gone
  };
  /// The kept events numbered `since` or later (0 or 1: all of them). A `since` past the
  /// newest number means the reader knew another process (readygate restarted): it gets
  /// everything kept, marked truncated.
  Page since(uint64_t since) const;

  uint64_t nextSequence() const { return next_; }
  size_t size() const { return events_.size(); }

 private:
  size_t capacity_;
  uint64_t next_ = 1;
  std::deque<StateEvent> events_;
};

}  // namespace readygate
