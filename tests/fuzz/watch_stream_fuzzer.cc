// Fuzz target: any bytes as a Kubernetes watch stream (and as a list page): the object
// framer, the event and slice parsers, and the endpoint rules over what they accept.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "proxy/discovery/api_response_reader.h"
#include "proxy/discovery/endpoint_slice.h"
#include "proxy/discovery/json_object_stream.h"
#include "proxy/discovery/kubernetes_messages.h"
#include "proxy/discovery/slice_reflector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace readygate;
  if (size == 0) return 0;
  // The first byte picks the chunk size, so boundaries fall everywhere, and (its top bit)
  // whether the input is a whole HTTP response, whose de-chunked body is the stream.
  size_t chunk = 1 + data[0] % 64;
  std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string body;
  if (data[0] & 0x80) {
    ApiResponseReader response({[](int status) {
                                  if (status < 100 || status > 999) __builtin_trap();
                                },
                                [&](std::string_view piece) { body.append(piece); }, nullptr});
    for (size_t at = 0; at < raw.size(); at += chunk) {
      if (!response.feed(raw.substr(at, chunk))) break;
    }
    response.finishAtClose();
    if (response.failed() && response.error().empty()) __builtin_trap();
    raw = body;
  }
  std::string_view input = raw;
  JsonObjectStream stream(64 * 1024);
  std::map<std::string, EndpointSlice> slices;
  // The reflector takes every event as a watch would give it, after an empty list.
  SliceReflector reflector(SliceReflector::Settings{}, 1);
  double now = 0;
  reflector.next(now);
  reflector.listPage(SliceListPage{{}, "1", ""}, now);
  reflector.next(now);
  bool watching = true;
  // After an ERROR event the reflector lists (answered here with an empty page) or
  // backs off, and is watching again within a few steps: it never gets stuck.
  auto watchAgain = [&] {
    for (int step = 0; step < 8 && !watching; ++step) {
      auto request = reflector.next(now);
      if (!request) {
        auto wake = reflector.wakeAt();
        if (!wake) __builtin_trap();
        now = std::max(now, *wake);
      } else if (request->kind == SliceReflector::Request::Kind::List) {
        reflector.listPage(SliceListPage{{}, "2", ""}, now);
      } else {
        watching = true;
      }
    }
    if (!watching) __builtin_trap();
  };
  for (size_t at = 0; at < input.size(); at += chunk) {
    for (const std::string& object : stream.feed(input.substr(at, chunk))) {
      if (object.empty() || object.front() != '{') __builtin_trap();
      auto event = parseWatchEvent(object);
      if (auto* parsed = std::get_if<WatchEvent>(&event)) {
        watchAgain();
        reflector.watchEvent(*parsed, now += 1);
        if (parsed->type == WatchEvent::Type::Error) watching = false;
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
