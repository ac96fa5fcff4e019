// A worker's pool of fixed-size I/O blocks: connections hold a block only while bytes wait in it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace readygate {

/// Blocks of blockBytes() each, handed out and taken back on one worker's thread (no
/// lock). An idle keep-alive connection holds none, so its memory is its own object
/// only; up to `maxFree` blocks are kept for reuse, the rest go back to the allocator.
class BufferPool {
 public:
  using Block = std::unique_ptr<char[]>;
  static constexpr size_t kDefaultBlockBytes = 32 * 1024;

  explicit BufferPool(size_t blockBytes = kDefaultBlockBytes, size_t maxFree = 64)
      : blockBytes_(blockBytes), maxFree_(maxFree) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  Block acquire() {
    ++inUse_;
    if (free_.empty()) return Block(new char[blockBytes_]);
    Block block = std::move(free_.back());
    free_.pop_back();
    return block;
  }
  void release(Block block) {
    if (!block) return;
    --inUse_;
    if (free_.size() < maxFree_) free_.push_back(std::move(block));
  }
  size_t blockBytes() const { return blockBytes_; }
  /// Blocks held by connections now (for tests and memory accounting).
  size_t inUse() const { return inUse_; }

 private:
  const size_t blockBytes_;
  const size_t maxFree_;
  std::vector<Block> free_;
  size_t inUse_ = 0;
};

}  // namespace readygate
