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
  /// Slow start: when each eligible backend became ready (SteadyClock seconds), and over
  /// how long its share ramps up to full. Empty / 0: every weight is 1.
  std::vector<double> readySince;
  double slowStartSeconds = 0;
  /// A just-ready backend still gets this share, so a service whose backends are all
  /// new is not left without traffic.
  static constexpr double kMinWeight = 0.05;

  /// The share of new traffic eligible[index] may take at `now`: 0.05 .. 1, linear.
  double weight(size_t index, double now) const {
    if (slowStartSeconds <= 0 || index >= readySince.size()) return 1;
    double share = (now - readySince[index]) / slowStartSeconds;
    return share >= 1 ? 1 : (share <= kMinWeight ? kMinWeight : share);
  }
  /// True when no backend is eligible and `whenNoneReady: all` put every non-draining
  /// backend here instead, so the fail-open is visible and counted.
  bool failOpen = false;
};

}  // namespace readygate
