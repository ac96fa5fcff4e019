// adminGet implementation: one blocking request; the CLI has nothing else to do meanwhile.
#include "proxy/admin/admin_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace readygate {

std::optional<AdminReply> adminGet(const SocketAddress& address, const std::string& path,
                                   double timeoutSeconds, std::string& error,
                                   const std::string& token) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = strerror(errno);
    return std::nullopt;
  }
  timeval timeout{
      static_cast<time_t>(timeoutSeconds),
      static_cast<suseconds_t>(
          (timeoutSeconds - static_cast<double>(static_cast<time_t>(timeoutSeconds))) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  auto fail = [&](const std::string& what) -> std::optional<AdminReply> {
    error = what + ": " + strerror(errno);
    close(fd);
    return std::nullopt;
  };
  if (connect(fd, address.sockaddrPtr(), address.length()) != 0) {
    return fail("cannot connect to " + address.toString());
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + address.toString() + "\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return fail("send");
  }
  std::string response;
  char buffer[16384];
  while (true) {
    ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got < 0) return fail("receive");
    if (got == 0) break;
    response.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  AdminReply reply;
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) {
    error = "not an HTTP answer from " + address.toString();
    return std::nullopt;
  }
  reply.status = std::atoi(response.c_str() + 9);
  size_t body = response.find("\r\n\r\n");
  reply.body = body == std::string::npos ? "" : response.substr(body + 4);
  return reply;
}

}  // namespace readygate
