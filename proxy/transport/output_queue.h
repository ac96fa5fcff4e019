// Bytes waiting for a socket that would not take them yet, in pooled blocks.
#pragma once

#include <sys/uio.h>

#include <string_view>
#include <vector>

#include "proxy/transport/buffer_pool.h"

namespace readygate {

/// FIFO of bytes in blocks from the worker's pool, given back as they are written.
/// Empty (no block held) whenever the kernel took everything, which is the usual case.
class OutputQueue {
 public:
  explicit OutputQueue(BufferPool& pool) : pool_(pool) {}
  ~OutputQueue() { clear(); }
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void append(std::string_view data);
  /// Up to `max` iovecs of the front bytes, for writev; returns how many.
  int peek(iovec* vectors, int max) const;
  void consume(size_t bytes);
  void clear();

 private:
  BufferPool& pool_;
  std::vector<BufferPool::Block> blocks_;
  size_t head_ = 0;  // first unwritten byte of blocks_.front()
  size_t tail_ = 0;  // end of the bytes in blocks_.back()
  size_t size_ = 0;
};

}  // namespace readygate
