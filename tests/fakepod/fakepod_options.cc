// Test pod command-line parsing.
#include "tests/fakepod/fakepod_options.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace fakepod {
namespace {

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "fakepod: " << error << "\n"
            << "usage: fakepod --port P [--port P2] [--port-range A-B] [--name NAME (default: host "
               "name)] "
               "[--host ADDR] "
               "[--echo [--greeting]]\n"
               "               [--startup-delay SEC] [--kill-in SEC] [--ready-toggle N]\n"
               "               [--start-unready] [--tls-cert FILE --tls-key FILE]\n"
               "               [--idle-timeout SEC]   close idle keep-alive connections\n"
               "               [--fail-root]          / answers 500, probes still pass\n"
               "HTTP paths: / (hello from NAME), /_health, /ready, /start-failing, /stop-failing,\n"
               "            /control/ready/on, /control/ready/off, /hits, /requests,\n"
               "            /bytes/N (N bytes), /echo, /sink, /headers, /status/CODE;\n"
               "            any path takes ?delay_ms=N to answer late.\n"
               "KILL_IN_SECONDS in the environment works like --kill-in.\n";
  std::exit(2);
}

double number(const char* text, const char* flag) {
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || value < 0) usage(std::string(flag) + " needs a number");
  return value;
}

}  // namespace

Options parseOptions(int argc, char** argv) {
  Options options;
  if (const char* kill = std::getenv("KILL_IN_SECONDS")) {
    options.killInSeconds = number(kill, "KILL_IN_SECONDS");
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--name")
      options.name = value();
    else if (arg == "--host")
      options.host = value();
    else if (arg == "--port")
      options.ports.push_back(static_cast<int>(number(value(), "--port")));
    else if (arg == "--port-range") {
      // FIRST-LAST: one pod answering on many ports, to stand in for many backends.
      std::string range = value();
      size_t dash = range.find('-');
      if (dash == std::string::npos) usage("--port-range needs FIRST-LAST");
      int first = static_cast<int>(number(range.substr(0, dash).c_str(), "--port-range"));
      int last = static_cast<int>(number(range.substr(dash + 1).c_str(), "--port-range"));
      if (first > last || last > 65535) usage("--port-range needs FIRST-LAST");
      for (int port = first; port <= last; ++port) options.ports.push_back(port);
    } else if (arg == "--echo")
      options.echo = true;
    else if (arg == "--greeting")
      options.greeting = true;
    else if (arg == "--startup-delay")
      options.startupDelaySeconds = number(value(), "--startup-delay");
    else if (arg == "--fail-root")
      options.failRoot = true;
    else if (arg == "--idle-timeout")
      options.idleTimeoutSeconds = number(value(), "--idle-timeout");
    else if (arg == "--kill-in")
      options.killInSeconds = number(value(), "--kill-in");
    else if (arg == "--ready-toggle") {
      options.readyToggleEvery = static_cast<int>(number(value(), "--ready-toggle"));
    } else if (arg == "--grpc-port") {
      options.grpcPort = static_cast<int>(number(value(), "--grpc-port"));
    } else if (arg == "--grpc-not-serving") {
      options.grpcNotServing = true;
    } else if (arg == "--start-unready")
      options.startUnready = true;
    else if (arg == "--tls-cert")
      options.tlsCert = value();
    else if (arg == "--tls-key")
      options.tlsKey = value();
    else
      usage("unknown argument " + std::string(arg));
  }
  if (options.ports.empty()) usage("at least one --port or --port-range is required");
  if (options.name.empty()) {
    char host[256] = {};
    options.name = gethostname(host, sizeof(host) - 1) == 0 && host[0] != 0 ? host : "fakepod";
  }
  if (options.tlsCert.empty() != options.tlsKey.empty()) {
    usage("--tls-cert and --tls-key go together");
  }
  return options;
}

}  // namespace fakepod
