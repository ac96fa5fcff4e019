// Writing to a bufferevent's socket at once and arming libevent's write event only when the
// kernel leaves bytes behind, as HAProxy and nginx write: no epoll_ctl pair per response.
#pragma once

#include <cerrno>

#include "proxy/core/libevent_handles.h"

namespace readygate {

/// A bufferevent written this way has its write event off while nothing is pending:
/// bytes added to its output wait for flushNow (libevent schedules no write on its own).
inline void holdWrites(bufferevent* bev) { bufferevent_disable(bev, EV_WRITE); }

/// Writes what `bev`'s output holds, now. Whatever the kernel does not take (or an error,
/// which libevent then reports through the event callback) is left to libevent: its write
/// event is armed until the output is empty. True when the output is empty afterwards.
inline bool flushNow(bufferevent* bev) {
  evbuffer* output = bufferevent_get_output(bev);
  if (evbuffer_get_length(output) == 0) return true;
  if (bufferevent_get_enabled(bev) & EV_WRITE) return false;  // libevent is writing already
  // A socket bufferevent keeps its output's front frozen so that only libevent drains it;
  // its own write callback thaws it around the write, and so does this.
  evbuffer_unfreeze(output, 1);
  int written = evbuffer_write(output, bufferevent_getfd(bev));
  evbuffer_freeze(output, 1);
  (void)written;  // a short write, EAGAIN or an error: libevent takes over below
  if (evbuffer_get_length(output) == 0) return true;
  bufferevent_enable(bev, EV_WRITE);
  return false;
}

/// From the write callback: once libevent has written everything, its write event goes
/// off again, so the next response is written by flushNow.
inline void writesDrained(bufferevent* bev) {
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) bufferevent_disable(bev, EV_WRITE);
}

}  // namespace readygate
