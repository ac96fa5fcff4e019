// OutputQueue implementation.
#include "proxy/transport/output_queue.h"

#include <algorithm>
#include <cstring>

namespace readygate {

void OutputQueue::append(std::string_view data) {
  size_t blockBytes = pool_.blockBytes();
  while (!data.empty()) {
    if (blocks_.empty() || tail_ == blockBytes) {
      blocks_.push_back(pool_.acquire());
      tail_ = 0;
    }
    size_t take = std::min(data.size(), blockBytes - tail_);
    std::memcpy(blocks_.back().get() + tail_, data.data(), take);
    tail_ += take;
    size_ += take;
    data.remove_prefix(take);
  }
}

int OutputQueue::peek(iovec* vectors, int max) const {
  int count = 0;
  for (size_t i = 0; i < blocks_.size() && count < max; ++i) {
    size_t begin = i == 0 ? head_ : 0;
    size_t end = i + 1 == blocks_.size() ? tail_ : pool_.blockBytes();
    if (end == begin) continue;
    vectors[count].iov_base = blocks_[i].get() + begin;
    vectors[count].iov_len = end - begin;
    ++count;
  }
  return count;
}

void OutputQueue::consume(size_t bytes) {
  bytes = std::min(bytes, size_);
  size_ -= bytes;
  size_t blockBytes = pool_.blockBytes();
  size_t released = 0;
  while (bytes > 0 || (released < blocks_.size() && size_ == 0)) {
    size_t end = released + 1 == blocks_.size() ? tail_ : blockBytes;
    size_t available = end - head_;
    if (bytes < available) {
      head_ += bytes;
      break;
    }
    bytes -= available;
    pool_.release(std::move(blocks_[released]));
    ++released;
    head_ = 0;
  }
  blocks_.erase(blocks_.begin(), blocks_.begin() + static_cast<std::ptrdiff_t>(released));
  if (blocks_.empty()) head_ = tail_ = 0;
}

void OutputQueue::clear() {
  for (BufferPool::Block& block : blocks_) pool_.release(std::move(block));
  blocks_.clear();
  head_ = tail_ = size_ = 0;
}

}  // namespace readygate
