// ServiceDiscovery implementation.
#include "proxy/discovery/service_discovery.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proxy/core/log.h"
#include "proxy/discovery/endpoint_list.h"

namespace readygate {
namespace {

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ServiceDiscovery::ServiceDiscovery(event_base* base, ServiceMembers& members)
    : base_(base), members_(members) {}

void ServiceDiscovery::apply(const ServiceConfig& config) {
  static_ = config.staticEndpoints;
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
  std::ifstream file(filePath_);
  if (!file) {
    fail(std::string("cannot read: ") + std::strerror(errno));
    return;
  }
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = parseEndpointList(text.str());
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

void ServiceDiscovery::publish() {
  std::vector<SocketAddress> merged = static_;
  merged.insert(merged.end(), fileEndpoints_.begin(), fileEndpoints_.end());
  std::vector<ServiceMembers::SourceStatus> sources;
  sources.push_back({"static", static_.size(), 0, 0, ""});
  if (!filePath_.empty()) sources.push_back(fileStatus_);
  members_.setSources(std::move(sources));
  members_.setEndpoints(merged);  // duplicates across sources count once
}

}  // namespace readygate
