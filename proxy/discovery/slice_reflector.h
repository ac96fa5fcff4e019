// The list-then-watch protocol for one Service's EndpointSlices, as a state machine without
// I/O: it says which request to make next and keeps the last good set of slices.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "proxy/discovery/endpoint_slice.h"
#include "proxy/discovery/kubernetes_messages.h"

namespace readygate {

/// Follows the API concepts page: a paged list (limit, continue) whose resourceVersion
/// a watch starts from, with bookmarks; 410 Gone (as an HTTP status or an ERROR event)
/// lists again; a watch that ends is opened again from the last version, one that fell
/// silent for `staleWatchSeconds` too. Errors back off exponentially with jitter.
/// Whatever fails, the last good set stays: a new list replaces it only once complete
/// (the caller diffs), so nothing on the way ever empties a pool.
///
/// The caller runs one request at a time: next() gives it (or nothing while one runs or
/// a backoff waits; wakeAt() says when to ask again), and exactly one of listPage,
/// requestFailed, watchEnded or watchAbandoned reports how it ended. Events of a watch
/// come through watchEvent meanwhile. Times are the caller's clock, in seconds.
class SliceReflector {
 public:
  struct Settings {
    int listLimit = 500;
    double staleWatchSeconds = 180;
    double minWatchSeconds = 300;  // the watch's timeoutSeconds, at random in [min, max]
    double maxWatchSeconds = 600;
    double firstBackoffSeconds = 1;
    double maxBackoffSeconds = 30;
  };
  struct Request {
    enum class Kind { List, Watch };
    Kind kind = Kind::List;
    std::string continueToken;    // List: the page after the last one
    std::string resourceVersion;  // Watch: from where
    int timeoutSeconds = 0;       // Watch
  };
  enum class RelistCause { Initial, GoneStatus, GoneEvent, ContinueExpired, kCount };
  enum class WatchRestart { Ended, Stale, Failed, kCount };

  SliceReflector(Settings settings, uint32_t seed);

  std::optional<Request> next(double now);
  /// When next() may give something again (a backoff's end, a watch going stale);
  /// nullopt when only an answer can move things on.
  std::optional<double> wakeAt() const;

  void listPage(SliceListPage page, double now);
  /// The request got `status` (0: no answer at all: connect, TLS or a read error).
  void requestFailed(int status, double now);
  /// What came on the watch; after an ERROR event the watch is over (the caller closes
  /// it and reports nothing more for it).
  void watchEvent(const WatchEvent& event, double now);
  /// The server ended the watch (its timeoutSeconds, a restart).
  void watchEnded(double now);
  /// The caller closed a watch that watchIsStale() said fell silent.
  void watchAbandoned(double now);
  bool watchIsStale(double now) const;

  /// The last good set; `generation` moves whenever it changes.
  const std::map<std::string, EndpointSlice>& slices() const { return slices_; }
  uint64_t generation() const { return generation_; }
  /// Whether a complete list has been seen (until then the set is not the Service's).
  bool synced() const { return synced_; }
  const std::string& resourceVersion() const { return resourceVersion_; }
  /// The last event or bookmark, or the end of the last list; -1 before either.
  double lastActivity() const { return lastActivity_; }

  // Counters for the metrics.
  const std::array<uint64_t, 5>& eventsByType() const { return events_; }
  const std::array<uint64_t, static_cast<size_t>(RelistCause::kCount)>& relists() const {
    return relists_;
  }
  const std::array<uint64_t, static_cast<size_t>(WatchRestart::kCount)>& watchRestarts() const {
    return restarts_;
  }
  const std::map<int, uint64_t>& errorsByStatus() const { return errors_; }

 private:
  void startList(RelistCause cause);
  void backOff(double now);
  double jittered(double seconds);

  Settings settings_;
  std::minstd_rand random_;
  std::map<std::string, EndpointSlice> slices_;   // the last good set
  std::map<std::string, EndpointSlice> listing_;  // pages of a list under way
  std::string continueToken_;
  std::string resourceVersion_;
  bool needList_ = true;
  bool inFlight_ = false;
  bool watching_ = false;  // the request in flight is a watch
  bool synced_ = false;
  double retryAt_ = 0;
  double backoff_ = 0;  // the next failure's wait; 0 after a success
  double lastActivity_ = -1;
  double listedAt_ = -1e9;  // when the last list completed
  uint64_t generation_ = 0;
  std::array<uint64_t, 5> events_{};
  std::array<uint64_t, static_cast<size_t>(RelistCause::kCount)> relists_{};
  std::array<uint64_t, static_cast<size_t>(WatchRestart::kCount)> restarts_{};
  std::map<int, uint64_t> errors_;
};

const char* toString(SliceReflector::RelistCause cause);
const char* toString(SliceReflector::WatchRestart restart);

}  // namespace readygate
