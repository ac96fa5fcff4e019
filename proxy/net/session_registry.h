// The sessions open on one worker: an owning, intrusive list (no allocation per session).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "proxy/net/session.h"

namespace readygate {

/// Owns its sessions. Each carries its admission ticket while registered; the ticket is
/// given back when the session leaves (before it is destroyed: the session may hold the
/// last reference to the service whose count the ticket names). Worker thread only.
class SessionRegistry {
 public:
  SessionRegistry() = default;
  ~SessionRegistry() { clear(); }
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  Session& add(std::unique_ptr<Session> session, AdmissionTicket admission);
  /// Takes `session` out, its ticket given back; null when it is not here (already out).
  std::unique_ptr<Session> remove(Session* session);
  /// Puts `next` where `current` was, with its ticket; `current` comes back (null when
  /// it is not here, and then `next` is not added either).
  std::unique_ptr<Session> replace(Session* current, std::unique_ptr<Session>& next);
  /// The open sessions, copied: for loops whose calls may end sessions.
  std::vector<Session*> list() const;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Destroys every session.
  void clear();

 private:
  bool contains(const Session* session) const {
    return session == head_ || session->previous_ != nullptr;
  }

  Session* head_ = nullptr;  // owned, as is every session linked after it
  size_t size_ = 0;
};

}  // namespace readygate
