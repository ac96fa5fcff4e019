// Picking one backend out of a rotation snapshot: round_robin, least_conn, random_two.
#pragma once

#include <memory>
#include <span>

#include "config/config_types.h"
#include "proxy/upstream/rotation_snapshot.h"

namespace readygate {

/// Shared by all workers of a service; `pick` is thread-safe and lock-free.
class Balancer {
 public:
  virtual ~Balancer() = default;
  /// One of `snapshot.eligible` that is not in `exclude` (backends already tried for this
  /// connection), or nullptr when none is left.
  virtual std::shared_ptr<Backend> pick(const RotationSnapshot& snapshot,
                                        std::span<const Backend* const> exclude) = 0;
};

std::unique_ptr<Balancer> makeBalancer(BalanceKind kind);

}  // namespace readygate
