// Small helpers every session kind uses on its bufferevents and loop times.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// Seconds from `from` to `to` (the loop's cached times).
inline double secondsBetween(const timeval& from, const timeval& to) {
  return static_cast<double>(to.tv_sec - from.tv_sec) +
         static_cast<double>(to.tv_usec - from.tv_usec) / 1e6;
}

/// Proxied bytes go out at once: the peer decides how to batch, not Nagle.
inline void setNoDelay(bufferevent* bev) {
  int on = 1;
  evutil_socket_t fd = bufferevent_getfd(bev);
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

}  // namespace readygate
