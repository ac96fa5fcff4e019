// StateEventLog implementation.
#include "proxy/health/state_event_log.h"

#include <algorithm>

namespace readygate {

StateEventLog::StateEventLog(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void StateEventLog::record(StateEvent event) {
  event.sequence = next_++;
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(event));
}

StateEventLog::Page StateEventLog::since(uint64_t since) const {
  Page page;
  page.next = next_;
  if (since > next_) {
    since = 0;
    page.truncated = true;
  }
  uint64_t oldest = events_.empty() ? next_ : events_.front().sequence;
  uint64_t wanted = std::max<uint64_t>(since, 1);
  if (wanted < oldest) page.truncated = true;
  // Sequence numbers are consecutive in the ring, so the first wanted one is found by index.
  size_t first = wanted <= oldest ? 0 : static_cast<size_t>(wanted - oldest);
  for (size_t i = first; i < events_.size(); ++i) page.events.push_back(&events_[i]);
  return page;
}

}  // namespace readygate
