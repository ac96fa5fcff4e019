// Picking one backend out of a rotation snapshot: round_robin, least_conn, random_two.
#pragma once

#include <memory>
#include <span>

#include "config/config_types.h"
#include "proxy/upstream/rotation_snapshot.h"

namespace readygate {

/// Shared by all workers of a service; `pick` is thread-safe and lock-free. Slow-start
/// weights scale every kind: each skips a ramping backend with probability 1 - weight,
/// and least_conn and random_two compare connections / weight among the rest, so a
/// ramping backend gets its share with one client as with ten thousand.
class Balancer {
 public:
  virtual ~Balancer() = default;
  /// One of `snapshot.eligible` that is not in `exclude` (backends already tried for this
  /// connection), or nullptr when none is left. `now` (SteadyClock seconds) is when the
  /// slow-start weights are taken.
  std::shared_ptr<Backend> pick(const RotationSnapshot& snapshot,
                                std::span<const Backend* const> exclude, double now = 0) {
    return choose(snapshot, exclude, now);
  }

 protected:
  virtual std::shared_ptr<Backend> choose(const RotationSnapshot& snapshot,
                                          std::span<const Backend* const> exclude, double now) = 0;
};

std::unique_ptr<Balancer> makeBalancer(BalanceKind kind);

}  // namespace readygate
