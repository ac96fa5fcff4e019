// A service's endpoint sources (static, file), merged and handed to its members as one set.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "proxy/discovery/file_watch.h"
#include "proxy/health/service_members.h"

namespace readygate {

/// Control loop only. Keeps the last good set of every source; a source that fails (an
/// unreadable or unparsable file) keeps its last good set, so an error never empties a
/// pool. Every change goes to ServiceMembers::setEndpoints, the same keyed diff a reload
/// uses (new endpoints start probing, gone ones drain, the rollout guard holds).
class ServiceDiscovery {
 public:
  ServiceDiscovery(event_base* base, ServiceMembers& members);
  ServiceDiscovery(const ServiceDiscovery&) = delete;
  ServiceDiscovery& operator=(const ServiceDiscovery&) = delete;

  /// The sources `config` names, read now (a file is then watched), merged and applied.
  void apply(const ServiceConfig& config);

  /// How often a watched file is looked at even without inotify news.
  static constexpr double kFilePollSeconds = 2;

 private:
  void readFile();
  void publish();

  event_base* base_;
  ServiceMembers& members_;
  std::vector<SocketAddress> static_;
  std::string filePath_;
  std::unique_ptr<FileWatch> watch_;
  std::vector<SocketAddress> fileEndpoints_;  // the last good read
  ServiceMembers::SourceStatus fileStatus_;
};

}  // namespace readygate
