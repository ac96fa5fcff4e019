// ServiceDiscovery implementation.
#include "proxy/discovery/service_discovery.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "proxy/core/log.h"
#include "proxy/discovery/endpoint_list.h"

namespace readygate {
namespace {

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

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
    dnsStatus_ = ServiceMembers::SourceStatus{"dns", 0, 0, 0, ""};
    if (dns_) {
      // Each try waits at most half a refresh (0.2 to 2 s): a lookup ends before the next is due.
      resolver_ = std::make_unique<DnsResolver>(base_, resolvers_,
                                                std::clamp(dns_->refreshSeconds / 2, 0.2, 2.0));
      dnsTimer_.armEvery(dns_->refreshSeconds);
      lookUp();
    }
  }
  if (config.endpointsFile != filePath_) {
    watch_.reset();
    fileEndpoints_.clear();
    filePath_ = config.endpointsFile;
    fileStatus_ = ServiceMembers::SourceStatus{"file", 0, 0, 0, ""};
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
  fileStatus_.lastUpdateUnix = unixNow();
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
  dnsStatus_.lastUpdateUnix = unixNow();
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

void ServiceDiscovery::publish() {
  std::vector<SocketAddress> merged = static_;
  merged.insert(merged.end(), fileEndpoints_.begin(), fileEndpoints_.end());
  merged.insert(merged.end(), dnsEndpoints_.begin(), dnsEndpoints_.end());
  std::vector<ServiceMembers::SourceStatus> sources;
  sources.push_back({"static", static_.size(), 0, 0, ""});
  if (!filePath_.empty()) sources.push_back(fileStatus_);
  if (dns_) sources.push_back(dnsStatus_);
  members_.setSources(std::move(sources));
  members_.setEndpoints(merged);  // duplicates across sources count once
}

}  // namespace readygate
