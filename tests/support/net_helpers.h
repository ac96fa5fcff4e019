// Loopback socket helpers for integration tests: free ports, blocking clients, waiting.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace testing_support {

using namespace std::chrono_literals;

/// A loopback port reserved for this test process; nobody listens on it until the test
/// starts something there. 0 when the address family is unavailable.
int freePort(const char* host = "127.0.0.1");

/// Polls `condition` until it holds or `timeout` passes; the way tests wait, never a bare sleep.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = 10ms);

/// A blocking TCP client socket with send/receive timeouts.
class TcpClient {
 public:
  TcpClient() = default;
  ~TcpClient();
  TcpClient(TcpClient&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  TcpClient& operator=(TcpClient&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  TcpClient(const TcpClient&) = delete;

  static std::optional<TcpClient> connect(const std::string& host, int port,
                                          std::chrono::milliseconds timeout = 2s);
  int fd() const { return fd_; }
  bool sendAll(const std::string& data);
  /// Reads until `bytes` arrived, EOF or timeout; returns what arrived.
  std::string receive(size_t bytes, std::chrono::milliseconds timeout = 5s);
  /// Reads one line (without "\n").
  std::optional<std::string> receiveLine(std::chrono::milliseconds timeout = 5s);
  /// True when the peer closed (EOF) within `timeout`, after discarding any data.
  bool waitForEof(std::chrono::milliseconds timeout);
  void shutdownWrite();
  void close();

 private:
  explicit TcpClient(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// A plain loopback listener (no SO_REUSEPORT) that never accepts; closed on destruction.
/// Holds a port against other binds, or with a tiny backlog black-holes connects. With
/// `sharingPort` it binds with SO_REUSEPORT on 127.0.0.1:`port` instead: a stale second
/// proxy that would take a share of the port's connections.
class IdleListener {
 public:
  explicit IdleListener(int backlog, int port = 0, bool sharingPort = false);
  ~IdleListener();
  IdleListener(const IdleListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// Which pod answers each of `count` new connections to 127.0.0.1:`port` (echo pods
/// started with --greeting say their name first); "closed" when the connection was
/// closed instead, "refused" when it was not accepted.
std::vector<std::string> podsReached(int port, int count);
std::set<std::string> distinct(const std::vector<std::string>& names);

/// Writes `content` next to `path` and renames it over `path`: an atomic replacement,
/// as writers of a watched endpoints file must do.
void replaceFile(const std::string& path, const std::string& content);

/// The resident memory of process `pid` in KiB (-1 when unknown).
long residentKib(int pid);
/// Whether this build runs under a sanitizer (memory and CPU figures mean little then).
inline bool underSanitizer() { return sizeof(READYGATE_SANITIZED) > 1; }
/// CPU time (user + system) `pid` has used so far, in seconds; -1 when it is gone.
double cpuSeconds(int pid);

/// True when something accepts TCP connections at host:port.
bool canConnect(const std::string& host, int port);

/// One HTTP/1.0 GET; returns the whole response (headers and body), empty on failure.
std::string httpGet(const std::string& host, int port, const std::string& path,
                    std::chrono::milliseconds timeout = 3s);

}  // namespace testing_support
