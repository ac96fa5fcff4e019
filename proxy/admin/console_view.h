// What the console asks /status for, each part small at 10,000 backends: per-service counts,
// one page of one service's backends, and the state changes since a sequence number.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/health/service_members.h"
#include "proxy/health/state_event_log.h"

namespace readygate {

class JsonWriter;

/// The parts of one console refresh; any may be left out.
struct ConsoleQuery {
  static constexpr size_t kDefaultLimit = 100;
  static constexpr size_t kMaxLimit = 1000;

  bool summary = false;
  std::optional<std::string> service;  // a page of this service's backends
  size_t offset = 0;
  size_t limit = kDefaultLimit;
  std::optional<uint64_t> eventsSince;
};

/// `summary=1`, `service=S`, `offset=N`, `limit=M` (at most 1000), `events_since=N` from a
/// query string, or the error to answer 400 with. Unknown parameters are refused, so a
/// typo does not silently answer the whole /status.
std::variant<ConsoleQuery, std::string> parseConsoleQuery(const std::string& query);

/// `since=N` of /events (empty: 0, every event kept), or nullopt for anything else.
std::optional<uint64_t> parseEventsQuery(std::string_view query);

/// Whether a /status query asks for the console's parts (else it is the whole /status).
bool isConsoleQuery(const std::string& query);

/// {"services": [...], "page": {...}, "events": {...}} with the parts asked for; nullopt
/// when the service of the page does not exist. Control loop only.
std::optional<std::string> renderConsoleView(
    const std::vector<std::unique_ptr<ServiceMembers>>& services, const StateEventLog& events,
    const ConsoleQuery& query, double now);

/// {"events": [...], "next": N, "truncated": bool}: /events and the console's timeline.
void writeEvents(JsonWriter& json, const StateEventLog::Page& page);
std::string renderEvents(const StateEventLog& events, uint64_t since);

}  // namespace readygate
