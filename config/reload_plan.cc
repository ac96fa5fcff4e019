// planReload implementation.
#include "config/reload_plan.h"

#include <unordered_map>

namespace readygate {

const char* toString(ServiceReload::Action action) {
  switch (action) {
    case ServiceReload::Action::Keep:
      return "keep";
    case ServiceReload::Action::Update:
      return "update";
    case ServiceReload::Action::Add:
      return "add";
    case ServiceReload::Action::Remove:
      return "remove";
    case ServiceReload::Action::Replace:
      return "replace";
  }
  return "keep";
}

ReloadPlan planReload(const Config& running, const Config& next) {
  ReloadPlan plan;
  if (!(running.admin.listen == next.admin.listen)) {
    plan.errors.push_back("admin.listen: changes need a restart (from " +
                          running.admin.listen.toString() + " to " + next.admin.listen.toString() +
                          ")");
  }
  if (running.shutdownDelaySeconds != next.shutdownDelaySeconds) {
    // Read only at SIGTERM: nothing to restart, applies from now on.
    plan.summary.push_back("shutdownDelaySeconds: " + std::to_string(running.shutdownDelaySeconds) +
                           " -> " + std::to_string(next.shutdownDelaySeconds));
  }
  if (running.admin.maxConnections != next.admin.maxConnections ||
      running.admin.requestTimeoutSeconds != next.admin.requestTimeoutSeconds) {
    plan.errors.push_back(
        "admin.maxConnections and admin.requestTimeoutSeconds: changes need a "
        "restart");
  }
  if (running.user != next.user) {
    plan.errors.push_back("user: changes need a restart (from \"" + running.user + "\" to \"" +
                          next.user + "\")");
  }
  if (running.maxConnections != next.maxConnections) {
    plan.errors.push_back("maxConnections: changes need a restart (from " +
                          std::to_string(running.maxConnections) + " to " +
                          std::to_string(next.maxConnections) + ")");
  }
  if (running.workers != next.workers) {
    plan.errors.push_back("workers: changes need a restart (from " +
                          std::to_string(running.workers) + " to " + std::to_string(next.workers) +
                          ")");
  }
  std::unordered_map<std::string, const ServiceConfig*> nextByName;
  for (const ServiceConfig& service : next.services) nextByName[service.name] = &service;

  for (const ServiceConfig& before : running.services) {
    ServiceReload change;
    change.name = before.name;
    auto found = nextByName.find(before.name);
    if (found == nextByName.end()) {
      change.action = ServiceReload::Action::Remove;
      plan.summary.push_back("service " + before.name + ": removed");
      plan.services.push_back(std::move(change));
      continue;
    }
    const ServiceConfig& after = *found->second;
    nextByName.erase(found);
    if (before.mode != after.mode) {
      change.action = ServiceReload::Action::Replace;
      plan.summary.push_back("service " + before.name + ": mode " + toString(before.mode) + " -> " +
                             toString(after.mode) + " (replaced; connections drain)");
      plan.services.push_back(std::move(change));
      continue;
    }
    change.listenChanged =
        before.listens != after.listens || (after.listens && !(before.listen == after.listen));
    if (change.listenChanged) {
      plan.summary.push_back("service " + before.name + ": listen " +
                             (before.listens ? before.listen.toString() : "(none)") + " -> " +
                             (after.listens ? after.listen.toString() : "(none)"));
    }
    for (ProbeKind kind : kAllProbeKinds) {
      if (probeOf(before, kind) != probeOf(after, kind)) {
        change.probesChanged.push_back(kind);
        plan.summary.push_back("service " + before.name + ": " + toString(kind) + "Probe changed");
      }
    }
    change.endpointsChanged = before.staticEndpoints != after.staticEndpoints ||
                              before.endpointsFile != after.endpointsFile ||
                              before.endpointsDns != after.endpointsDns ||
                              before.endpointsKubernetes != after.endpointsKubernetes ||
                              running.kubernetes != next.kubernetes ||
                              (after.endpointsDns && running.resolvers != next.resolvers);
    if (change.endpointsChanged) {
      plan.summary.push_back("service " + before.name + ": endpoints " +
                             std::to_string(before.staticEndpoints.size()) + " -> " +
                             std::to_string(after.staticEndpoints.size()));
    }
    ServiceConfig beforeRest = before;
    ServiceConfig afterRest = after;
    beforeRest.listen = afterRest.listen;
    beforeRest.listens = afterRest.listens;
    for (ServiceConfig* rest : {&beforeRest, &afterRest}) {
      rest->staticEndpoints.clear();
      rest->endpointsFile.clear();
      rest->endpointsDns.reset();
      rest->endpointsKubernetes.reset();
    }
    for (ServiceConfig* rest : {&beforeRest, &afterRest}) {
      rest->readinessProbe.reset();
      rest->livenessProbe.reset();
      rest->startupProbe.reset();
    }
    change.settingsChanged = !(beforeRest == afterRest);
    if (change.settingsChanged) {
      plan.summary.push_back("service " + before.name + ": settings changed (new connections)");
    }
    bool changed = change.listenChanged || !change.probesChanged.empty() ||
                   change.endpointsChanged || change.settingsChanged;
    change.action = changed ? ServiceReload::Action::Update : ServiceReload::Action::Keep;
    plan.services.push_back(std::move(change));
  }
  for (const ServiceConfig& after : next.services) {
    if (!nextByName.contains(after.name)) continue;
    ServiceReload change;
    change.name = after.name;
    change.action = ServiceReload::Action::Add;
    plan.summary.push_back("service " + after.name + ": added" +
                           (after.listens ? " on " + after.listen.toString() : " (routes only)"));
    plan.services.push_back(std::move(change));
  }
  return plan;
}

}  // namespace readygate
