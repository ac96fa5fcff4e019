// ServiceDiscovery implementation.
#include "proxy/discovery/service_discovery.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/core/clock.h"
#include "proxy/core/log.h"
#include "proxy/discovery/endpoint_list.h"

namespace readygate {

ServiceDiscovery::ServiceDiscovery(event_base* base, ServiceMembers& members)
    : base_(base),
      members_(members),
      dnsTimer_(Timer::calling<&ServiceDiscovery::lookUp>(base, this)) {}

void ServiceDiscovery::apply(const ServiceConfig& config, const DiscoverySettings& settings) {
  const std::vector<std::string>& resolvers = settings.resolvers;
  maxFileBytes_ = settings.maxFileBytes;
  static_ = config.staticEndpoints;
  if (config.endpointsDns != dns_ || (dns_ && resolvers != resolvers_)) {
    dnsTimer_.cancel();
    resolver_.reset();  // a lookup in flight is dropped with it
    lookingUp_ = false;
    dnsEndpoints_.clear();
    dns_ = config.endpointsDns;
    resolvers_ = resolvers;
    dnsStatus_ = ServiceMembers::SourceStatus{"dns", 0, 0, 0, "", {}};
    if (dns_) {
      // Each try waits at most half a refresh (0.2 to 2 s): a lookup ends before the next is due.
      resolver_ = std::make_unique<DnsResolver>(base_, resolvers_,
                                                std::clamp(dns_->refreshSeconds / 2, 0.2, 2.0));
      dnsTimer_.armEvery(dns_->refreshSeconds);
      lookUp();
    }
  }
  if (config.endpointsKubernetes != kubernetes_ ||
      (kubernetes_ && settings.kubernetes != kubeTarget_)) {
    if (kubeSource_ && kubeSource_->synced()) kubeCarried_ = kubeSource_->endpoints();
    if (!config.endpointsKubernetes) kubeCarried_.clear();
    kubeSource_.reset();  // its requests end with it
    kubeSetupError_.clear();
    kubernetes_ = config.endpointsKubernetes;
    kubeTarget_ = settings.kubernetes;
    if (kubernetes_ && !kubeTarget_) kubeSetupError_ = "no API server located";
    if (kubernetes_ && kubeTarget_) {
      auto made = KubernetesEndpointSource::create(
          base_, *kubernetes_, *kubeTarget_, maxFileBytes_, resolvers,
          [this](bool setChanged, double arrivedAt) { onKubernetesNews(setChanged, arrivedAt); });
      if (auto* error = std::get_if<std::string>(&made)) {
        kubeSetupError_ = *error;
      } else {
        kubeSource_ = std::move(std::get<std::unique_ptr<KubernetesEndpointSource>>(made));
      }
    }
    if (!kubeSetupError_.empty()) {
      logEvent(LogLevel::Error, "discovery_error",
               {{"service", members_.service().name()},
                {"source", "kubernetes"},
                {"error", kubeSetupError_}});
    }
  }
  if (config.endpointsFile != filePath_) {
    watch_.reset();
    fileEndpoints_.clear();
    filePath_ = config.endpointsFile;
    fileStatus_ = ServiceMembers::SourceStatus{"file", 0, 0, 0, "", {}};
    if (!filePath_.empty()) {
      watch_ = std::make_unique<FileWatch>(base_, filePath_, kFilePollSeconds, [this] {
        readFile();
        publish();
      });
      readFile();
    }
  }
  publish();
}

void ServiceDiscovery::readFile() {
  auto fail = [&](const std::string& error) {
    ++fileStatus_.errors;
    fileStatus_.lastError = error;
    logEvent(LogLevel::Error, "discovery_error",
             {{"service", members_.service().name()},
              {"source", "file"},
              {"path", filePath_},
              {"error", error},
              {"detail", "the last good endpoints stay"}});
  };
  auto read = readRegularFile(filePath_, maxFileBytes_);
  const std::string* text = fileContent(read);
  if (text == nullptr) {
    fail(fileError(read));
    return;
  }
  auto parsed = parseEndpointList(*text);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    fail(*error);
    return;
  }
  fileEndpoints_ = std::move(std::get<std::vector<SocketAddress>>(parsed));
  fileStatus_.endpoints = fileEndpoints_.size();
  fileStatus_.lastUpdateUnix = unixSeconds();
  fileStatus_.lastError.clear();
  logEvent(LogLevel::Info, "discovery_update",
           {{"service", members_.service().name()},
            {"source", "file"},
            {"endpoints", fileEndpoints_.size()}});
}

