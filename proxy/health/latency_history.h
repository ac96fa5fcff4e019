// The last probe latencies of one backend, oldest first: the console's sparkline.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <vector>

namespace readygate {

/// A fixed ring of 60 samples (about 250 bytes a backend, so 10,000 backends cost 2.5 MB).
class LatencyHistory {
 public:
  static constexpr size_t kSamples = 60;

  struct Sample {
    float millis = 0;
    bool failed = false;
  };

  void add(double latencySeconds, bool success) {
    millis_[next_] = static_cast<float>(latencySeconds * 1000);
    failed_[next_] = !success;
    next_ = (next_ + 1) % kSamples;
    if (count_ < kSamples) ++count_;
  }

  /// Oldest first.
  std::vector<Sample> samples() const {
    std::vector<Sample> out;
    out.reserve(count_);
    size_t start = (next_ + kSamples - count_) % kSamples;
    for (size_t i = 0; i < count_; ++i) {
      size_t at = (start + i) % kSamples;
      out.push_back(Sample{millis_[at], failed_[at]});
    }
    return out;
  }

  size_t size() const { return count_; }

 private:
  std::array<float, kSamples> millis_{};
  std::bitset<kSamples> failed_;
  size_t next_ = 0;
  size_t count_ = 0;
};

}  // namespace readygate
