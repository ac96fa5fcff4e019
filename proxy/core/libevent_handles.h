// Owning smart pointers for libevent handles, so every handle is freed exactly once.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <memory>

namespace readygate {

/// Deleter that calls a C free function; lets unique_ptr own C handles.
template <typename T, void (*Free)(T*)>
struct FreeWith {
  void operator()(T* handle) const {
    if (handle != nullptr) Free(handle);
  }
};

using EventBasePtr = std::unique_ptr<event_base, FreeWith<event_base, event_base_free>>;
using EventPtr = std::unique_ptr<event, FreeWith<event, event_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, FreeWith<bufferevent, bufferevent_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, FreeWith<evconnlistener, evconnlistener_free>>;
using EvBufferPtr = std::unique_ptr<evbuffer, FreeWith<evbuffer, evbuffer_free>>;

/// Converts seconds (fractional allowed) to the timeval libevent wants.
inline timeval toTimeval(double seconds) {
  if (seconds < 0) seconds = 0;
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

}  // namespace readygate
