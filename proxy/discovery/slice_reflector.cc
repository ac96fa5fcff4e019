// SliceReflector: list, watch, bookmarks, 410 and backoff for one Service's slices.
#include "proxy/discovery/slice_reflector.h"

#include <algorithm>
#include <utility>

namespace readygate {

SliceReflector::SliceReflector(Settings settings, uint32_t seed)
    : settings_(settings), random_(seed) {
  startList(RelistCause::Initial);
}

void SliceReflector::startList(RelistCause cause) {
  ++relists_[static_cast<size_t>(cause)];
  needList_ = true;
  continueToken_.clear();
  listing_.clear();
}

double SliceReflector::jittered(double seconds) {
  // Up to half again: replicas of readygate that lost the API server together do not
  // come back in step.
  return seconds * std::uniform_real_distribution<double>(1.0, 1.5)(random_);
}

void SliceReflector::backOff(double now) {
  backoff_ = backoff_ == 0 ? settings_.firstBackoffSeconds
                           : std::min(backoff_ * 2, settings_.maxBackoffSeconds);
  retryAt_ = now + jittered(backoff_);
}

std::optional<SliceReflector::Request> SliceReflector::next(double now) {
  if (inFlight_ || now < retryAt_) return std::nullopt;
  inFlight_ = true;
  Request request;
  if (needList_) {
    watching_ = false;
    request.kind = Request::Kind::List;
    request.continueToken = continueToken_;
    return request;
  }
  watching_ = true;
  lastActivity_ = std::max(lastActivity_, now);  // a new watch starts its silence now
  request.kind = Request::Kind::Watch;
  request.resourceVersion = resourceVersion_;
  request.timeoutSeconds = static_cast<int>(std::uniform_real_distribution<double>(
      settings_.minWatchSeconds, settings_.maxWatchSeconds)(random_));
  return request;
}

std::optional<double> SliceReflector::wakeAt() const {
  if (!inFlight_) return retryAt_;
  if (watching_) return lastActivity_ + settings_.staleWatchSeconds;
  return std::nullopt;
}

void SliceReflector::listPage(SliceListPage page, double now) {
  inFlight_ = false;
  for (EndpointSlice& slice : page.items) {
    std::string name = slice.name;
    listing_[name] = std::move(slice);
  }
  if (!page.continueToken.empty()) {
    continueToken_ = std::move(page.continueToken);
    return;  // next() asks for the following page at once
  }
  // Complete: it replaces the set whole (slices gone meanwhile drop out here).
  if (!synced_ || listing_.size() != slices_.size() ||
      !std::equal(listing_.begin(), listing_.end(), slices_.begin(),
                  [](const auto& a, const auto& b) {
                    return a.first == b.first &&
                           a.second.resourceVersion == b.second.resourceVersion;
                  })) {
    ++generation_;
  }
  slices_ = std::move(listing_);
  listing_.clear();
  continueToken_.clear();
  resourceVersion_ = std::move(page.resourceVersion);
  needList_ = false;
  synced_ = true;
  backoff_ = 0;
  lastActivity_ = now;
  listedAt_ = now;
}

void SliceReflector::requestFailed(int status, double now) {
  inFlight_ = false;
  ++errors_[status];
  if (status == 410) {
    bool firstPage = !watching_ && continueToken_.empty();
    if (!watching_) {
      // The continue token expired (or the list's version did): the list starts over.
      startList(RelistCause::ContinueExpired);
    } else {
      ++restarts_[static_cast<size_t>(WatchRestart::Failed)];
      startList(RelistCause::GoneStatus);
    }
    // At once, the server is answering; but a 410 for a list's first page (it has no
    // token to expire), or one right after a list, is a server that will say it again:
    // without a wait that would be a loop of lists against the API server.
    if (firstPage || now - listedAt_ < 1) backOff(now);
    return;
  }
  if (watching_) ++restarts_[static_cast<size_t>(WatchRestart::Failed)];
  // A list that failed halfway keeps its pages and token for the retry; the set in use
  // is untouched either way.
  backOff(now);
}

void SliceReflector::watchEvent(const WatchEvent& event, double now) {
  ++events_[static_cast<size_t>(event.type)];
  lastActivity_ = now;
  switch (event.type) {
    case WatchEvent::Type::Added:
    case WatchEvent::Type::Modified:
      slices_[event.slice.name] = event.slice;  // a modification replaces the slice whole
      ++generation_;
      break;
    case WatchEvent::Type::Deleted:
      if (slices_.erase(event.slice.name) > 0) ++generation_;
      break;
    case WatchEvent::Type::Bookmark:
      break;
    case WatchEvent::Type::Error:
      inFlight_ = false;
      ++errors_[event.status.code];
      ++restarts_[static_cast<size_t>(WatchRestart::Failed)];
      if (event.status.code == 410) {
        startList(RelistCause::GoneEvent);
        if (now - listedAt_ < 1) backOff(now);  // as for a 410 status: no loop of lists
      } else {
        backOff(now);
      }
      return;  // an ERROR carries no version to move to
  }
  if (!event.resourceVersion.empty()) resourceVersion_ = event.resourceVersion;
}

void SliceReflector::watchEnded(double now) {
  inFlight_ = false;
  ++restarts_[static_cast<size_t>(WatchRestart::Ended)];
  // A watch that ran its course is normal: again soon, jittered, from where it was. One
  // that ends at once, again and again, backs off like a failure.
  if (now - lastActivity_ < 1) {
    backOff(now);
  } else {
    backoff_ = 0;
    retryAt_ = now + std::uniform_real_distribution<double>(0, 1)(random_);
  }
}

void SliceReflector::watchAbandoned(double now) {
  inFlight_ = false;
  ++restarts_[static_cast<size_t>(WatchRestart::Stale)];
  retryAt_ = now;  // from the last version; a list only if the server says 410
}

bool SliceReflector::watchIsStale(double now) const {
  return inFlight_ && watching_ && now - lastActivity_ >= settings_.staleWatchSeconds;
}

const char* toString(SliceReflector::RelistCause cause) {
  switch (cause) {
    case SliceReflector::RelistCause::Initial:
      return "initial";
    case SliceReflector::RelistCause::GoneStatus:
      return "gone_status";
    case SliceReflector::RelistCause::GoneEvent:
      return "gone_event";
    case SliceReflector::RelistCause::ContinueExpired:
      return "continue_expired";
    case SliceReflector::RelistCause::kCount:
      break;
  }
  return "?";
}

const char* toString(SliceReflector::WatchRestart restart) {
  switch (restart) {
    case SliceReflector::WatchRestart::Ended:
      return "ended";
    case SliceReflector::WatchRestart::Stale:
      return "stale";
    case SliceReflector::WatchRestart::Failed:
      return "failed";
    case SliceReflector::WatchRestart::kCount:
      break;
  }
  return "?";
}

}  // namespace readygate
