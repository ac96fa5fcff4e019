// The test pod's TCP face: echo every byte back, with backpressure.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <vector>

#include "tests/fakepod/fakepod_options.h"

namespace fakepod {

class EchoPod {
 public:
  EchoPod(event_base* base, const Options& options);
  ~EchoPod();
  bool listen();

 private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self);

  event_base* base_;
  const Options& options_;
  std::vector<evconnlistener*> listeners_;
};

}  // namespace fakepod
