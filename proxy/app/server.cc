// Server implementation.
#include "proxy/app/server.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "proxy/app/admin_api.h"
#include "proxy/core/file_reader.h"
#include "proxy/core/log.h"
#include "proxy/core/privileges.h"

namespace readygate {

Server::Server(Config config, std::string configPath)
    : config_(std::move(config)), configPath_(std::move(configPath)) {}

Server::~Server() {
  for (auto& worker : workers_) worker->join();
}

bool Server::bindListeners(std::vector<std::vector<ProxyWorker::Binding>>& perWorker) {
  for (const auto& members : services_.all()) {
    if (!members->config().listens) continue;  // reached through another service's routes
    const SocketAddress& address = members->config().listen;
    auto sockets = ServiceSet::bind(address, perWorker.size(), !members->config().sharedPort);
    if (auto* error = std::get_if<std::string>(&sockets)) {
      logEvent(LogLevel::Error, "listen_failed",
               {{"service", members->service().name()}, {"error", *error}});
      return false;
    }
    auto& bound = std::get<std::vector<ListeningSocket>>(sockets);
    for (size_t i = 0; i < perWorker.size(); ++i) {
      perWorker[i].push_back({members->servicePtr(), address, std::move(bound[i]),
                              ServiceSet::sessionFactory(members->config().mode)});
    }
  }
  return true;
}

int Server::run() {
  int workerCount =
      config_.workers > 0 ? config_.workers : static_cast<int>(std::thread::hardware_concurrency());
  if (workerCount <= 0) workerCount = 1;
  counters_.lastReloadSuccessUnixSeconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  // Order matters: probing starts (and publishes the first rotation) before any
  // listener exists, so the first connection already sees the rotation; every listener
  // is bound before any worker starts, so a bad address fails the start instead of
  // half-running.
  // Orphans of exec probes come to us, not to init (which may be nobody when we are PID 1).
  if (!reaper_.adoptOrphans()) {
    logEvent(LogLevel::Warn, "subreaper_unavailable", {{"error", strerror(errno)}});
  }
  if (auto error = services_.prepare(config_)) {
    logEvent(LogLevel::Error, "probe_setup_failed", {{"error", *error}});
    return 1;
  }
  services_.setDiscovery({config_.resolvers, config_.maxFileBytes, services_.preparedKubeApi()});
  for (const ServiceConfig& service : config_.services) services_.add(service);
  services_.publishSettings();

  std::vector<std::vector<ProxyWorker::Binding>> perWorker(static_cast<size_t>(workerCount));
  if (!bindListeners(perWorker)) return 1;
  if (!startAdmin()) return 1;
  if (!config_.user.empty()) {
    // Every port is bound: root is not needed any more (exec probes run as the user too).
    if (geteuid() != 0) {
      logEvent(LogLevel::Warn, "user_ignored",
               {{"user", config_.user}, {"detail", "not started as root: nothing to give up"}});
    } else if (auto error = dropPrivileges(config_.user)) {
      logEvent(LogLevel::Error, "drop_privileges_failed",
               {{"user", config_.user}, {"error", *error}});
      return 1;
    } else {
      logEvent(LogLevel::Info, "privileges_dropped", {{"user", config_.user}});
    }
  }

  for (int signal : {SIGTERM, SIGINT, SIGHUP}) {
    EventPtr event(evsignal_new(control_.base(), signal, &Server::onSignal, this));
    evsignal_add(event.get(), nullptr);
    signalEvents_.push_back(std::move(event));
  }
  housekeeping_.armEvery(1);

  ProxyWorker::ProcessLimit processLimit;
  processLimit.maxConnections = config_.maxConnections;
  for (int i = 0; i < workerCount; ++i) {
    workers_.push_back(std::make_unique<ProxyWorker>(
        i, std::move(perWorker[static_cast<size_t>(i)]), processLimit));
    workers_.back()->start([this] { control_.post([this] { onWorkerStopped(); }); });
  }
  for (const auto& members : services_.all()) {
    const ServiceConfig& config = members->config();
    if (!config.listens) continue;
    logEvent(LogLevel::Info, "listening",
             {{"service", config.name},
              {"address", config.listen.toString()},
              {"mode", toString(config.mode)},
              {"balance", toString(config.balance)},
              {"backends", config.staticEndpoints.size()},
              {"workers", workerCount}});
  }

  control_.run();

  for (auto& worker : workers_) worker->join();
  // Probes hold sockets and children on the control loop: stop them before it goes.
  admin_.reset();
  housekeeping_.cancel();
  services_.clear();
  logEvent(LogLevel::Info, "stopped");
  return 0;
}

bool Server::loadAdminToken() {
  const std::string& path = config_.admin.tokenFile;
  if (path.empty()) {
    adminToken_.clear();
    return true;
  }
  auto read = readRegularFile(path, config_.maxFileBytes);
  std::string token = withoutTrailingWhitespace(fileContent(read) ? *fileContent(read) : "");
  if (token.empty()) {
    logEvent(LogLevel::Error, "admin_token_unreadable",
             {{"path", path},
              {"error", fileContent(read) ? "empty" : fileError(read)},
              {"detail", "the file must hold a non-empty token"}});
    return false;
  }
  adminToken_ = std::move(token);
  return true;
}

bool Server::startAdmin() {
  if (!loadAdminToken()) return false;
  if (config_.admin.tokenFile.empty() && config_.admin.allowInsecure) {
    logEvent(LogLevel::Warn, "admin_insecure",
             {{"address", config_.admin.listen.toString()},
              {"detail", "no token: anyone who reaches it can drain, disable and reload"}});
  }
  AdminLimits limits;
  limits.maxConnections = config_.admin.maxConnections;
  limits.requestSeconds = config_.admin.requestTimeoutSeconds;
  limits.writeSeconds = config_.admin.writeTimeoutSeconds;
  admin_ = std::make_unique<AdminServer>(control_.base(), limits);
  installAdminRoutes(*admin_, AdminApiState{config_, services_, counters_, probeTiming_, clock_,
                                            [this] {
                                              ReloadOutcome outcome = reloader_.reload();
                                              // A new tokenFile (or content) applies now;
                                              // an unreadable one keeps the old token.
                                              if (outcome.applied) loadAdminToken();
                                              return outcome;
                                            },
                                            adminToken_});
  if (auto error = admin_->listen(config_.admin.listen)) {
    logEvent(LogLevel::Error, "admin_listen_failed", {{"error", *error}});
    return false;
  }
  logEvent(LogLevel::Info, "admin_listening", {{"address", config_.admin.listen.toString()}});
  return true;
}

void Server::beginShutdown(const char* signalName) {
  if (shuttingDown_) {
    // A second signal means "now": open connections are closed without waiting.
    logEvent(LogLevel::Warn, "shutdown_forced", {{"signal", signalName}});
    if (shutdownDelay_.armed()) {
      shutdownDelay_.cancel();
      closeListenersAndDrain();
    }
    for (auto& worker : workers_) worker->closeAllNow();
    return;
  }
  shuttingDown_ = true;
  counters_.shuttingDown = true;  // /readyz answers 503 from now on
  for (auto& worker : workers_) worker->beginDraining();
  double delay = config_.shutdownDelaySeconds;
  logEvent(LogLevel::Info, "shutting_down",
           {{"signal", signalName}, {"listeners_close_in_seconds", delay}});
  if (delay <= 0) {
    closeListenersAndDrain();
    return;
  }
  // Keep accepting while whatever balances in front notices /readyz and stops sending.
  shutdownDelay_.arm(delay);
}

void Server::closeListenersAndDrain() {
  double grace = 0;
  for (const auto& members : services_.all()) {
    grace = std::max(grace, members->config().drainTimeoutSeconds);
  }
  logEvent(LogLevel::Info, "listeners_closed", {{"grace_seconds", grace}});
  for (auto& worker : workers_) worker->beginShutdown(grace);
}

void Server::onWorkerStopped() {
  if (++stoppedWorkers_ == workers_.size()) control_.stop();
}

void Server::onSignal(evutil_socket_t signal, short, void* self) {
  auto* server = static_cast<Server*>(self);
  switch (signal) {
    case SIGTERM:
      server->beginShutdown("SIGTERM");
      break;
    case SIGINT:
      server->beginShutdown("SIGINT");
      break;
    case SIGHUP:
      if (server->reloader_.reload().applied) server->loadAdminToken();
      break;
    default:
      break;
  }
}

}  // namespace readygate
