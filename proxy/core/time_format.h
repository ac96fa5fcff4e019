// UTC timestamps with milliseconds, as logs and /status print them.
#pragma once

#include <chrono>
#include <string>

namespace readygate {

/// "2026-11-21T22:39:49.871Z"
std::string formatUtcMillis(std::chrono::system_clock::time_point time);

/// The same for Unix seconds (what the control loop keeps beside its clock's times).
inline std::string formatUtcMillis(double unixSeconds) {
  return formatUtcMillis(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(unixSeconds))));
}

}  // namespace readygate
