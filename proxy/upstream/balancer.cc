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

/// Load as the weighted balancers compare it: fewer connections per share is better.
/// Under load a ramping backend settles at `weight` times the others' connections.
double weightedLoad(const RotationSnapshot& snapshot, size_t index, double now) {
  return snapshot.eligible[index]->activeConnections() / snapshot.weight(index, now);
}

double uniform() {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(random);
}

/// Whether a candidate takes part in this pick: a ramping backend (slow start) does
/// with probability `weight`. Comparing loads alone would give it nothing while no
/// connection is open anywhere (one keep-alive client: every load is 0 or 1), so its
/// ramp is a share of picks first, as in round robin, and a share of connections then.
bool admitted(double weight) { return weight >= 1 || uniform() < weight; }

/// Each eligible backend in turn. One counter for all workers, so consecutive
/// connections rotate even when different threads accept them. A ramping backend
/// (slow start) is passed over with probability 1 - weight.
class RoundRobinBalancer : public Balancer {
 protected:
  std::shared_ptr<Backend> choose(const RotationSnapshot& snapshot,
                                  std::span<const Backend* const> exclude, double now) override {
    const auto& backends = snapshot.eligible;
    if (backends.empty()) return nullptr;
    uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
    const std::shared_ptr<Backend>* fallback = nullptr;
    double fallbackWeight = -1;
    for (size_t i = 0; i < backends.size(); ++i) {
      size_t index = (start + i) % backends.size();
      const auto& candidate = backends[index];
      if (excluded(candidate.get(), exclude)) continue;
      double weight = snapshot.weight(index, now);
      if (weight >= 1 || uniform() < weight) return candidate;
      if (weight > fallbackWeight) {
        fallback = &candidate;
        fallbackWeight = weight;
      }
    }
    return fallback ? *fallback : nullptr;  // all ramping and passed over: the furthest along
  }

 private:
  std::atomic<uint64_t> next_{0};
};

/// Fewest active connections per share; the scan starts at a rotating offset so ties
/// rotate instead of always landing on the first backend.
class LeastConnBalancer : public Balancer {
 protected:
  std::shared_ptr<Backend> choose(const RotationSnapshot& snapshot,
                                  std::span<const Backend* const> exclude, double now) override {
    const auto& backends = snapshot.eligible;
    if (backends.empty()) return nullptr;
    uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
    const std::shared_ptr<Backend>* best = nullptr;
    double bestLoad = 0;
    const std::shared_ptr<Backend>* fallback = nullptr;
    double fallbackWeight = -1;
    for (size_t i = 0; i < backends.size(); ++i) {
      size_t index = (start + i) % backends.size();
      const auto& candidate = backends[index];
      if (excluded(candidate.get(), exclude)) continue;
      double weight = snapshot.weight(index, now);
      if (!admitted(weight)) {
        if (weight > fallbackWeight) {
          fallback = &candidate;
          fallbackWeight = weight;
        }
        continue;
      }
      double load = weightedLoad(snapshot, index, now);
      if (best == nullptr || load < bestLoad) {
        best = &candidate;
        bestLoad = load;
      }
    }
    if (best == nullptr) best = fallback;  // all ramping and passed over: the furthest along
    return best ? *best : nullptr;
  }

 private:
  std::atomic<uint64_t> next_{0};
};

/// Power of two choices: two distinct random candidates, the less loaded (per share)
/// wins; a ramping candidate takes part with probability `weight`. Nearly as good as least_conn without every worker herding onto the same idle
/// backend.
class RandomTwoBalancer : public Balancer {
 protected:
  std::shared_ptr<Backend> choose(const RotationSnapshot& snapshot,
                                  std::span<const Backend* const> exclude, double now) override {
    std::vector<size_t> candidates;
    if (!exclude.empty()) {
      // Retries only: the common path below allocates nothing.
      for (size_t i = 0; i < snapshot.eligible.size(); ++i) {
        if (!excluded(snapshot.eligible[i].get(), exclude)) candidates.push_back(i);
      }
    }
    size_t count = exclude.empty() ? snapshot.eligible.size() : candidates.size();
    auto at = [&](size_t i) { return exclude.empty() ? i : candidates[i]; };
    if (count == 0) return nullptr;
    if (count == 1) return snapshot.eligible[at(0)];
    thread_local std::minstd_rand random(std::random_device{}());
    size_t a = std::uniform_int_distribution<size_t>(0, count - 1)(random);
    size_t b = std::uniform_int_distribution<size_t>(0, count - 2)(random);
    if (b >= a) ++b;  // distinct from a, uniform among the rest
    size_t left = at(a);
    size_t right = at(b);
    double leftWeight = snapshot.weight(left, now);
    double rightWeight = snapshot.weight(right, now);
    bool leftIn = admitted(leftWeight);
    bool rightIn = admitted(rightWeight);
    if (leftIn != rightIn) return snapshot.eligible[leftIn ? left : right];
    if (!leftIn) return snapshot.eligible[rightWeight > leftWeight ? right : left];
    return weightedLoad(snapshot, right, now) < weightedLoad(snapshot, left, now)
               ? snapshot.eligible[right]
               : snapshot.eligible[left];
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
