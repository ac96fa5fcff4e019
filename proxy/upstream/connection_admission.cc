// ConnectionCount implementation.
#include "proxy/upstream/connection_admission.h"

namespace readygate {

const char* toString(AdmissionRefusal refusal) {
  switch (refusal) {
    case AdmissionRefusal::ProcessLimit:
      return "process_limit";
    case AdmissionRefusal::ServiceLimit:
      return "service_limit";
    case AdmissionRefusal::ClientLimit:
      return "client_limit";
    case AdmissionRefusal::None:
      break;
  }
  return "none";
}

AdmissionRefusal ConnectionCount::admit(const std::string& client, int limit, int perClientLimit,
                                        bool& countedPerClient) {
  countedPerClient = false;
  // Take the place first and give it back if over: two workers racing for the last
  // place cannot both get it.
  int64_t now = open_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (limit > 0 && now > limit) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return AdmissionRefusal::ServiceLimit;
  }
  if (perClientLimit > 0) {
    std::lock_guard lock(mutex_);
    int& mine = perClient_[client];
    if (mine >= perClientLimit) {
      if (mine == 0) perClient_.erase(client);
      open_.fetch_sub(1, std::memory_order_relaxed);
      return AdmissionRefusal::ClientLimit;
    }
    ++mine;
    countedPerClient = true;
  }
  return AdmissionRefusal::None;
}

void ConnectionCount::release(const std::string& client, bool countedPerClient) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (!countedPerClient) return;
  std::lock_guard lock(mutex_);
  auto found = perClient_.find(client);
  if (found != perClient_.end() && --found->second <= 0) perClient_.erase(found);
}

size_t ConnectionCount::clientsCounted() const {
  std::lock_guard lock(mutex_);
  return perClient_.size();
}

}  // namespace readygate
