// The bytes read from a connection and not yet consumed, in one pooled block.
#pragma once

#include <cstring>
#include <string_view>

#include "proxy/transport/buffer_pool.h"

namespace readygate {

/// Contiguous, so a parser sees every byte at hand as one piece. The block is taken
/// from the pool for a read and given back as soon as everything in it is consumed.
class InputBuffer {
 public:
  explicit InputBuffer(BufferPool& pool) : pool_(pool) {}
  ~InputBuffer() { pool_.release(std::move(block_)); }
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  std::string_view view() const { return {block_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  bool full() const { return block_ && begin_ == 0 && end_ == pool_.blockBytes(); }

  void consume(size_t bytes) {
    begin_ += bytes < size() ? bytes : size();
    if (begin_ == end_) releaseBlock();
  }
  /// Room to read into: a block is taken when there is none, and unconsumed bytes move
  /// to its front when they sit at its end. Empty when the block is full.
  std::pair<char*, size_t> space() {
    if (!block_) block_ = pool_.acquire();
    if (end_ == pool_.blockBytes() && begin_ > 0) {
      std::memmove(block_.get(), block_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return {block_.get() + end_, pool_.blockBytes() - end_};
  }
  /// `bytes` were read into space().
  void commit(size_t bytes) {
    end_ += bytes;
    if (begin_ == end_) releaseBlock();
  }

 private:
  void releaseBlock() {
    pool_.release(std::move(block_));
    begin_ = end_ = 0;
  }

  BufferPool& pool_;
  BufferPool::Block block_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace readygate
