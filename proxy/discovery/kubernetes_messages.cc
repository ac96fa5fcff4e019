// Parsing the API server's EndpointSlice answers with nlohmann::json (no exceptions escape).
#include "proxy/discovery/kubernetes_messages.h"

#include <nlohmann/json.hpp>

namespace readygate {
namespace {

using nlohmann::json;

/// `text` as JSON, or discarded (is_discarded()) when it is not JSON.
json parse(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::string stringOr(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

ApiStatus statusOf(const json& object) {
  ApiStatus status;
  if (!object.is_object()) return status;
  auto code = object.find("code");
  if (code != object.end() && code->is_number_integer()) {
    int64_t value = code->get<int64_t>();
    if (value > 0 && value < 1000) status.code = static_cast<int>(value);
  }
  status.reason = stringOr(object, "reason");
  status.message = stringOr(object, "message");
  return status;
}

}  // namespace

const char* toString(WatchEvent::Type type) {
  switch (type) {
    case WatchEvent::Type::Added:
      return "ADDED";
    case WatchEvent::Type::Modified:
      return "MODIFIED";
    case WatchEvent::Type::Deleted:
      return "DELETED";
    case WatchEvent::Type::Bookmark:
      return "BOOKMARK";
    case WatchEvent::Type::Error:
      return "ERROR";
  }
  return "?";
}

std::variant<SliceListPage, std::string> parseSliceListPage(std::string_view text) {
  json list = parse(text);
  if (list.is_discarded() || !list.is_object()) return std::string("the list is not a JSON object");
  SliceListPage page;
  auto metadata = list.find("metadata");
  if (metadata != list.end() && metadata->is_object()) {
    page.resourceVersion = stringOr(*metadata, "resourceVersion");
    page.continueToken = stringOr(*metadata, "continue");
  }
  if (page.resourceVersion.empty()) return std::string("the list has no metadata.resourceVersion");
  auto items = list.find("items");
  if (items != list.end() && !items->is_null()) {
    if (!items->is_array()) return std::string("items: not a list");
    page.items.reserve(items->size());
    for (const json& item : *items) {
      auto slice = parseEndpointSlice(item);
      if (auto* error = std::get_if<std::string>(&slice)) return "items[]: " + *error;
      page.items.push_back(std::move(std::get<EndpointSlice>(slice)));
    }
  }
  return page;
}

std::variant<WatchEvent, std::string> parseWatchEvent(std::string_view text) {
  json event = parse(text);
  if (event.is_discarded() || !event.is_object()) return std::string("the event is not JSON");
  std::string type = stringOr(event, "type");
  WatchEvent parsed;
  if (type == "ADDED") {
    parsed.type = WatchEvent::Type::Added;
  } else if (type == "MODIFIED") {
    parsed.type = WatchEvent::Type::Modified;
  } else if (type == "DELETED") {
    parsed.type = WatchEvent::Type::Deleted;
  } else if (type == "BOOKMARK") {
    parsed.type = WatchEvent::Type::Bookmark;
  } else if (type == "ERROR") {
    parsed.type = WatchEvent::Type::Error;
  } else {
    return "unknown event type \"" + type.substr(0, 40) + "\"";
  }
  auto object = event.find("object");
  if (object == event.end() || !object->is_object()) return std::string("the event has no object");
  if (parsed.type == WatchEvent::Type::Error) {
    parsed.status = statusOf(*object);
    return parsed;
  }
  auto metadata = object->find("metadata");
  if (metadata != object->end() && metadata->is_object()) {
    parsed.resourceVersion = stringOr(*metadata, "resourceVersion");
  }
  if (parsed.type == WatchEvent::Type::Bookmark) {
    // A bookmark's object is a bare EndpointSlice with only its version set.
    if (parsed.resourceVersion.empty()) return std::string("a bookmark without resourceVersion");
    return parsed;
  }
  auto slice = parseEndpointSlice(*object);
  if (auto* error = std::get_if<std::string>(&slice)) return "the event's slice: " + *error;
  parsed.slice = std::move(std::get<EndpointSlice>(slice));
  return parsed;
}

ApiStatus parseApiStatus(std::string_view text) {
  json status = parse(text);
  if (status.is_discarded()) return {};
  return statusOf(status);
}

}  // namespace readygate
