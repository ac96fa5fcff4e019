// readygate command line: parse flags, load the configuration, run or check it.
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "config/config_loader.h"
#include "proxy/admin/admin_client.h"
#include "proxy/admin/event_lines.h"
#include "proxy/app/listener_certificates.h"
#include "proxy/app/server.h"
#include "proxy/upstream/service_settings.h"
#include "proxy/core/file_reader.h"
#include "proxy/core/log.h"
#include "readygate/version.h"

namespace {

constexpr const char* kUsage =
    R"(usage: readygate -c FILE [--log-level LEVEL] [--log-queue-kib N] [--log-rate N]
       readygate --check -c FILE
       readygate status [--admin ADDRESS] [--token-file FILE] [--watch]
       readygate health [--admin ADDRESS]
       readygate --version | --help

  -c, --config FILE     configuration file (YAML)
      --check           validate the configuration, print every error, exit 0 or 1
      --log-level LEVEL debug, info, warn or error (default info)
      --log-queue-kib N log lines waiting for stderr, at most N KiB (16-1048576,
                        default 4096); past it lines are dropped and counted, so a
                        stderr nobody reads never stops proxying
      --log-rate N      lines per second one event may write (0-1000000, 0 = no
                        limit, default 200); the rest are summed up in one line
      --version         print the version and exit
  -h, --help            print this help and exit

  status                print every backend's state, reason and last probe, from the
                        admin API of a running readygate (--admin, default
                        $READYGATE_ADMIN or 127.0.0.1:9901); with --watch, then every
                        state change kept (the last 1,000) and each new one as it
                        happens, the same timeline as the admin console's, until ^C
  health                exit 0 when a running readygate's /healthz answers 200, else 1
                        (a container HEALTHCHECK that needs no curl in the image)

Signals: SIGTERM/SIGINT stop accepting and let open connections finish (up to the
largest drainTimeoutSeconds); a second one closes them at once. SIGHUP (or POST
/reload on the admin API) re-reads the file, validates all of it and applies the
difference: services added, removed or changed, listen addresses, probes, endpoints
and settings. Only workers and admin.listen need a restart. A bad file is rejected
with every error (logged, counted in readygate_config_reloads_total{result="failure"})
and the running configuration stays.
)";

struct Options {
  std::string configPath;
  bool check = false;
  readygate::LogLevel logLevel = readygate::LogLevel::Info;
  long logQueueKib = 4096;
  long logRate = 200;
};

/// A whole number within [low, high], or nullopt.
std::optional<long> boundedNumber(const char* text, long low, long high) {
  if (text == nullptr || *text == 0) return std::nullopt;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != 0 || value < low || value > high) return std::nullopt;
  return value;
}

int usageError(const std::string& message) {
  std::cerr << "readygate: " << message << "\n\n" << kUsage;
  return 2;
}

/// What `status` and `health` are told: where the admin API is, and its token.
struct AdminTarget {
  readygate::SocketAddress address;
  std::string token;
};

/// Parses `--admin ADDRESS`, and where allowed `--token-file FILE` and `--watch` (when
/// `watch` is given). On a usage error: nullopt, the error printed, and the exit code in
/// `exitCode`.
std::optional<AdminTarget> parseAdminTarget(int argc, char** argv, bool tokenAllowed,
                                            int& exitCode, bool* watch = nullptr) {
  using namespace readygate;
  // READYGATE_ADMIN lets an image's HEALTHCHECK or `podman exec ... readygate status`
  // follow a config whose admin API is not at the default address.
  const char* fromEnvironment = std::getenv("READYGATE_ADMIN");
  std::string admin =
      fromEnvironment != nullptr && *fromEnvironment != 0 ? fromEnvironment : "127.0.0.1:9901";
  std::string token;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--admin" && i + 1 < argc) {
      admin = argv[++i];
    } else if (watch != nullptr && arg == "--watch") {
      *watch = true;
    } else if (tokenAllowed && arg == "--token-file" && i + 1 < argc) {
      auto read = readRegularFile(argv[++i]);
      token = fileContent(read) ? *fileContent(read) : "";
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
      if (token.empty()) {
        exitCode = usageError("--token-file: cannot read a token from it");
        return std::nullopt;
      }
    } else {
      exitCode = usageError(std::string(argv[1]) + " takes --admin ADDRESS" +
                            (tokenAllowed ? ", --token-file FILE" : "") +
                            (watch != nullptr ? " and --watch" : ""));
      return std::nullopt;
    }
  }
  auto address = SocketAddress::parse(admin);
  if (auto* error = std::get_if<std::string>(&address)) {
    exitCode = usageError("--admin \"" + admin + "\": " + *error);
    return std::nullopt;
  }
  return AdminTarget{std::get<SocketAddress>(address), token};
}

