// Reload: parse and validate the whole new file, diff it against the running configuration, apply.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "proxy/app/service_set.h"
#include "proxy/metrics/metrics_report.h"
#include "proxy/net/proxy_worker.h"

namespace readygate {

struct ReloadOutcome {
  bool applied = false;
  std::vector<std::string> errors;   // why it was rejected: every problem at once
  std::vector<std::string> changes;  // what it changed
};

/// Applies a new configuration as a diff keyed by service name (config/reload_plan.h).
/// Everything that can fail (parse, validation, restart-only fields, TLS files, binding
/// new listen addresses) is done before anything changes, so a rejected reload leaves
/// the running configuration exactly as it was.
class Reloader {
 public:
  Reloader(std::string configPath, Config& running, ServiceSet& services,
           std::vector<std::unique_ptr<ProxyWorker>>& workers, ServerCounters& counters);

  /// SIGHUP and POST /reload. Logs and counts the outcome.
  ReloadOutcome reload();

 private:
  ReloadOutcome tryReload();
  void bindTo(ServiceMembers& members, const SocketAddress& address,
              std::vector<ListeningSocket> sockets);

  const std::string configPath_;
  Config& running_;
  ServiceSet& services_;
  std::vector<std::unique_ptr<ProxyWorker>>& workers_;
  ServerCounters& counters_;
};

}  // namespace readygate
