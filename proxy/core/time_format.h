// UTC timestamps with milliseconds, as logs and /status print them.
#pragma once

#include <chrono>
#include <string>

namespace readygate {

/// "2026-11-21T22:39:49.871Z"
std::string formatUtcMillis(std::chrono::system_clock::time_point time);

}  // namespace readygate
