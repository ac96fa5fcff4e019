// `readygate status --watch`: /events answers turned into one line per state change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace readygate {

struct EventLines {
  std::vector<std::string> lines;  // oldest first
  uint64_t next = 0;               // what to ask for next
  bool truncated = false;          // changes at or after the asked number were dropped
};

/// Parses an /events answer; nullopt with `error` set when it is not one.
std::optional<EventLines> eventLinesFrom(const std::string& body, std::string& error);

}  // namespace readygate
