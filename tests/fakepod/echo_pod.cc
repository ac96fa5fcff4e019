// Test pod TCP echo.
#include "tests/fakepod/echo_pod.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <cstring>
#include <iostream>

namespace fakepod {
namespace {

// Stop reading while this much echo is unsent, so a client that never reads fills the
// kernel buffers and blocks, instead of the pod buffering without end.
constexpr size_t kEchoHighWatermark = 1 << 20;

void onRead(bufferevent* bev, void*) {
  evbuffer* output = bufferevent_get_output(bev);
  evbuffer_add_buffer(output, bufferevent_get_input(bev));
  if (evbuffer_get_length(output) >= kEchoHighWatermark) {
    bufferevent_disable(bev, EV_READ);
    bufferevent_setwatermark(bev, EV_WRITE, kEchoHighWatermark / 2, 0);
  }
}

void onWrite(bufferevent* bev, void*) { bufferevent_enable(bev, EV_READ); }

void onEvent(bufferevent* bev, short what, void*) {
  if (what & BEV_EVENT_EOF) {
    // Half-close passed on: finish writing, then close (the test checks for it).
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
      bufferevent_free(bev);
    } else {
      bufferevent_disable(bev, EV_READ);
      bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
      bufferevent_setcb(
          bev, nullptr, [](bufferevent* b, void*) { bufferevent_free(b); }, onEvent, nullptr);
    }
    return;
  }
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) bufferevent_free(bev);
}

}  // namespace

EchoPod::EchoPod(event_base* base, const Options& options) : base_(base), options_(options) {}

EchoPod::~EchoPod() {
  for (evconnlistener* listener : listeners_) evconnlistener_free(listener);
}

bool EchoPod::listen() {
  for (int port : options_.ports) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, options_.host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port));
      length = sizeof *v4;
    } else if (inet_pton(AF_INET6, options_.host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      length = sizeof *v6;
    } else {
      std::cerr << "fakepod: --host must be a numeric address\n";
      return false;
    }
    evconnlistener* listener = evconnlistener_new_bind(
        base_, &EchoPod::onAccept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
        reinterpret_cast<sockaddr*>(&storage), static_cast<int>(length));
    if (listener == nullptr) {
      std::cerr << "fakepod: cannot listen on port " << port << ": " << std::strerror(errno)
                << "\n";
      return false;
    }
    listeners_.push_back(listener);
  }
  return true;
}

void EchoPod::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) {
  auto* pod = static_cast<EchoPod*>(self);
  bufferevent* bev = bufferevent_socket_new(pod->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, onRead, onWrite, onEvent, nullptr);
  if (pod->options_.greeting) {
    std::string greeting = pod->options_.name + "\n";
    bufferevent_write(bev, greeting.data(), greeting.size());
  }
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

}  // namespace fakepod
