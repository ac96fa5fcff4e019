// The immutable set of backends a worker may pick from, published by the control thread.
#pragma once

#include <memory>
#include <vector>

#include "proxy/upstream/backend.h"

namespace readygate {

/// Published as shared_ptr<const RotationSnapshot>; never changed after publication, so
/// workers read it without locks. Membership is the decision: the balancer never filters
/// on readiness.
struct RotationSnapshot {
  std::vector<std::shared_ptr<Backend>> eligible;
  /// True when no backend is eligible and `whenNoneReady: all` put every non-draining
  /// backend here instead, so the fail-open is visible and counted.
  bool failOpen = false;
};

}  // namespace readygate
