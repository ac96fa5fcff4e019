// Service implementation.
#include "proxy/upstream/service.h"

namespace readygate {

Service::Service(ServiceConfig config)
    : config_(std::move(config)), balancer_(makeBalancer(config_.balance)) {
  for (const SocketAddress& address : config_.staticEndpoints) {
    backends_.push_back(std::make_shared<Backend>(address));
  }
  snapshot_.store(std::make_shared<const RotationSnapshot>());
}

void Service::publish(std::vector<std::shared_ptr<Backend>> eligible) {
  auto next = std::make_shared<RotationSnapshot>();
  if (eligible.empty() && config_.whenNoneReady == WhenNoneReady::All) {
    next->eligible = backends_;
    next->failOpen = !backends_.empty();
  } else {
    next->eligible = std::move(eligible);
  }
  snapshot_.store(std::move(next));
}

}  // namespace readygate
