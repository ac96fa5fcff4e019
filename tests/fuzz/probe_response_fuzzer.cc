// Fuzz target: a backend's answer to an HTTP probe, whole or in two pieces, through
// ProbeResponseParser; a verdict must always come out at the end of the stream.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/probe/probe_response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  readygate::ProbeResponseParser parser;
  auto verdict = parser.feed(input.substr(0, cut));
  if (!verdict) verdict = parser.feed(input.substr(cut));
  if (!verdict) verdict = parser.endOfStream();
  if (verdict->reason.empty()) __builtin_trap();  // every verdict names its reason
  if (verdict->success != (verdict->reason == "ok")) __builtin_trap();
  return 0;
}
