// Process-wide counts of what happened to readygate itself (not to a backend), for /metrics.
#pragma once

#include <cstdint>

namespace readygate {

/// Why an accept() failed: the process or system ran out of descriptors, the kernel out of
/// memory, or anything else. Each is counted so that exhaustion shows on a dashboard.
enum class AcceptError { ProcessFdLimit, SystemFdLimit, KernelMemory, Other };
inline constexpr int kAcceptErrorKinds = 4;
const char* toString(AcceptError error);
AcceptError classifyAcceptError(int errnoValue);

/// Safe from any thread (relaxed atomics).
void countAcceptError(AcceptError error);
uint64_t acceptErrors(AcceptError error);

void countOrphanReaped();
uint64_t orphansReaped();

}  // namespace readygate
