// BackendLease and BackendLeases implementation.
#include "proxy/upstream/backend_lease.h"

#include <vector>

namespace readygate {

BackendLease::BackendLease(std::shared_ptr<Backend> backend, BackendLeases& leases,
                           DrainTarget& target)
    : backend_(std::move(backend)), leases_(leases), target_(target) {
  backend_->connectionOpened();
  leases_.add(backend_.get(), &target_);
}

BackendLease::~BackendLease() {
  leases_.remove(backend_.get(), &target_);
  backend_->connectionClosed();
}

void BackendLeases::remove(Backend* backend, DrainTarget* target) {
  auto found = byBackend_.find(backend);
  if (found == byBackend_.end()) return;
  found->second.erase(target);
  if (found->second.empty()) byBackend_.erase(found);
}

void BackendLeases::closeExpired(double now) {
  std::vector<DrainTarget*> expired;
  for (const auto& [backend, targets] : byBackend_) {
    if (backend->retireDeadline() > now) continue;
    expired.insert(expired.end(), targets.begin(), targets.end());
  }
  // Closing releases leases, which edits byBackend_: collected first, closed after.
  for (DrainTarget* target : expired) target->closeForDrain();
}

}  // namespace readygate
