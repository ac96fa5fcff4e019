// Wires the layers together in order: services, listeners, admin, workers, signals, the control
// loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "proxy/admin/admin_server.h"
#include "proxy/app/reloader.h"
#include "proxy/app/service_set.h"
#include "proxy/core/child_reaper.h"
#include "proxy/core/clock.h"
#include "proxy/core/event_loop.h"
#include "proxy/core/timer.h"
#include "proxy/metrics/metrics_report.h"
#include "proxy/net/proxy_worker.h"

namespace readygate {

/// The running proxy. Lives on the main thread, whose loop is the control loop
/// (signals, probes, admin API, reloads); workers proxy.
class Server {
 public:
  /// `configPath` is re-read on SIGHUP and POST /reload.
  Server(Config config, std::string configPath);
  ~Server();

  /// Binds every listener, starts the workers and runs until SIGTERM or SIGINT has
  /// drained them. Returns the process exit code (1 when a listener cannot bind).
  int run();

 private:
  bool bindListeners(std::vector<std::vector<ProxyWorker::Binding>>& perWorker);
  bool startAdmin();
  /// Reads admin.tokenFile into adminToken_; false (and logged) when it cannot.
  bool loadAdminToken();
  void beginShutdown(const char* signalName);
  void onWorkerStopped();
  static void onSignal(evutil_socket_t signal, short, void* self);

  Config config_;
  const std::string configPath_;
  ServerCounters counters_;
  EventLoop control_;
  SteadyClock clock_;
  ChildReaper reaper_{control_.base()};
  ProbeTimingStats probeTiming_;
  ServiceSet services_{control_.base(), clock_, reaper_, probeTiming_};
  std::vector<std::unique_ptr<ProxyWorker>> workers_;
  Reloader reloader_{configPath_, config_, services_, workers_, counters_};
  std::unique_ptr<AdminServer> admin_;
  std::string adminToken_;
  std::vector<EventPtr> signalEvents_;
  void dropFinishedServices() { services_.dropFinished(); }
  void closeListenersAndDrain();
  // Frees removed services once drained.
  Timer housekeeping_{Timer::calling<&Server::dropFinishedServices>(control_.base(), this)};
  // SIGTERM -> listeners close after shutdownDelaySeconds.
  Timer shutdownDelay_{Timer::calling<&Server::closeListenersAndDrain>(control_.base(), this)};
  bool shuttingDown_ = false;
  size_t stoppedWorkers_ = 0;
};

}  // namespace readygate
