// eventLinesFrom implementation (nlohmann's parser: this reads another process's answer).
#include "proxy/admin/event_lines.h"

#include <nlohmann/json.hpp>

namespace readygate {

std::optional<EventLines> eventLinesFrom(const std::string& body, std::string& error) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("events") ||
      !parsed["events"].is_array() || !parsed.value("next", nlohmann::json()).is_number_unsigned()) {
    error = "not an /events answer";
    return std::nullopt;
  }
  EventLines result;
  result.next = parsed["next"].get<uint64_t>();
  // Every field is looked at by type first: nlohmann's value() throws on a mismatch
  // (found by the admin_query fuzz target: "truncated": 4.4 ended the process).
  auto truncated = parsed.find("truncated");
  result.truncated = truncated != parsed.end() && truncated->is_boolean() && truncated->get<bool>();
  auto text = [](const nlohmann::json& event, const char* key) {
    auto found = event.find(key);
    return found != event.end() && found->is_string() ? found->get<std::string>() : std::string();
  };
  for (const nlohmann::json& event : parsed["events"]) {
    if (!event.is_object()) continue;
    std::string backend = text(event, "backend");
    std::string pod = text(event, "pod");
    if (!pod.empty()) backend += " (" + pod + ")";
    result.lines.push_back(text(event, "time") + "  " + text(event, "service") + "  " + backend +
                           "  " + text(event, "from") + " -> " + text(event, "to") + "  " +
                           text(event, "cause") + " " + text(event, "reason"));
  }
  return result;
}

}  // namespace readygate
