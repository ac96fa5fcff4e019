// renderConsoleView, renderEvents and the console's query.
#include "proxy/admin/console_view.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <algorithm>
#include <charconv>

#include "proxy/admin/status_report.h"
#include "proxy/core/json_writer.h"
#include "proxy/core/time_format.h"

namespace readygate {
namespace {

std::optional<uint64_t> digits(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void writeSummary(JsonWriter& json, const ServiceMembers& members) {
  json.beginObject();
  writeServiceFields(json, members);
  json.key("routes").beginArray();
  for (const RouteConfig& route : members.config().routes) {
    json.beginObject();
    json.key("host").value(route.host);
    json.key("path_prefix").value(route.pathPrefix);
    json.key("service").value(route.service);
    json.endObject();
  }
  json.endArray();
  std::array<size_t, std::size(kAllEffectiveStates)> counts{};
  size_t held = 0;
  for (const auto& member : members.members()) {
    ++counts[static_cast<size_t>(member->view.state)];
    if (member->view.heldByMinReady) ++held;
  }
  json.key("states").beginObject();
  for (EffectiveState state : kAllEffectiveStates) {
    json.key(toString(state)).value(counts[static_cast<size_t>(state)]);
  }
  json.endObject();
  json.key("backends_listed").value(members.members().size());
  json.key("backends_held_by_min_ready").value(held);
  json.endObject();
}

}  // namespace

std::optional<uint64_t> parseEventsQuery(std::string_view query) {
  if (query.empty()) return 0;
  constexpr std::string_view kSince = "since=";
  if (!query.starts_with(kSince)) return std::nullopt;
  return digits(query.substr(kSince.size()));
}

bool isConsoleQuery(const std::string& query) { return !query.empty() && query != "format=text"; }

std::variant<ConsoleQuery, std::string> parseConsoleQuery(const std::string& query) {
  evkeyvalq parameters;
  parameters.tqh_first = nullptr;  // what TAILQ_INIT does; evhttp_parse_query_str fills it
  parameters.tqh_last = &parameters.tqh_first;
  if (evhttp_parse_query_str(query.c_str(), &parameters) != 0) {
    evhttp_clear_headers(&parameters);
    return std::string("the query is not key=value pairs");
  }
  ConsoleQuery parsed;
  std::string error;
  for (evkeyval* entry = parameters.tqh_first; entry && error.empty();
       entry = entry->next.tqe_next) {
    std::string_view key = entry->key;
    std::string_view value = entry->value;
    auto number = [&](uint64_t max) -> uint64_t {
      std::optional<uint64_t> got = digits(value);
      if (!got || *got > max) {
        error = std::string(key) + " must be a whole number up to " + std::to_string(max);
        return 0;
      }
      return *got;
    };
    if (key == "summary") {
      if (value != "1" && value != "0") error = "summary must be 1 or 0";
      parsed.summary = value == "1";
    } else if (key == "service") {
      parsed.service = std::string(value);
    } else if (key == "offset") {
      parsed.offset = number(1u << 30);
    } else if (key == "limit") {
      parsed.limit = number(ConsoleQuery::kMaxLimit);
    } else if (key == "events_since") {
      parsed.eventsSince = number(UINT64_MAX);
    } else {
      error = "unknown parameter \"" + std::string(key) +
              "\"; use summary, service, offset, limit, events_since or format=text";
    }
  }
  evhttp_clear_headers(&parameters);
  if (!error.empty()) return error;
  return parsed;
}

void writeEvents(JsonWriter& json, const StateEventLog::Page& page) {
  json.beginObject();
  json.key("events").beginArray();
  for (const StateEvent* event : page.events) {
    json.beginObject();
    json.key("seq").value(static_cast<unsigned long long>(event->sequence));
    json.key("time").value(formatUtcMillis(event->unixTime));
    json.key("service").value(event->service);
    json.key("backend").value(event->backend);
    json.key("pod").value(event->pod);
    json.key("from").value(event->from);
    json.key("to").value(event->to);
    json.key("cause").value(event->cause);
    json.key("reason").value(event->reason);
    json.endObject();
  }
  json.endArray();
  json.key("next").value(static_cast<unsigned long long>(page.next));
  json.key("truncated").value(page.truncated);
  json.endObject();
}

std::string renderEvents(const StateEventLog& events, uint64_t since) {
  JsonWriter json;
  writeEvents(json, events.since(since));
  return json.str() + "\n";
}

std::optional<std::string> renderConsoleView(
    const std::vector<std::unique_ptr<ServiceMembers>>& services, const StateEventLog& events,
    const ConsoleQuery& query, double now) {
  const ServiceMembers* paged = nullptr;
  if (query.service) {
    for (const auto& members : services) {
      if (!members->retired() && members->config().name == *query.service) paged = members.get();
    }
    if (paged == nullptr) return std::nullopt;
  }
  JsonWriter json;
  json.beginObject();
  if (query.summary) {
    json.key("services").beginArray();
    for (const auto& members : services) writeSummary(json, *members);
    json.endArray();
  }
  if (paged != nullptr) {
    const auto& members = paged->members();
    size_t first = std::min(query.offset, members.size());
    size_t last = std::min(members.size(), first + query.limit);
    json.key("page").beginObject();
    json.key("service").value(paged->config().name);
    json.key("total").value(members.size());
    json.key("offset").value(first);
    json.key("limit").value(query.limit);
    json.key("backends").beginArray();
    for (size_t i = first; i < last; ++i) writeBackendJson(json, *paged, *members[i], now, true);
    json.endArray();
    json.endObject();
  }
  if (query.eventsSince) {
    json.key("events");
    writeEvents(json, events.since(*query.eventsSince));
  }
  json.key("events_next").value(static_cast<unsigned long long>(events.nextSequence()));
  json.endObject();
  return json.str() + "\n";
}

}  // namespace readygate
