// UpstreamPool implementation.
#include "proxy/upstream/upstream_pool.h"

#include <algorithm>
#include <limits>

namespace readygate {

UpstreamPool::UpstreamPool(const Clock& clock) : clock_(clock) {}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::release(std::shared_ptr<Backend> backend,
                           std::unique_ptr<StreamConnection> connection,
                           std::string_view identity, int maxIdle, double idleTimeoutSeconds) {
  if (!connection || !connection->open() || connection->peerClosed() || !backend->inRotation() ||
      maxIdle <= 0 ||
      backend->retireDeadline() != std::numeric_limits<double>::infinity()) {
    return;  // closed as `connection` goes
  }
  Idle& idle = idle_[backend.get()];
  if (idle.entries.size() >= static_cast<size_t>(maxIdle)) return;
  if (!idle.backend) idle.backend = std::move(backend);
  connection->setHandler(this);
  connection->setPeerTag(idle.backend.get());
  connection->resumeReading();  // a close or stray bytes while idle must be seen
  idle.entries.push_back(
      Entry{std::move(connection), clock_.now() + idleTimeoutSeconds, std::string(identity)});
  ++count_;
}

std::unique_ptr<StreamConnection> UpstreamPool::take(const Backend& backend,
                                                     std::string_view identity) {
  auto found = idle_.find(&backend);
  if (found == idle_.end()) return nullptr;
  std::vector<Entry>& entries = found->second.entries;
  double now = clock_.now();
  // The most recently used first; the expired are closed on the way.
  for (size_t i = entries.size(); i-- > 0;) {
    if (entries[i].expiresAt <= now) {
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
      --count_;
      continue;
    }
    if (entries[i].identity != identity) continue;
    std::unique_ptr<StreamConnection> connection = std::move(entries[i].connection);
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
    --count_;
    // Reading stays registered: the new owner reads anyway, and an epoll_ctl saved per
    // request counts at tens of thousands of requests a second.
    return connection;
  }
  return nullptr;
}

void UpstreamPool::drop(StreamConnection& connection) {
  auto found = idle_.find(static_cast<const Backend*>(connection.peerTag()));
  if (found == idle_.end()) return;
  std::vector<Entry>& entries = found->second.entries;
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& each) { return each.connection.get() == &connection; });
  if (it == entries.end()) return;
  entries.erase(it);  // closes it: StreamConnection allows that inside its own callback
  --count_;
}

void UpstreamPool::sweep() {
  double now = clock_.now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::vector<Entry>& entries = it->second.entries;
    const Backend& backend = *it->second.backend;
    bool backendGone = !backend.inRotation() ||
                       backend.retireDeadline() != std::numeric_limits<double>::infinity();
    size_t before = entries.size();
    std::erase_if(entries, [&](const Entry& entry) { return backendGone || entry.expiresAt <= now; });
    count_ -= before - entries.size();
    it = entries.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace readygate
