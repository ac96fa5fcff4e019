// Reloader implementation.
#include "proxy/app/reloader.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "config/config_loader.h"
#include "config/reload_plan.h"
#include "proxy/core/log.h"
#include "proxy/core/privileges.h"

namespace readygate {

Reloader::Reloader(std::string configPath, Config& running, ServiceSet& services,
                   std::vector<std::unique_ptr<ProxyWorker>>& workers, ServerCounters& counters)
    : configPath_(std::move(configPath)),
      running_(running),
      services_(services),
      workers_(workers),
      counters_(counters) {}

ReloadOutcome Reloader::reload() {
  logEvent(LogLevel::Info, "reload_requested", {{"config", configPath_}});
  auto started = std::chrono::steady_clock::now();
  ReloadOutcome outcome = tryReload();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!outcome.applied) {
    ++counters_.reloadsFailed;
    for (const std::string& error : outcome.errors) {
      logEvent(LogLevel::Error, "reload_rejected",
               {{"config", configPath_},
                {"error", error},
                {"detail", "the running configuration stays"}});
    }
    return outcome;
  }
  ++counters_.reloadsSucceeded;
  counters_.lastReloadSuccessUnixSeconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const std::string& change : outcome.changes) {
    logEvent(LogLevel::Info, "reload_change", {{"config", configPath_}, {"change", change}});
  }
  logEvent(
      LogLevel::Info, "reload_applied",
      {{"config", configPath_}, {"changes", outcome.changes.size()}, {"apply_seconds", seconds}});
  return outcome;
}

ReloadOutcome Reloader::tryReload() {
  ReloadOutcome outcome;
  if (counters_.shuttingDown) {
    outcome.errors.push_back("shutting down");
    return outcome;
  }
  ConfigLoadResult loaded = loadConfigFile(configPath_);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) outcome.errors.push_back(error.toString());
    return outcome;
  }
  for (const ConfigError& warning : loaded.warnings) {
    logEvent(LogLevel::Warn, "config_warning",
             {{"config", configPath_}, {"warning", warning.toString()}});
  }
  Config& next = *loaded.config;
  ReloadPlan plan = planReload(running_, next);
  outcome.errors = plan.errors;
  if (auto error = services_.prepare(next)) outcome.errors.push_back(*error);
  if (!outcome.errors.empty()) return outcome;

  std::map<std::string, const ServiceConfig*> nextByName;
  for (const ServiceConfig& service : next.services) nextByName[service.name] = &service;

  // Bind every new address first: a bind failure rejects the reload before anything changed.
  std::map<std::string, std::vector<ListeningSocket>> bound;
  for (const ServiceReload& change : plan.services) {
    bool needsBind = change.action == ServiceReload::Action::Add ||
                     change.action == ServiceReload::Action::Replace || change.listenChanged;
    if (!needsBind || change.action == ServiceReload::Action::Remove) continue;
    const ServiceConfig& config = *nextByName.at(change.name);
    if (!config.listens) continue;
    // What this process listens on already (a service moving or swapping ports) is ours to
    // take again; anything else must be free unless sharing was asked for.
    bool heldByUs = std::any_of(
        running_.services.begin(), running_.services.end(), [&](const ServiceConfig& running) {
          return running.listens && running.listen.overlapsListener(config.listen);
        });
    if (!heldByUs && privilegesDropped() && config.listen.port() < kFirstUnprivilegedPort) {
      outcome.errors.push_back("service " + change.name + ": listen " + config.listen.toString() +
                               ": a port below 1024 needs root, which readygate gave up at start " +
                               "(user: " + running_.user + "); restart to bind it");
      continue;
    }
    auto sockets =
        ServiceSet::bind(config.listen, workers_.size(), !config.sharedPort && !heldByUs);
    if (auto* error = std::get_if<std::string>(&sockets)) {
      outcome.errors.push_back("service " + change.name + ": " + *error);
      continue;
    }
    bound[change.name] = std::move(std::get<std::vector<ListeningSocket>>(sockets));
  }
  if (!outcome.errors.empty()) return outcome;  // the sockets bound so far close here
  services_.setDiscovery({next.resolvers, next.maxFileBytes, services_.preparedKubeApi()});

  // Services are made first and their listeners opened last, after every service's
  // settings were published whole (routes resolved): a listener never accepts for a
  // service whose routes are not in place yet.
  std::vector<std::pair<ServiceMembers*, const ServiceConfig*>> toBind;
  std::vector<std::pair<ServiceMembers*, SocketAddress>> toClose;
  for (const ServiceReload& change : plan.services) {
    ServiceMembers* current = services_.find(change.name);
    auto retire = [&] {
      for (auto& worker : workers_) worker->closeListeners(current->servicePtr(), std::nullopt);
      services_.retire(*current);
    };
    switch (change.action) {
      case ServiceReload::Action::Keep:
        break;
      case ServiceReload::Action::Remove:
        retire();
        break;
      case ServiceReload::Action::Replace: {
        retire();
        const ServiceConfig& config = *nextByName.at(change.name);
        toBind.emplace_back(&services_.add(config), &config);
        break;
      }
      case ServiceReload::Action::Add: {
        const ServiceConfig& config = *nextByName.at(change.name);
        toBind.emplace_back(&services_.add(config), &config);
        break;
      }
      case ServiceReload::Action::Update: {
        const ServiceConfig& config = *nextByName.at(change.name);
        SocketAddress previous = current->config().listen;
        current->applyConfig(std::make_shared<const ServiceConfig>(config));
        services_.applyEndpoints(*current, config);
        if (change.listenChanged) {
          if (config.listens) toBind.emplace_back(current, &config);
          toClose.emplace_back(current, previous);
        }
        break;
      }
    }
  }
  services_.publishSettings();  // targets may have been added, replaced or removed
  for (auto& [members, config] : toBind) {
    bindTo(*members, config->listen, std::move(bound[config->name]));
  }
  // The new address accepts before the old one closes: no moment without a listener.
  for (auto& [members, previous] : toClose) {
    for (auto& worker : workers_) worker->closeListeners(members->servicePtr(), previous);
  }
  running_ = std::move(next);
  outcome.changes = std::move(plan.summary);
  outcome.applied = true;
  return outcome;
}

void Reloader::bindTo(ServiceMembers& members, const SocketAddress& address,
                      std::vector<ListeningSocket> sockets) {
  if (sockets.empty()) return;  // no listener of its own
  for (size_t i = 0; i < workers_.size() && i < sockets.size(); ++i) {
    workers_[i]->addListener({members.servicePtr(), address, std::move(sockets[i]),
                              ServiceSet::sessionFactory(members.config().mode)});
  }
  logEvent(LogLevel::Info, "listening",
           {{"service", members.service().name()},
            {"address", address.toString()},
            {"mode", toString(members.config().mode)},
            {"balance", toString(members.config().balance)},
            {"backends", members.config().staticEndpoints.size()},
            {"workers", workers_.size()}});
}

}  // namespace readygate
