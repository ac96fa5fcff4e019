// The prober interface: start one probe attempt, be told its result once.
#pragma once

#include <functional>
#include <memory>

#include "proxy/probe/probe_result.h"

namespace readygate {

/// One probe in flight. Destroying it cancels the probe (closes its socket, kills its
/// process); it must not be destroyed inside its own `done` callback.
class ProbeAttempt {
 public:
  virtual ~ProbeAttempt() = default;
};

using ProbeDone = std::function<void(ProbeResult)>;

/// Probes one target in one way (HTTP, TCP, exec). Knows nothing of backends or of
/// readiness: it reports success, a reason token and a message. Runs on one loop.
class Prober {
 public:
  virtual ~Prober() = default;
  /// Starts an attempt bounded by the prober's timeout. `done` runs exactly once, on a
  /// later loop pass (never inside `start`), unless the attempt is destroyed first.
  virtual std::unique_ptr<ProbeAttempt> start(ProbeDone done) = 0;
};

}  // namespace readygate
