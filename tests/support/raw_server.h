// A loopback server whose every connection is played by a test's own function: for backends
// that break HTTP in ways no real server will.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

/// One accepted connection, blocking, with bounded waits.
class RawConnection {
 public:
  /// `stopping`: the server's flag; every wait ends early once it is set.
  RawConnection(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
  int fd() const { return fd_; }
  /// Reads until "\r\n\r\n" (the head, returned with it) or timeout / close (""). Bytes
  /// read past the head stay in `pending()`.
  std::string readHead(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Reads until `bytes` more arrived (after pending ones), EOF or timeout.
  std::string readBytes(size_t bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Reads until EOF or timeout; true on EOF.
  bool waitForEof(std::chrono::milliseconds timeout, std::string* received = nullptr);
  bool send(const std::string& data);
  void shutdownWrite();
  std::string& pending() { return pending_; }

 private:
  bool readable(std::chrono::steady_clock::time_point deadline) const;

  int fd_;
  const std::atomic<bool>& stopping_;
  std::string pending_;
};

/// Listens on 127.0.0.1 (a free port); a thread per connection runs `play` (the
/// connection closes when it returns). Stops within 100 ms of destruction.
class RawServer {
 public:
  using Play = std::function<void(RawConnection&, int index)>;
  explicit RawServer(Play play);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  bool stopping() const { return stopping_.load(); }

 private:
  Play play_;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace testing_support
