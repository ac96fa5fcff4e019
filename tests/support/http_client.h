// A blocking HTTP/1.1 client for integration tests: raw requests out, whole responses in.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/net_helpers.h"

namespace testing_support {

struct HttpReply {
  int status = 0;
  std::string head;  // status line and headers, as received
  std::string body;  // without framing (chunks joined)
  bool chunked = false;
  /// One header's value (case-insensitive name), "" when absent.
  std::string header(const std::string& name) const;
};

/// Header lines ("X-T0: vvv...\r\n", ...) adding up to at least `bytes`: an oversized head
/// or trailer section.
std::string headerLines(size_t bytes);

/// One client connection; requests are written as given (so tests can send anything,
/// pipelined or malformed), responses are read and de-framed.
class HttpTestClient {
 public:
  static std::optional<HttpTestClient> connect(int port, const std::string& host = "127.0.0.1");
  bool send(const std::string& raw) { return client_.sendAll(raw); }
  /// The next whole response; nullopt on timeout, close or garbage. `headRequest`: the
  /// response answers a HEAD (no body follows).
  std::optional<HttpReply> read(std::chrono::milliseconds timeout = 5s, bool headRequest = false);
  /// A GET of `path` on this connection and its response.
  std::optional<HttpReply> get(const std::string& path, const std::string& extraHeaders = "");
  /// True when the server closed the connection within `timeout` (after any bytes).
  bool closedWithin(std::chrono::milliseconds timeout) { return client_.waitForEof(timeout); }
  TcpClient& socket() { return client_; }

 private:
  explicit HttpTestClient(TcpClient client) : client_(std::move(client)) {}
  /// Reads until `buffer_` holds `size` bytes; false on timeout or close.
  bool fill(size_t size, std::chrono::steady_clock::time_point deadline);
  TcpClient client_;
  std::string buffer_;
};

/// Keep-alive GET load from `connections` client threads until finish() (or 60 s),
/// counting every answer; a client that never retries: anything but a 200 is a failure.
class HttpLoad {
 public:
  ~HttpLoad() { finish(); }
  void start(int port, int connections, const std::string& path);
  void finish();
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace testing_support
