// LogSink implementation.
#include "proxy/core/log_sink.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "proxy/core/time_format.h"

namespace readygate {
namespace {

/// Writes all of `data`, waiting for a non-blocking fd to become writable. Gives up on
/// any error but EINTR/EAGAIN: a closed stderr must not become a spinning thread.
void writeFully(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t written = ::write(fd, data.data() + done, data.size() - done);
    if (written > 0) {
      done += static_cast<size_t>(written);
    } else if (written < 0 && errno == EINTR) {
      continue;
    } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd waiter{fd, POLLOUT, 0};
      ::poll(&waiter, 1, 1000);
    } else {
      return;
    }
  }
}

}  // namespace

LogSink::LogSink(int fd, Limits limits, const Clock& clock)
    : fd_(fd), limits_(limits), clock_(clock) {
  writer_ = std::thread([this] { run(); });
}

LogSink::~LogSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

bool LogSink::enqueueLocked(std::string line) {
  if (queuedBytes_ + line.size() > limits_.maxQueuedBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queuedBytes_ += line.size();
  queue_.push_back(std::move(line));
  return true;
}

bool LogSink::admitLocked(std::string_view event) {
  if (limits_.ratePerSecond <= 0) return true;
  double now = clock_.now();
  auto found = windows_.find(std::string(event));
  if (found == windows_.end())
    found = windows_.emplace(std::string(event), Window{now, 0, 0}).first;
  Window& window = found->second;
  if (now - window.startedAt >= 1.0) summarizeEndedWindows(now);
  if (window.written >= limits_.ratePerSecond) {
    ++window.suppressed;
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  ++window.written;
  return true;
}

bool LogSink::admit(std::string_view event) {
  std::lock_guard lock(mutex_);
  return admitLocked(event);
}

void LogSink::enqueue(std::string line) {
  bool queued;
  {
    std::lock_guard lock(mutex_);
    queued = enqueueLocked(std::move(line));
  }
  if (queued) wake_.notify_one();
}

void LogSink::write(std::string_view event, std::string line) {
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (admitLocked(event)) queued = enqueueLocked(std::move(line));
  }
  if (queued) wake_.notify_one();
}

void LogSink::summarizeEndedWindows(double now) {
  for (auto& [event, window] : windows_) {
    if (now - window.startedAt < 1.0) continue;
    if (window.suppressed > 0) {
      std::string line = "ts=" + formatUtcMillis(std::chrono::system_clock::now()) +
                         " level=warn event=log_suppressed suppressed_event=" + event +
                         " suppressed=" + std::to_string(window.suppressed) + "\n";
      enqueueLocked(std::move(line));
    }
    window = Window{now, 0, 0};
  }
}

void LogSink::setLimits(Limits limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
}

bool LogSink::flush(double timeoutSeconds) {
  std::unique_lock lock(mutex_);
  return drained_.wait_for(lock, std::chrono::duration<double>(timeoutSeconds),
                           [this] { return queue_.empty() && !writing_; });
}

void LogSink::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    // Wakes at least once a second so a burst that ended still gets its summary.
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return !queue_.empty() || stopping_; });
    if (limits_.ratePerSecond > 0) summarizeEndedWindows(clock_.now());
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::string batch;
    while (!queue_.empty() && batch.size() < 64 * 1024) {
      batch += queue_.front();
      queuedBytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    writing_ = true;
    lock.unlock();
    writeFully(fd_, batch);  // may block for as long as the reader wants: only this thread waits
    lock.lock();
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace readygate
