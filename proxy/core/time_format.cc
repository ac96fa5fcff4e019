// formatUtcMillis implementation.
#include "proxy/core/time_format.h"

#include <cstdio>
#include <ctime>

namespace readygate {

std::string formatUtcMillis(std::chrono::system_clock::time_point time) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(millis / 1000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char text[40];
  size_t length = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis % 1000));
  return text;
}

}  // namespace readygate
