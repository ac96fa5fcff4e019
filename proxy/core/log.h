// Structured logging: one line per event, level and key=value fields, to stderr without blocking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace readygate {

enum class LogLevel {
  Debug,  // per-connection detail
  Info,   // lifecycle and state changes
  Warn,   // something was refused or retried, the process carries on
  Error,  // something failed that an operator must look at
};

std::optional<LogLevel> parseLogLevel(std::string_view text);
void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);

/// One key=value pair; values with spaces or quotes are quoted on output.
struct LogField {
  std::string_view key;
  std::string value;

  LogField(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  template <typename Number>
  requires std::is_integral_v<Number> LogField(std::string_view k, Number v)
      : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v);
};

/// Formats `ts=... level=... event=... k=v ...` and hands it to the process's LogSink
/// (a bounded queue and a writer thread of its own): the caller never waits for stderr.
/// Lines dropped because the queue is full, or suppressed by the per-event rate limit,
/// are counted (`logLinesDropped`, `logLinesSuppressed`).
void logEvent(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

/// How much may wait for stderr, and how many lines one event may write per second
/// (0: no limit). Defaults: 4 MiB, 200.
void setLogLimits(size_t queueBytes, int linesPerSecondPerEvent);

uint64_t logLinesDropped();
uint64_t logLinesSuppressed();
/// Waits (at most `timeoutSeconds`) until queued lines are written; before exiting.
void flushLogs(double timeoutSeconds);

}  // namespace readygate
