// unreloadableChanges implementation.
#include "config/reload_check.h"

namespace readygate {

std::vector<std::string> unreloadableChanges(const Config& running, const Config& next) {
  std::vector<std::string> problems;
  if (!(running.admin == next.admin)) problems.push_back("admin: changes need a restart");
  if (running.workers != next.workers) problems.push_back("workers: changes need a restart");
  if (running.services.size() != next.services.size()) {
    problems.push_back("services: adding or removing services needs a restart");
    return problems;
  }
  for (size_t i = 0; i < running.services.size(); ++i) {
    const ServiceConfig& before = running.services[i];
    const ServiceConfig& after = next.services[i];
    std::string path = "services[" + std::to_string(i) + "]";
    if (before.name != after.name) {
      problems.push_back(path + ".name: renaming or reordering services needs a restart");
      continue;
    }
    ServiceConfig beforeRest = before;
    ServiceConfig afterRest = after;
    beforeRest.staticEndpoints.clear();
    afterRest.staticEndpoints.clear();
    if (!(beforeRest == afterRest)) {
      problems.push_back(path + " (" + after.name +
                         "): only endpoints.static can change on reload; other settings need a "
                         "restart");
    }
  }
  return problems;
}

}  // namespace readygate
