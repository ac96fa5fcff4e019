// Balancer implementations.
#include "proxy/upstream/balancer.h"

#include <algorithm>
#include <atomic>
#include <random>

namespace readygate {
namespace {

bool excluded(const Backend* backend, std::span<const Backend* const> exclude) {
  return std::find(exclude.begin(), exclude.end(), backend) != exclude.end();
}

/// Each eligible backend in turn. One counter for all workers, so consecutive
/// connections rotate even when different threads accept them.
class RoundRobinBalancer : public Balancer {
 public:
  std::shared_ptr<Backend> pick(const RotationSnapshot& snapshot,
                                std::span<const Backend* const> exclude) override {
    const auto& backends = snapshot.eligible;
    if (backends.empty()) return nullptr;
    uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < backends.size(); ++i) {
      const auto& candidate = backends[(start + i) % backends.size()];
      if (!excluded(candidate.get(), exclude)) return candidate;
    }
    return nullptr;
  }

 private:
  std::atomic<uint64_t> next_{0};
};

/// Fewest active connections; the scan starts at a rotating offset so ties rotate
/// instead of always landing on the first backend.
class LeastConnBalancer : public Balancer {
 public:
  std::shared_ptr<Backend> pick(const RotationSnapshot& snapshot,
                                std::span<const Backend* const> exclude) override {
    const auto& backends = snapshot.eligible;
    if (backends.empty()) return nullptr;
    uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
    const std::shared_ptr<Backend>* best = nullptr;
    for (size_t i = 0; i < backends.size(); ++i) {
      const auto& candidate = backends[(start + i) % backends.size()];
      if (excluded(candidate.get(), exclude)) continue;
      if (best == nullptr || candidate->activeConnections() < (*best)->activeConnections()) {
        best = &candidate;
      }
    }
    return best ? *best : nullptr;
  }

 private:
  std::atomic<uint64_t> next_{0};
};

/// Power of two choices: two distinct random candidates, the less loaded wins. Nearly
/// as good as least_conn without every worker herding onto the same idle backend.
class RandomTwoBalancer : public Balancer {
 public:
  std::shared_ptr<Backend> pick(const RotationSnapshot& snapshot,
                                std::span<const Backend* const> exclude) override {
    const auto& backends = snapshot.eligible;
    if (exclude.empty()) {
      return chooseTwo(
          backends.size(), [&](size_t i) -> const auto& { return backends[i]; });
    }
    // Retries only: the common path above allocates nothing.
    std::vector<const std::shared_ptr<Backend>*> candidates;
    for (const auto& backend : backends) {
      if (!excluded(backend.get(), exclude)) candidates.push_back(&backend);
    }
    return chooseTwo(
        candidates.size(), [&](size_t i) -> const auto& { return *candidates[i]; });
  }

 private:
  template <typename At>
  static std::shared_ptr<Backend> chooseTwo(size_t count, At at) {
    if (count == 0) return nullptr;
    if (count == 1) return at(0);
    thread_local std::minstd_rand random(std::random_device{}());
    size_t a = std::uniform_int_distribution<size_t>(0, count - 1)(random);
    size_t b = std::uniform_int_distribution<size_t>(0, count - 2)(random);
    if (b >= a) ++b;  // distinct from a, uniform among the rest
    const std::shared_ptr<Backend>& left = at(a);
    const std::shared_ptr<Backend>& right = at(b);
    return right->activeConnections() < left->activeConnections() ? right : left;
  }
};

}  // namespace

std::unique_ptr<Balancer> makeBalancer(BalanceKind kind) {
  switch (kind) {
    case BalanceKind::RoundRobin:
      return std::make_unique<RoundRobinBalancer>();
    case BalanceKind::LeastConn:
      return std::make_unique<LeastConnBalancer>();
    case BalanceKind::RandomTwo:
      return std::make_unique<RandomTwoBalancer>();
  }
  return std::make_unique<RoundRobinBalancer>();
}

}  // namespace readygate