void ServiceDiscovery::lookUp() {
  if (lookingUp_ || !resolver_) return;  // the last one is still out: no pile-up
  lookingUp_ = true;
  auto family = dns_->family == DnsEndpoints::Family::IPv4   ? DnsResolver::Family::IPv4
                : dns_->family == DnsEndpoints::Family::IPv6 ? DnsResolver::Family::IPv6
                                                             : DnsResolver::Family::Any;
  resolver_->resolve(dns_->name, dns_->port, family,
                     [this](DnsResolver::Result result) { onLookup(std::move(result)); });
}

void ServiceDiscovery::onLookup(DnsResolver::Result result) {
  lookingUp_ = false;
  auto* addresses = std::get_if<std::vector<SocketAddress>>(&result);
  std::string error =
      addresses ? (addresses->empty() ? "no addresses" : "") : std::get<std::string>(result);
  if (!error.empty()) {
    // Never empty a pool on a DNS error: the last good answer stays.
    ++dnsStatus_.errors;
    dnsStatus_.lastError = error;
    logEvent(LogLevel::Warn, "discovery_error",
             {{"service", members_.service().name()},
              {"source", "dns"},
              {"name", dns_->name},
              {"error", error},
              {"detail", "the last good endpoints stay"}});
    publish();  // the status changed
    return;
  }
  // Servers rotate the order of their records: compare sets, not lists.
  std::sort(
      addresses->begin(), addresses->end(),
      [](const SocketAddress& a, const SocketAddress& b) { return a.toString() < b.toString(); });
  bool changed = *addresses != dnsEndpoints_;
  dnsEndpoints_ = std::move(*addresses);
  dnsStatus_.endpoints = dnsEndpoints_.size();
  dnsStatus_.lastUpdateUnix = unixSeconds();
  dnsStatus_.lastError.clear();
  if (changed) {
    logEvent(LogLevel::Info, "discovery_update",
             {{"service", members_.service().name()},
              {"source", "dns"},
              {"name", dns_->name},
              {"endpoints", dnsEndpoints_.size()}});
  }
  publish();
}

void ServiceDiscovery::onKubernetesNews(bool setChanged, double arrivedAt) {
  static const SteadyClock clock;
  double started = clock.now();
  if (setChanged) {
    kubeSource_->resolve();
    if (kubeSource_->synced()) kubeCarried_.clear();
    uint64_t before = members_.rotationChanges();
    publish();
    if (members_.rotationChanges() != before) {
      kubeSource_->observeEventToRotation(clock.now() - arrivedAt);
    }
  } else {
    members_.setSources(statuses());  // counters, the last event's time, the last error
  }
  if (auto listWork = kubeSource_->takeListWork()) {
    // A whole list applied: what it cost the control loop, pages and membership together.
    logEvent(LogLevel::Info, "kubernetes_list_applied",
             {{"service", members_.service().name()},
              {"endpoints", kubeSource_->endpoints().size()},
              {"changed", setChanged ? "true" : "false"},
              {"backends", members_.configuredCount()},
              {"control_loop_seconds", *listWork + (clock.now() - started)}});
  }
}

std::vector<ServiceMembers::SourceStatus> ServiceDiscovery::statuses() const {
  std::vector<ServiceMembers::SourceStatus> sources;
  sources.push_back({"static", static_.size(), 0, 0, "", {}});
  if (!filePath_.empty()) sources.push_back(fileStatus_);
  if (dns_) sources.push_back(dnsStatus_);
  if (kubeSource_) {
    sources.push_back(kubeSource_->status());
  } else if (kubernetes_) {
    sources.push_back({"kubernetes", 0, 0, 1, kubeSetupError_, {}});
  }
  return sources;
}

void ServiceDiscovery::publish() {
  std::vector<DiscoveredEndpoint> merged;
  auto add = [&merged](const std::vector<SocketAddress>& addresses) {
    for (const SocketAddress& address : addresses) merged.push_back({address, {}});
  };
  add(static_);
  add(fileEndpoints_);
  add(dnsEndpoints_);
  const std::vector<DiscoveredEndpoint>& kube =
      kubeSource_ && kubeSource_->synced() ? kubeSource_->endpoints() : kubeCarried_;
  merged.insert(merged.end(), kube.begin(), kube.end());
  members_.setSources(statuses());
  members_.setEndpoints(merged);  // duplicates across sources count once
}

}  // namespace readygate
