// The worker's owning, intrusive list of open sessions.
#include "proxy/net/session_registry.h"

#include <utility>

namespace readygate {

Session& SessionRegistry::add(std::unique_ptr<Session> session, AdmissionTicket admission) {
  Session* raw = session.release();
  raw->admission_ = std::move(admission);
  raw->previous_ = nullptr;
  raw->next_ = head_;
  if (head_ != nullptr) head_->previous_ = raw;
  head_ = raw;
  ++size_;
  return *raw;
}

std::unique_ptr<Session> SessionRegistry::remove(Session* session) {
  if (session == nullptr || !contains(session)) return nullptr;
  if (session->previous_ != nullptr) {
    session->previous_->next_ = session->next_;
  } else {
    head_ = session->next_;
  }
  if (session->next_ != nullptr) session->next_->previous_ = session->previous_;
  session->previous_ = nullptr;
  session->next_ = nullptr;
  session->admission_ = AdmissionTicket();
  --size_;
  return std::unique_ptr<Session>(session);
}

std::unique_ptr<Session> SessionRegistry::replace(Session* current, std::unique_ptr<Session>& next) {
  if (current == nullptr || !contains(current) || !next) return nullptr;
  AdmissionTicket ticket = std::move(current->admission_);
  std::unique_ptr<Session> old = remove(current);
  add(std::move(next), std::move(ticket));
  return old;
}

std::vector<Session*> SessionRegistry::list() const {
  std::vector<Session*> open;
  open.reserve(size_);
  for (Session* session = head_; session != nullptr; session = session->next_) {
    open.push_back(session);
  }
  return open;
}

void SessionRegistry::clear() {
  while (head_ != nullptr) remove(head_);  // each destroyed as it comes out
}

}  // namespace readygate
