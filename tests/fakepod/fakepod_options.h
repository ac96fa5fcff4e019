// Command line of the test pod.
#pragma once

#include <string>
#include <vector>

namespace fakepod {

struct Options {
  std::string name;  // default: the host name (a container replica tells itself apart)
  std::string host = "127.0.0.1";
  std::vector<int> ports;
  bool echo = false;               // TCP echo instead of HTTP
  bool greeting = false;           // echo mode: send "NAME\n" first, so tests can tell pods apart
  double startupDelaySeconds = 0;  // sleep before listening, like a slow-booting app
  double killInSeconds = 0;        // exit abruptly after this long (KILL_IN_SECONDS)
  bool failRoot = false;  // "/" answers 500 while /ready and /_health pass (for outlier detection)
  double idleTimeoutSeconds =
      0;                      // HTTP keep-alive: close idle connections after this; 0 = evhttp's
  int readyToggleEvery = 0;   // /ready: flip ready/unready every N hits (the flask ready_cnt)
  bool startUnready = false;  // /ready answers 503 until /control/ready/on
  std::string tlsCert;        // serve HTTPS with this certificate and key
  std::string tlsKey;
  int grpcPort = 0;            // also serve grpc.health.v1 (h2c) on this port
  bool grpcNotServing = false;  // start NOT_SERVING (flip with /control/grpc/serving)
};

/// Parses argv; prints usage and exits on error.
Options parseOptions(int argc, char** argv);

}  // namespace fakepod
