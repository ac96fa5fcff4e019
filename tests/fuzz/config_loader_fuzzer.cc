// Fuzz target: any text as a configuration file; errors, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  readygate::ConfigLoadResult result = readygate::loadConfigText(text);
  // A file is either accepted or told why not.
  if (!result.config && result.errors.empty()) __builtin_trap();
  return 0;
}
