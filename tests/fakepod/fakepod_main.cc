// fakepod: a test server that behaves like the Flask pods of the field notes.
#include <event2/event.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "tests/fakepod/echo_pod.h"
#include "tests/fakepod/fakepod_options.h"
#include "tests/fakepod/grpc_pod.h"
#include "tests/fakepod/http_pod.h"

int main(int argc, char** argv) {
  fakepod::Options options = fakepod::parseOptions(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  if (options.startupDelaySeconds > 0) {
    // A slow boot: nothing listens yet, so connects are refused, as with a starting pod.
    usleep(static_cast<useconds_t>(options.startupDelaySeconds * 1e6));
  }
  event_base* base = event_base_new();
  fakepod::HttpPod http(base, options);
  fakepod::EchoPod echo(base, options);
  bool listening = options.echo ? echo.listen() : http.listen();
  if (!listening) return 1;
  fakepod::GrpcPod grpc(base, options);
  if (options.grpcNotServing) fakepod::grpcServingStatus() = 2;
  if (options.grpcPort > 0 && !grpc.listen()) return 1;
  std::cout << "fakepod name=" << options.name << " listening" << std::endl;

  event* killTimer = nullptr;
  if (options.killInSeconds > 0) {
    // Like a container that dies: no goodbye, open connections are reset by the kernel.
    killTimer = evtimer_new(
        base, [](evutil_socket_t, short, void*) { _exit(137); }, nullptr);
    timeval tv{
        static_cast<time_t>(options.killInSeconds),
        static_cast<suseconds_t>((options.killInSeconds -
                                  static_cast<double>(static_cast<time_t>(options.killInSeconds))) *
                                 1e6)};
    evtimer_add(killTimer, &tv);
  }
  event* stop = evsignal_new(
      base, SIGTERM,
      [](evutil_socket_t, short, void* b) { event_base_loopbreak(static_cast<event_base*>(b)); },
      base);
  evsignal_add(stop, nullptr);
  event_base_dispatch(base);
  event_free(stop);
  if (killTimer) event_free(killTimer);
  return 0;
}
