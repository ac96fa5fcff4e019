// Server implementation.
#include "proxy/app/server.h"

#include <csignal>
#include <thread>

#include "config/config_loader.h"
#include "config/reload_check.h"
#include "proxy/app/admin_api.h"
#include "proxy/core/log.h"

namespace readygate {

Server::Server(Config config, std::string configPath)
    : config_(std::move(config)), configPath_(std::move(configPath)) {
  for (const ServiceConfig& serviceConfig : config_.services) {
    services_.push_back(std::make_shared<Service>(serviceConfig));
  }
}

Server::~Server() {
  for (auto& worker : workers_) worker->join();
}

bool Server::bindListeners(std::vector<std::vector<ProxyWorker::Binding>>& perWorker) {
  for (const auto& service : services_) {
    for (auto& bindings : perWorker) {
      auto opened = ListeningSocket::open(service->config().listen);
      if (auto* error = std::get_if<std::string>(&opened)) {
        logEvent(LogLevel::Error, "listen_failed",
                 {{"service", service->name()}, {"error", *error}});
        return false;
      }
      bindings.push_back({service, std::move(std::get<ListeningSocket>(opened))});
    }
  }
  return true;
}

int Server::run() {
  int workerCount =
      config_.workers > 0 ? config_.workers : static_cast<int>(std::thread::hardware_concurrency());
  if (workerCount <= 0) workerCount = 1;

  // Order matters: probing starts (and publishes the first rotation) before any
  // listener exists, so the first connection already sees the rotation; every listener
  // is bound before any worker starts, so a bad address fails the start instead of
  // half-running.
  for (const auto& service : services_) {
    health_.push_back(
        std::make_unique<ServiceHealth>(control_.base(), reaper_, clock_, service, probeTiming_));
    if (auto error = health_.back()->start()) {
      logEvent(LogLevel::Error, "probe_setup_failed",
               {{"service", service->name()}, {"error", *error}});
      return 1;
    }
  }

  std::vector<std::vector<ProxyWorker::Binding>> perWorker(static_cast<size_t>(workerCount));
  if (!bindListeners(perWorker)) return 1;
  if (!startAdmin()) return 1;

  for (int signal : {SIGTERM, SIGINT, SIGHUP}) {
    EventPtr event(evsignal_new(control_.base(), signal, &Server::onSignal, this));
    evsignal_add(event.get(), nullptr);
    signalEvents_.push_back(std::move(event));
  }
  for (int i = 0; i < workerCount; ++i) {
    workers_.push_back(
        std::make_unique<ProxyWorker>(i, std::move(perWorker[static_cast<size_t>(i)])));
    workers_.back()->start([this] { control_.post([this] { onWorkerStopped(); }); });
  }
  for (const auto& service : services_) {
    logEvent(LogLevel::Info, "listening",
             {{"service", service->name()},
              {"address", service->config().listen.toString()},
              {"mode", toString(service->config().mode)},
              {"balance", toString(service->config().balance)},
              {"backends", service->config().staticEndpoints.size()},
              {"workers", workerCount}});
  }

  control_.run();

  for (auto& worker : workers_) worker->join();
  // Probes hold sockets and children on the control loop: stop them before it goes.
  admin_.reset();
  health_.clear();
  logEvent(LogLevel::Info, "stopped");
  return 0;
}

bool Server::startAdmin() {
  admin_ = std::make_unique<AdminServer>(control_.base());
  installAdminRoutes(*admin_,
                     AdminApiState{config_.admin, health_, counters_, probeTiming_, clock_});
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
    for (auto& worker : workers_) worker->closeAllNow();
    return;
  }
  shuttingDown_ = true;
  counters_.shuttingDown = true;
  double grace = 0;
  for (const auto& service : services_) {
    grace = std::max(grace, service->config().drainTimeoutSeconds);
  }
  logEvent(LogLevel::Info, "shutting_down", {{"signal", signalName}, {"grace_seconds", grace}});
  for (auto& worker : workers_) worker->beginShutdown(grace);
}

void Server::reload() {
  logEvent(LogLevel::Info, "reload_requested", {{"config", configPath_}});
  auto reject = [&](const std::string& why) {
    ++counters_.reloadsFailed;
    logEvent(
        LogLevel::Error, "reload_rejected",
        {{"config", configPath_}, {"error", why}, {"detail", "the running configuration stays"}});
  };
  if (shuttingDown_) return reject("shutting down");
  ConfigLoadResult loaded = loadConfigFile(configPath_);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) reject(error.toString());
    return;
  }
  std::vector<std::string> problems = unreloadableChanges(config_, *loaded.config);
  if (!problems.empty()) {
    for (const std::string& problem : problems) reject(problem);
    return;
  }
  for (size_t i = 0; i < health_.size(); ++i) {
    health_[i]->setEndpoints(loaded.config->services[i].staticEndpoints);
  }
  config_ = std::move(*loaded.config);
  ++counters_.reloadsSucceeded;
  logEvent(LogLevel::Info, "reload_applied", {{"config", configPath_}});
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
      server->reload();
      break;
    default:
      break;
  }
}

}  // namespace readygate
