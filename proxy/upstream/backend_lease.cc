// BackendLease and BackendLeases implementation.
#include "proxy/upstream/backend_lease.h"

#include <vector>

namespace readygate {

BackendLease::BackendLease(std::shared_ptr<Backend> backend, BackendLeases& leases,
                           DrainTarget& target)
    : backend_(std::move(backend)), leases_(leases), target_(target) {
  backend_->connectionOpened();
  leases_.add(this);
}

BackendLease::~BackendLease() {
  leases_.remove(this);
  backend_->connectionClosed();
}

void BackendLeases::add(BackendLease* lease) {
  BackendLease*& head = byBackend_[lease->backend_.get()];
  lease->next_ = head;
  if (head != nullptr) head->previous_ = lease;
  head = lease;
}

void BackendLeases::remove(BackendLease* lease) {
  if (lease->previous_ != nullptr) {
    lease->previous_->next_ = lease->next_;
  } else {
    auto found = byBackend_.find(lease->backend_.get());
    if (found != byBackend_.end()) found->second = lease->next_;
  }
  if (lease->next_ != nullptr) lease->next_->previous_ = lease->previous_;
  lease->previous_ = lease->next_ = nullptr;
}

size_t BackendLeases::backendCount() const {
  size_t count = 0;
  for (const auto& [backend, head] : byBackend_) count += head != nullptr ? 1 : 0;
  return count;
}

void BackendLeases::closeExpired(double now) {
  std::vector<DrainTarget*> expired;
  for (auto it = byBackend_.begin(); it != byBackend_.end();) {
    if (it->second == nullptr) {
      // No lease holds the backend any more: it may be gone, so its key is not read.
      it = byBackend_.erase(it);
      continue;
    }
    if (it->first->retireDeadline() <= now) {
      for (BackendLease* lease = it->second; lease != nullptr; lease = lease->next_) {
        expired.push_back(&lease->target_);
      }
    }
    ++it;
  }
  // Closing releases leases, which edits byBackend_: collected first, closed after.
  for (DrainTarget* target : expired) target->closeForDrain();
}

}  // namespace readygate
