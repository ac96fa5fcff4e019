// Service implementation.
#include "proxy/upstream/service.h"

namespace readygate {

Service::Service(ServiceConfig config)
    : config_(std::move(config)), balancer_(makeBalancer(config_.balance)) {
  snapshot_.store(std::make_shared<const RotationSnapshot>());
}

void Service::publish(std::vector<std::shared_ptr<Backend>> eligible, bool failOpen) {
  auto next = std::make_shared<RotationSnapshot>();
  next->eligible = std::move(eligible);
  next->failOpen = failOpen;
  snapshot_.store(std::move(next));
}

}  // namespace readygate
