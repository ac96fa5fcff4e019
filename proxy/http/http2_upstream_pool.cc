// Http2UpstreamPool implementation.
#include "proxy/http/http2_upstream_pool.h"

#include <limits>

namespace readygate {

Http2UpstreamPool::~Http2UpstreamPool() = default;

Http2Upstream* Http2UpstreamPool::find(const Backend& backend, std::string_view identity) const {
  auto found = byBackend_.find(&backend);
  if (found == byBackend_.end()) return nullptr;
  Http2Upstream* best = nullptr;
  for (const std::unique_ptr<Http2Upstream>& connection : found->second.connections) {
    if (connection->identity() != identity || !connection->hasRoom()) continue;
    if (best == nullptr || connection->openStreams() > best->openStreams()) best = connection.get();
  }
  return best;
}

Http2Upstream* Http2UpstreamPool::adopt(std::shared_ptr<Service> service,
                                        std::shared_ptr<Backend> backend, std::string_view identity,
                                        std::unique_ptr<StreamConnection> connection,
                                        double idleTimeoutSeconds) {
  PerBackend& entry = byBackend_[backend.get()];
  if (!entry.backend) entry.backend = backend;
  auto made = std::make_unique<Http2Upstream>(base_, std::move(service), std::move(backend),
                                              std::string(identity),
                                              std::move(connection), idleTimeoutSeconds, clock_);
  Http2Upstream* upstream = made.get();
  entry.connections.push_back(std::move(made));
  ++count_;
  return upstream->start() ? upstream : nullptr;  // a dead one goes at the next sweep
}

void Http2UpstreamPool::sweep() {
  double now = clock_.now();
  for (auto it = byBackend_.begin(); it != byBackend_.end();) {
    const Backend& backend = *it->second.backend;
    bool backendGone = !backend.inRotation() ||
                       backend.retireDeadline() != std::numeric_limits<double>::infinity();
    std::vector<std::unique_ptr<Http2Upstream>>& connections = it->second.connections;
    for (std::unique_ptr<Http2Upstream>& connection : connections) {
      bool idledOut = connection->openStreams() == 0 &&
                      now - connection->idleSince() >= connection->idleTimeoutSeconds();
      if (backendGone || idledOut) connection->retire();
    }
    size_t before = connections.size();
    std::erase_if(connections, [](const std::unique_ptr<Http2Upstream>& connection) {
      return connection->dead();
    });
    count_ -= before - connections.size();
    it = connections.empty() ? byBackend_.erase(it) : std::next(it);
  }
}

}  // namespace readygate
