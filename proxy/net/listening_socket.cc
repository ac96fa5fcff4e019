// ListeningSocket implementation.
#include "proxy/net/listening_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace readygate {

std::variant<ListeningSocket, std::string> ListeningSocket::open(const SocketAddress& address) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* step) {
    std::string message = std::string(step) + " " + address.toString() + ": " + strerror(errno);
    if (fd >= 0) ::close(fd);
    return message;
  };
  if (fd < 0) return fail("socket");
  int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) return fail("SO_REUSEADDR");
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) return fail("SO_REUSEPORT");
  if (address.family() == AF_INET6) {
    // "[::]:80" means IPv6 only; "0.0.0.0:80" is a separate listener, as in nginx.
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
      return fail("IPV6_V6ONLY");
    }
  }
  if (::bind(fd, address.sockaddrPtr(), address.length()) != 0) return fail("bind");
  if (::listen(fd, SOMAXCONN) != 0) return fail("listen");
  return ListeningSocket(fd);
}

std::optional<std::string> ListeningSocket::checkNotListened(const SocketAddress& address) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;  // the real bind will say what is wrong
  int on = 1;
  // SO_REUSEADDR (not SO_REUSEPORT): TIME_WAIT leftovers and a bound but not listening
  // socket (a test's port reservation) are no conflict; a listener of anyone is.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  std::optional<std::string> inUse;
  if (::bind(fd, address.sockaddrPtr(), address.length()) != 0 && errno == EADDRINUSE) {
    inUse = "bind " + address.toString() +
            ": Address already in use (another process listens there; reusePort: shared " +
            "would share the port with it)";
  }
  ::close(fd);
  return inUse;
}

ListeningSocket& ListeningSocket::operator=(ListeningSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace readygate
