// Loopback socket helpers.
#include "tests/support/net_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"

namespace testing_support {
namespace {

bool toSockaddr(const std::string& host, int port, sockaddr_storage& storage, socklen_t& length) {
  std::memset(&storage, 0, sizeof storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v6;
    return true;
  }
  return false;
}

bool waitReadable(int fd, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(left.count())) > 0;
}

}  // namespace

int freePort(const char* host) {
  // The port stays reserved by a bound, never-listening socket until this test process
  // ends: parallel tests cannot be handed the same port, while fakepod (SO_REUSEADDR) and
  // readygate (SO_REUSEADDR + SO_REUSEPORT) can still bind it, and connects to it are
  // refused until they do.
  static std::vector<int> reservations;
  sockaddr_storage storage;
  socklen_t length;
  toSockaddr(host, 0, storage, length);
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    ::close(fd);
    return 0;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  int port = storage.ss_family == AF_INET
                 ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
                 : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  reservations.push_back(fd);
  return port;
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

TcpClient::~TcpClient() { close(); }

void TcpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<TcpClient> TcpClient::connect(const std::string& host, int port,
                                            std::chrono::milliseconds timeout) {
  sockaddr_storage storage;
  socklen_t length;
  if (!toSockaddr(host, port, storage, length)) return std::nullopt;
  int fd = socket(storage.ss_family, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return TcpClient(fd);
}

bool TcpClient::sendAll(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string TcpClient::receive(size_t bytes, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[65536];
  while (data.size() < bytes) {
    if (!waitReadable(fd_, deadline)) break;
    size_t want = std::min(sizeof buffer, bytes - data.size());
    ssize_t n = ::recv(fd_, buffer, want, 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

std::optional<std::string> TcpClient::receiveLine(std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char c;
  while (true) {
    if (!waitReadable(fd_, deadline)) return std::nullopt;
    if (::recv(fd_, &c, 1, 0) != 1) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
}

bool TcpClient::waitForEof(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (waitReadable(fd_, deadline)) {
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
  return false;
}

void TcpClient::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

IdleListener::IdleListener(int backlog, int port, bool sharingPort) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  if (sharingPort) {
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd_, backlog) != 0) {
    throw std::runtime_error("IdleListener: bind/listen failed");
  }
  getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

IdleListener::~IdleListener() { ::close(fd_); }

std::vector<std::string> podsReached(int port, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    auto client = TcpClient::connect("127.0.0.1", port);
    if (!client) {
      names.push_back("refused");
      continue;
    }
    names.push_back(client->receiveLine(2s).value_or("closed"));
  }
  return names;
}

std::set<std::string> distinct(const std::vector<std::string>& names) {
  return std::set<std::string>(names.begin(), names.end());
}

void replaceFile(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp";
  std::ofstream(temporary) << content;
  std::rename(temporary.c_str(), path.c_str());
}

long residentKib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double cpuSeconds(int pid) {
  std::string stat = readProcFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  // After "(comm)": state is field 3; utime and stime are fields 14 and 15.
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool canConnect(const std::string& host, int port) {
  return TcpClient::connect(host, port, 500ms).has_value();
}

std::string httpGet(const std::string& host, int port, const std::string& path,
                    std::chrono::milliseconds timeout) {
  auto client = TcpClient::connect(host, port, timeout);
  if (!client) return "";
  if (!client->sendAll("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n")) return "";
  return client->receive(1 << 20, timeout);
}

}  // namespace testing_support
