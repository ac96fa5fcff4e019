// RawServer implementation: poll-based accept loop, one thread per connection.
#include "tests/support/raw_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace testing_support {

/// Waits for input until `deadline` (in slices, so a stopping server ends it); false on
/// timeout or stop.
bool RawConnection::readable(std::chrono::steady_clock::time_point deadline) const {
  while (!stopping_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready{fd_, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(std::min<long>(left.count(), 50))) > 0) return true;
  }
  return false;
}

std::string RawConnection::readHead(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  size_t end;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!readable(deadline)) return "";
    ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    if (got <= 0) return "";
    pending_.append(buffer, static_cast<size_t>(got));
  }
  std::string head = pending_.substr(0, end + 4);
  pending_.erase(0, end + 4);
  return head;
}

std::string RawConnection::readBytes(size_t bytes, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (pending_.size() < bytes) {
    if (!readable(deadline)) break;
    ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    pending_.append(buffer, static_cast<size_t>(got));
  }
  std::string out = pending_.substr(0, std::min(bytes, pending_.size()));
  pending_.erase(0, out.size());
  return out;
}

bool RawConnection::waitForEof(std::chrono::milliseconds timeout, std::string* received) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (readable(deadline)) {
    ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    if (got <= 0) return true;
    if (received) received->append(buffer, static_cast<size_t>(got));
  }
  return false;
}

bool RawConnection::send(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t wrote = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (wrote <= 0) return false;
    sent += static_cast<size_t>(wrote);
  }
  return true;
}

void RawConnection::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

RawServer::RawServer(Play play) : play_(std::move(play)) {
  listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listenFd_, 128) != 0) {
    throw std::runtime_error("RawServer: bind/listen failed");
  }
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd ready{listenFd_, POLLIN, 0};
      if (poll(&ready, 1, 50) <= 0) continue;
      int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int index = connections_++;
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.emplace_back([this, fd, index] {
        RawConnection connection(fd, stopping_);
        play_(connection, index);
        ::close(fd);
      });
    }
  });
}

RawServer::~RawServer() {
  stopping_ = true;
  acceptor_.join();
  ::close(listenFd_);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& thread : threads_) thread.join();
}

}  // namespace testing_support
