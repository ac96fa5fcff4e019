// Frees objects on the next loop pass, so nothing is deleted inside its own callback.
#pragma once

#include <memory>
#include <stdexcept>
#include <vector>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Holds objects that are finished but may still be on the call stack (a session that
/// ended inside its own read callback, a member removed inside its own probe callback)
/// and frees them from an event activated for the next loop pass.
template <typename T>
class DeferredDelete {
 public:
  explicit DeferredDelete(event_base* base) {
    event_.reset(event_new(
        base, -1, 0,
        [](evutil_socket_t, short, void* self) { static_cast<DeferredDelete*>(self)->clear(); },
        this));
    if (!event_) throw std::runtime_error("event_new failed");
  }
  DeferredDelete(const DeferredDelete&) = delete;
  DeferredDelete& operator=(const DeferredDelete&) = delete;

  void later(std::unique_ptr<T> object) {
    if (!object) return;
    pending_.push_back(std::move(object));
    event_active(event_.get(), EV_TIMEOUT, 0);
  }
  /// Frees everything now (from a place that is known to be outside the objects' callbacks).
  void clear() { pending_.clear(); }
  size_t size() const { return pending_.size(); }

 private:
  std::vector<std::unique_ptr<T>> pending_;
  EventPtr event_;  // after pending_: freed first, so it never fires into a dead object
};

}  // namespace readygate
