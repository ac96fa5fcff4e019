// Fuzz target: any bytes as a Kubernetes watch stream (and as a list page): the object
// framer, the event and slice parsers, and the endpoint rules over what they accept.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "proxy/discovery/endpoint_slice.h"
#include "proxy/discovery/json_object_stream.h"
#include "proxy/discovery/kubernetes_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace readygate;
  if (size == 0) return 0;
  // The first byte picks the chunk size, so boundaries fall everywhere.
  size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  JsonObjectStream stream(64 * 1024);
  std::map<std::string, EndpointSlice> slices;
  for (size_t at = 0; at < input.size(); at += chunk) {
    for (const std::string& object : stream.feed(input.substr(at, chunk))) {
      if (object.empty() || object.front() != '{') __builtin_trap();
      auto event = parseWatchEvent(object);
      if (auto* parsed = std::get_if<WatchEvent>(&event)) {
        if (parsed->type == WatchEvent::Type::Deleted) {
          slices.erase(parsed->slice.name);
        } else if (!parsed->slice.name.empty()) {
          slices[parsed->slice.name] = parsed->slice;
        }
      } else if (std::get<std::string>(event).empty()) {
        __builtin_trap();  // every refusal says why
      }
    }
  }
  auto page = parseSliceListPage(input);
  if (auto* parsed = std::get_if<SliceListPage>(&page)) {
    for (const EndpointSlice& slice : parsed->items) slices[slice.name] = slice;
  }
  for (SliceFamily family : {SliceFamily::Any, SliceFamily::IPv4, SliceFamily::IPv6}) {
    auto endpoints = resolveSliceEndpoints(slices, {"http", 0}, family);
    for (size_t i = 1; i < endpoints.size(); ++i) {
      if (!(endpoints[i - 1].address < endpoints[i].address)) __builtin_trap();  // one each
    }
    resolveSliceEndpoints(slices, {"", 8080}, family);
  }
  return 0;
}
