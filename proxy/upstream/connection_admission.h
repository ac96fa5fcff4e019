// Connection limits (maxConnections, per client address, per process): who may come in.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace readygate {

/// Why a client was turned away at accept; the order is the metric's label order.
enum class AdmissionRefusal { None, ProcessLimit, ServiceLimit, ClientLimit };
inline constexpr int kAdmissionRefusalKinds = 3;  // without None
const char* toString(AdmissionRefusal refusal);

/// Open client connections of one scope (a service, or the whole process), shared by
/// every worker. The total is one atomic; per-client counts take a short lock and are
/// kept only while a per-client limit is set, so the common path is lock-free.
class ConnectionCount {
 public:
  /// Counts one more connection from `client` unless that would pass `limit` (0: none)
  /// or `perClientLimit` (0: none). `countedPerClient` says whether the client's own count
  /// was taken (give it back to `release`).
  AdmissionRefusal admit(const std::string& client, int limit, int perClientLimit,
                         bool& countedPerClient);
  void release(const std::string& client, bool countedPerClient);
  int64_t open() const { return open_.load(std::memory_order_relaxed); }
  /// Distinct clients with a per-client count (for tests and /status).
  size_t clientsCounted() const;

 private:
  std::atomic<int64_t> open_{0};
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> perClient_;
};

/// One admitted connection's places in its counts, given back when it is destroyed.
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  AdmissionTicket(ConnectionCount* process, ConnectionCount* service, std::string client,
                  bool countedPerClient)
      : process_(process),
        service_(service),
        client_(countedPerClient ? std::make_unique<const std::string>(std::move(client))
                                 : nullptr) {}
  AdmissionTicket(AdmissionTicket&& other) noexcept { *this = std::move(other); }
  AdmissionTicket& operator=(AdmissionTicket&& other) noexcept {
    if (this != &other) {
      giveBack();
      process_ = std::exchange(other.process_, nullptr);
      service_ = std::exchange(other.service_, nullptr);
      client_ = std::move(other.client_);
    }
    return *this;
  }
  ~AdmissionTicket() { giveBack(); }

 private:
  void giveBack() {
    if (process_ != nullptr) process_->release("", false);
    if (service_ != nullptr) service_->release(client_ ? *client_ : std::string(), client_ != nullptr);
    process_ = nullptr;
    service_ = nullptr;
  }

  ConnectionCount* process_ = nullptr;
  ConnectionCount* service_ = nullptr;  // the Service outlives its sessions' tickets
  // The client's address, kept only when its own count was taken (a per-client limit):
  // every open connection holds a ticket, and most need no copy of the address.
  std::unique_ptr<const std::string> client_;
};

}  // namespace readygate