/// `readygate status --watch`: /events once a second, each state change a line, until
/// interrupted. An admin API that goes away (readygate restarting) is waited for.
int watchEvents(const AdminTarget& target) {
  using namespace readygate;
  std::cout << "\nstate changes (^C to stop):" << std::endl;
  uint64_t next = 0;
  bool reachable = true;
  while (true) {
    std::string error;
    auto reply =
        adminGet(target.address, "/events?since=" + std::to_string(next), 5, error, target.token);
    if (reply && reply->status != 200) {
      std::cerr << "readygate status: /events answered " << reply->status << ": " << reply->body;
      return 1;
    }
    std::optional<EventLines> events;
    if (reply) events = eventLinesFrom(reply->body, error);
    if (!events) {
      if (reachable) std::cerr << "readygate status: " << error << "; retrying" << std::endl;
      reachable = false;
    } else {
      if (!reachable) std::cerr << "readygate status: the admin API answers again" << std::endl;
      reachable = true;
      if (events->truncated) {
        std::cout << (next > events->next ? "(readygate restarted: its kept changes follow)"
                                          : "(older changes were dropped)")
                  << "\n";
      }
      for (const std::string& line : events->lines) std::cout << line << "\n";
      std::cout.flush();
      next = events->next;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

/// `readygate status`: the /status table of a running instance.
int statusCommand(int argc, char** argv) {
  using namespace readygate;
  int exitCode = 0;
  bool watch = false;
  auto target = parseAdminTarget(argc, argv, true, exitCode, &watch);
  if (!target) return exitCode;
  std::string error;
  auto reply = adminGet(target->address, "/status?format=text", 5, error, target->token);
  if (!reply) {
    std::cerr << "readygate status: " << error << " (is readygate running with admin.listen "
              << target->address.toString() << "?)\n";
    return 1;
  }
  if (reply->status != 200) {
    std::cerr << "readygate status: admin API answered " << reply->status << ": " << reply->body;
    return 1;
  }
  std::cout << reply->body;
  if (watch) return watchEvents(*target);
  return 0;
}

/// `readygate health`: a liveness check of a running instance through its /healthz, for a
/// container's HEALTHCHECK (the runtime image has no curl). /healthz needs no token.
int healthCommand(int argc, char** argv) {
  using namespace readygate;
  int exitCode = 0;
  auto target = parseAdminTarget(argc, argv, false, exitCode);
  if (!target) return exitCode;
  std::string error;
  auto reply = adminGet(target->address, "/healthz", 2, error, "");
  if (!reply) {
    std::cerr << "readygate health: " << error << "\n";
    return 1;
  }
  if (reply->status != 200) {
    std::cerr << "readygate health: /healthz answered " << reply->status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace readygate;
  if (argc >= 2 && std::string_view(argv[1]) == "status") return statusCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "health") return healthCommand(argc, argv);
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "readygate " << kVersion << "\n";
      return 0;
    } else if (arg == "--check") {
      options.check = true;
    } else if (arg == "-c" || arg == "--config") {
      const char* path = value(arg);
      if (path == nullptr) return usageError(std::string(arg) + " needs a file");
      options.configPath = path;
    } else if (arg == "--log-level") {
      const char* text = value(arg);
      auto level = text ? parseLogLevel(text) : std::nullopt;
      if (!level) return usageError("--log-level must be debug, info, warn or error");
      options.logLevel = *level;
    } else if (arg == "--log-queue-kib") {
      auto kib = boundedNumber(value(arg), 16, 1048576);
      if (!kib) return usageError("--log-queue-kib must be a number from 16 to 1048576");
      options.logQueueKib = *kib;
    } else if (arg == "--log-rate") {
      auto rate = boundedNumber(value(arg), 0, 1000000);
      if (!rate) return usageError("--log-rate must be a number from 0 to 1000000");
      options.logRate = *rate;
    } else {
      return usageError("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  if (options.configPath.empty()) return usageError("a configuration file is required (-c FILE)");
  setLogLevel(options.logLevel);
  setLogLimits(static_cast<size_t>(options.logQueueKib) * 1024, static_cast<int>(options.logRate));

  ConfigLoadResult loaded = loadConfigFile(options.configPath);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) {
      std::cerr << options.configPath << ": " << error.toString() << "\n";
    }
    std::cerr << options.configPath << ": " << loaded.errors.size()
              << (loaded.errors.size() == 1 ? " error" : " errors") << ", configuration rejected\n";
    return 1;
  }
  for (const ConfigError& warning : loaded.warnings) {
    std::cerr << options.configPath << ": warning: " << warning.toString() << "\n";
  }
  if (options.check) {
    // Certificates are checked as a start would read them (nginx -t, haproxy -c do too):
    // a file that is missing or a pair that does not match fails the check.
    int badCertificates = 0;
    for (const ServiceConfig& service : loaded.config->services) {
      if (!service.tls) continue;
      auto certificates = ListenerCertificates::load(service.tls->certificates,
                                                     loaded.config->maxFileBytes, nullptr);
      if (auto* error = std::get_if<std::string>(&certificates)) {
        std::cerr << options.configPath << ": service " << service.name << ": tls: " << *error
                  << "\n";
        ++badCertificates;
      }
    }
    for (const ServiceConfig& service : loaded.config->services) {
      if (!service.upstreamTls) continue;
      auto context = TlsClientContext::create(
          upstreamTlsOptions(*service.upstreamTls, loaded.config->maxFileBytes,
                             service.upstreamProtocol));
      if (auto* error = std::get_if<std::string>(&context)) {
        std::cerr << options.configPath << ": service " << service.name
                  << ": upstreamTls: " << *error << "\n";
        ++badCertificates;
      }
    }
    if (badCertificates > 0) {
      std::cerr << options.configPath << ": configuration rejected (certificates)\n";
      return 1;
    }
    std::cout << options.configPath << ": configuration is valid ("
              << loaded.config->services.size() << " service"
              << (loaded.config->services.size() == 1 ? "" : "s") << ")\n";
    return 0;
  }

  // A peer closing mid-write must be an error return, not the end of the process.
  std::signal(SIGPIPE, SIG_IGN);
  logEvent(LogLevel::Info, "starting", {{"version", kVersion}, {"config", options.configPath}});
  int status;
  {
    Server server(std::move(*loaded.config), options.configPath);
    status = server.run();
  }
  // Log lines are written by a thread of their own: give the last ones a moment to go
  // out, but never hang on a stderr nobody reads.
  flushLogs(2);
  return status;
}
