// Fuzz target: what reaches the admin API's console parts from outside: any query string
// for /status (parseConsoleQuery), and any answer `status --watch` reads (eventLinesFrom).
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/admin/console_view.h"
#include "proxy/admin/event_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto parsed = readygate::parseConsoleQuery(text);
    if (auto* query = std::get_if<readygate::ConsoleQuery>(&parsed)) {
      if (query->limit > readygate::ConsoleQuery::kMaxLimit) __builtin_trap();
      if (query->offset > (1u << 30)) __builtin_trap();
    } else if (std::get<std::string>(parsed).empty()) {
      __builtin_trap();  // a refusal always says why
    }
  } else {
    std::string error;
    auto lines = readygate::eventLinesFrom(text, error);
    if (!lines && error.empty()) __builtin_trap();
  }
  return 0;
}
