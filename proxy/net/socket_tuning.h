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

/// Reads and writes of up to `bytes` at a time (libevent's default is 16 KiB), so a
/// body the size of the buffer moves in one system call each way instead of four.
inline void setSingleTransfer(bufferevent* bev, size_t bytes) {
  bufferevent_set_max_single_read(bev, bytes);
  bufferevent_set_max_single_write(bev, bytes);
}

}  // namespace readygate
