// Http2UpstreamPool implementation.
#include "proxy/http/http2_upstream_pool.h"

#include <limits>

namespace readygate {

Http2UpstreamPool::~Http2UpstreamPool() = default;

Http2UpstreamPool::Pending* Http2UpstreamPool::pendingFor(PerBackend& entry, std::string_view identity) {
  for (Pending& pending : entry.pending) {
    if (pending.identity == identity) return &pending;
  }
  return nullptr;
}

bool Http2UpstreamPool::hasRoom(const Backend& backend, std::string_view identity) const {
  if (find(backend, identity) != nullptr) return true;
  auto found = byBackend_.find(&backend);
  if (found == byBackend_.end()) return false;
  for (const Pending& pending : found->second.pending) {
    // Each connection being made carries its maker's stream and as many more as it will
    // allow; beyond that another connection is needed.
    if (pending.identity == identity && pending.connecting > 0 &&
        pending.waiters.size() + static_cast<size_t>(pending.connecting) <
            static_cast<size_t>(pending.connecting) * found->second.knownMaxStreams) {
      return true;
    }
  }
  return false;
}

void Http2UpstreamPool::connectStarted(std::shared_ptr<Backend> backend, std::string_view identity) {
  PerBackend& entry = byBackend_[backend.get()];
  if (!entry.backend) entry.backend = std::move(backend);
  Pending* pending = pendingFor(entry, identity);
  if (pending == nullptr) {
    entry.pending.push_back(Pending{std::string(identity), 0, {}});
    pending = &entry.pending.back();
  }
  ++pending->connecting;
}

void Http2UpstreamPool::connectAbandoned(const Backend& backend, std::string_view identity) {
  settle(backend, identity);
}

void Http2UpstreamPool::settle(const Backend& backend, std::string_view identity) {
  auto found = byBackend_.find(&backend);
  if (found == byBackend_.end()) return;
  Pending* pending = pendingFor(found->second, identity);
  if (pending == nullptr || pending->connecting == 0) return;
  --pending->connecting;
  std::vector<Waiter*> waiters;
  waiters.swap(pending->waiters);
  for (Waiter* waiter : waiters) waiter->onConnectionSettled();
}

bool Http2UpstreamPool::wait(const Backend& backend, std::string_view identity, Waiter& waiter) {
  if (!hasRoom(backend, identity)) return false;
  auto found = byBackend_.find(&backend);
  Pending* pending = found == byBackend_.end() ? nullptr : pendingFor(found->second, identity);
  if (pending == nullptr || pending->connecting == 0) return false;
  pending->waiters.push_back(&waiter);
  return true;
}

void Http2UpstreamPool::cancelWait(const Backend& backend, Waiter& waiter) {
  auto found = byBackend_.find(&backend);
  if (found == byBackend_.end()) return;
  for (Pending& pending : found->second.pending) std::erase(pending.waiters, &waiter);
}

Http2Upstream* Http2UpstreamPool::find(const Backend& backend, std::string_view identity) const {
  auto found = byBackend_.find(&backend);
  if (found == byBackend_.end()) return nullptr;
  Http2Upstream* best = nullptr;
  for (const std::unique_ptr<Http2Upstream>& connection : found->second.connections) {
    if (uint32_t announced = connection->peerMaxStreams()) found->second.knownMaxStreams = announced;
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
  upstream->assumeMaxStreams(entry.knownMaxStreams);
  entry.connections.push_back(std::move(made));
  bool started = upstream->start();
  settle(*entry.backend, identity);  // its waiters find it (or, dead, make their own)
  return started ? upstream : nullptr;  // a dead one goes at the next sweep
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
    std::erase_if(connections, [](const std::unique_ptr<Http2Upstream>& connection) {
      return connection->dead();
    });
    std::erase_if(it->second.pending, [](const Pending& pending) {
      return pending.connecting == 0 && pending.waiters.empty();
    });
    it = connections.empty() && it->second.pending.empty() ? byBackend_.erase(it) : std::next(it);
  }
}

}  // namespace readygate
