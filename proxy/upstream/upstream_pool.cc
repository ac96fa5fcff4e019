// UpstreamPool implementation.
#include "proxy/upstream/upstream_pool.h"

#include <algorithm>

namespace readygate {

UpstreamPool::UpstreamPool(event_base*, const Clock& clock) : clock_(clock) {}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::release(std::shared_ptr<Backend> backend, BufferEventPtr connection, int maxIdle,
                           double idleTimeoutSeconds) {
  if (!connection || !backend->inRotation() || maxIdle <= 0 ||
      backend->retireDeadline() != std::numeric_limits<double>::infinity()) {
    return;  // closed as `connection` goes
  }
  Entries& entries = idle_[backend.get()];
  if (entries.size() >= static_cast<size_t>(maxIdle)) return;
  auto entry = std::make_unique<Entry>(
      Entry{this, std::move(backend), std::move(connection), clock_.now() + idleTimeoutSeconds});
  bufferevent_setcb(entry->connection.get(), &UpstreamPool::onIdleRead, nullptr,
                    &UpstreamPool::onIdleEvent, entry.get());
  bufferevent_enable(entry->connection.get(), EV_READ);
  entries.push_back(std::move(entry));
  ++count_;
}

BufferEventPtr UpstreamPool::take(const Backend& backend) {
  auto found = idle_.find(&backend);
  if (found == idle_.end()) return nullptr;
  Entries& entries = found->second;
  double now = clock_.now();
  while (!entries.empty()) {
    std::unique_ptr<Entry> entry = std::move(entries.back());
    entries.pop_back();
    --count_;
    if (entry->expiresAt <= now) continue;  // closed as it goes
    // Reading stays enabled: the new owner reads anyway, and an epoll_ctl saved per
    // request counts at tens of thousands of requests a second.
    bufferevent_setcb(entry->connection.get(), nullptr, nullptr, nullptr, nullptr);
    BufferEventPtr connection = std::move(entry->connection);
    if (entries.empty()) idle_.erase(found);
    return connection;
  }
  idle_.erase(found);
  return nullptr;
}

void UpstreamPool::drop(Entry* entry) {
  auto found = idle_.find(entry->backend.get());
  if (found == idle_.end()) return;
  Entries& entries = found->second;
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const std::unique_ptr<Entry>& each) { return each.get() == entry; });
  if (it == entries.end()) return;
  entries.erase(it);  // frees the bufferevent: libevent defers the free past this callback
  --count_;
  if (entries.empty()) idle_.erase(found);
}

void UpstreamPool::onIdleEvent(bufferevent*, short, void* entry) {
  // A close or an error on an idle connection: it must never be handed out.
  auto* idle = static_cast<Entry*>(entry);
  idle->pool->drop(idle);
}

void UpstreamPool::onIdleRead(bufferevent*, void* entry) {
  // Bytes nobody asked for: the connection is out of step with HTTP; drop it.
  auto* idle = static_cast<Entry*>(entry);
  idle->pool->drop(idle);
}

void UpstreamPool::sweep() {
  double now = clock_.now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    Entries& entries = it->second;
    const Backend& backend = *it->first;
    bool backendGone = !backend.inRotation() ||
                       backend.retireDeadline() != std::numeric_limits<double>::infinity();
    size_t before = entries.size();
    std::erase_if(entries, [&](const std::unique_ptr<Entry>& entry) {
      return backendGone || entry->expiresAt <= now;
    });
    count_ -= before - entries.size();
    it = entries.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace readygate
