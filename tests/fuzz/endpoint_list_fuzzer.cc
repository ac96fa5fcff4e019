// Fuzz target: any text as an endpoints file (what a discovery agent writes).
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/discovery/endpoint_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = readygate::parseEndpointList(text);
  if (auto* error = std::get_if<std::string>(&parsed); error && error->empty()) __builtin_trap();
  return 0;
}
