// ScriptedBackend implementation: one thread, poll with a short timeout so it stops soon.
#include "tests/support/scripted_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace testing_support {

ScriptedBackend::ScriptedBackend(std::string reply, Ending ending)
    : reply_(std::move(reply)), ending_(ending) {
  listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listenFd_, 64) != 0) {
    throw std::runtime_error("ScriptedBackend: bind/listen failed");
  }
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedBackend::~ScriptedBackend() {
  stopping_ = true;
  thread_.join();
  ::close(listenFd_);
}

void ScriptedBackend::serve() {
  std::vector<int> held;
  while (!stopping_) {
    pollfd ready{listenFd_, POLLIN, 0};
    if (poll(&ready, 1, 50) <= 0) continue;
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    // Read the request head (bounded wait), then play the script.
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd readable{fd, POLLIN, 0};
      if (poll(&readable, 1, 2000) <= 0) break;
      ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      head.append(buffer, static_cast<size_t>(got));
    }
    (void)send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    if (ending_ == Ending::Hold) {
      held.push_back(fd);
      continue;
    }
    if (ending_ == Ending::Reset) {
      linger abort{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    ::close(fd);
  }
  for (int fd : held) ::close(fd);
}

}  // namespace testing_support
