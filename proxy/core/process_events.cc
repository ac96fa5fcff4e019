// Process-wide event counters.
#include "proxy/core/process_events.h"

#include <atomic>
#include <cerrno>

namespace readygate {
namespace {

std::atomic<uint64_t> acceptErrorCounts[kAcceptErrorKinds];
std::atomic<uint64_t> orphanCount{0};

}  // namespace

const char* toString(AcceptError error) {
  switch (error) {
    case AcceptError::ProcessFdLimit:
      return "process_fd_limit";
    case AcceptError::SystemFdLimit:
      return "system_fd_limit";
    case AcceptError::KernelMemory:
      return "kernel_memory";
    case AcceptError::Other:
      break;
  }
  return "other";
}

AcceptError classifyAcceptError(int errnoValue) {
  switch (errnoValue) {
    case EMFILE:
      return AcceptError::ProcessFdLimit;
    case ENFILE:
      return AcceptError::SystemFdLimit;
    case ENOBUFS:
    case ENOMEM:
      return AcceptError::KernelMemory;
    default:
      return AcceptError::Other;
  }
}

void countAcceptError(AcceptError error) {
  acceptErrorCounts[static_cast<int>(error)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t acceptErrors(AcceptError error) {
  return acceptErrorCounts[static_cast<int>(error)].load(std::memory_order_relaxed);
}

void countOrphanReaped() { orphanCount.fetch_add(1, std::memory_order_relaxed); }
uint64_t orphansReaped() { return orphanCount.load(std::memory_order_relaxed); }

}  // namespace readygate
