// HttpTestClient implementation.
#include "tests/support/http_client.h"

#include <strings.h>

#include <algorithm>

namespace testing_support {

std::string HttpReply::header(const std::string& name) const {
  size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string::npos) {
    at += 2;
    size_t colon = head.find(':', at);
    size_t end = head.find("\r\n", at);
    if (colon == std::string::npos || end == std::string::npos || colon > end) continue;
    if (colon - at == name.size() &&
        strncasecmp(head.c_str() + at, name.c_str(), name.size()) == 0) {
      size_t value = head.find_first_not_of(' ', colon + 1);
      return head.substr(value, end - value);
    }
  }
  return "";
}

std::string headerLines(size_t bytes) {
  std::string lines;
  for (int i = 0; lines.size() < bytes; ++i) {
    lines += "X-T" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  }
  return lines;
}

std::optional<HttpTestClient> HttpTestClient::connect(int port, const std::string& host) {
  auto client = TcpClient::connect(host, port);
  if (!client) return std::nullopt;
  return HttpTestClient(std::move(*client));
}

bool HttpTestClient::fill(size_t size, std::chrono::steady_clock::time_point deadline) {
  while (buffer_.size() < size) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::string more = client_.receive(size - buffer_.size(), left);
    if (more.empty()) return false;
    buffer_ += more;
  }
  return true;
}

std::optional<HttpReply> HttpTestClient::read(std::chrono::milliseconds timeout, bool headRequest) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpReply reply;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(buffer_.size() + 1, deadline)) return std::nullopt;
  }
  reply.head = buffer_.substr(0, end + 2);
  buffer_.erase(0, end + 4);
  if (reply.head.rfind("HTTP/1.", 0) != 0 || reply.head.size() < 12) return std::nullopt;
  reply.status = std::stoi(reply.head.substr(9, 3));
  if (headRequest || reply.status == 204 || reply.status == 304 ||
      (reply.status >= 100 && reply.status < 200)) {
    return reply;
  }
  std::string length = reply.header("Content-Length");
  reply.chunked = reply.header("Transfer-Encoding") == "chunked";
  if (reply.chunked) {
    while (true) {
      size_t line;
      while ((line = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill(buffer_.size() + 1, deadline)) return std::nullopt;
      }
      size_t size = std::stoul(buffer_.substr(0, line), nullptr, 16);
      buffer_.erase(0, line + 2);
      if (!fill(size + 2, deadline)) return std::nullopt;
      reply.body += buffer_.substr(0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) return reply;  // (no trailers in these tests)
    }
  }
  if (!length.empty()) {
    size_t size = std::stoul(length);
    if (!fill(size, deadline)) return std::nullopt;
    reply.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return reply;
  }
  // Until close.
  while (fill(buffer_.size() + 1, deadline)) {
  }
  reply.body = std::move(buffer_);
  buffer_.clear();
  return reply;
}

std::optional<HttpReply> HttpTestClient::get(const std::string& path,
                                             const std::string& extraHeaders) {
  if (!send("GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extraHeaders + "\r\n")) {
    return std::nullopt;
  }
  return read();
}

void HttpLoad::start(int port, int connections, const std::string& path) {
  for (int i = 0; i < connections; ++i) {
    threads_.emplace_back([this, port, path] {
      auto deadline = std::chrono::steady_clock::now() + 60s;  // bounded whatever happens
      std::optional<HttpTestClient> client;
      while (!stop_ && std::chrono::steady_clock::now() < deadline) {
        if (!client) {
          if (auto made = HttpTestClient::connect(port)) client.emplace(std::move(*made));
        }
        auto reply = client ? client->get(path) : std::nullopt;
        if (reply && reply->status == 200) {
          ++ok_;
        } else {
          ++failed_;
          client.reset();
        }
        if (reply && reply->header("Connection") == "close") client.reset();
      }
    });
  }
}

void HttpLoad::finish() {
  stop_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace testing_support
