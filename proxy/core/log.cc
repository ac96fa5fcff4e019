// Structured logging implementation.
#include "proxy/core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>

#include "proxy/core/log_sink.h"
#include "proxy/core/time_format.h"

namespace readygate {
namespace {

std::atomic<LogLevel> gLevel{LogLevel::Info};

/// Never destroyed: at exit its writer may be stuck on a stderr nobody reads, and the
/// process must still be able to end (main flushes with a deadline first).
LogSink& sink() {
  static LogSink* instance = new LogSink(STDERR_FILENO, LogSink::Limits{}, *new SteadyClock);
  return *instance;
}

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

void appendValue(std::string& line, std::string_view value) {
  bool needsQuotes = value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
  if (!needsQuotes) {
    line.append(value);
    return;
  }
  line.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') line.push_back('\\');
    if (c == '\n') {
      line.append("\\n");
      continue;
    }
    line.push_back(c);
  }
  line.push_back('"');
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k) {
  char text[32];
  snprintf(text, sizeof text, "%g", v);
  value = text;
}

std::optional<LogLevel> parseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::Debug;
  if (text == "info") return LogLevel::Info;
  if (text == "warn" || text == "warning") return LogLevel::Warn;
  if (text == "error") return LogLevel::Error;
  return std::nullopt;
}

void setLogLevel(LogLevel level) { gLevel.store(level, std::memory_order_relaxed); }

bool logEnabled(LogLevel level) { return level >= gLevel.load(std::memory_order_relaxed); }

void logEvent(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!logEnabled(level)) return;
  // The access log is one line per request by design: never rate limited (a full
  // queue still drops, and counts).
  if (event != "access" && !sink().admit(event)) return;  // suppressed: not worth formatting
  std::string stamp = formatUtcMillis(std::chrono::system_clock::now());
  std::string line;
  line.reserve(128);
  line.append("ts=").append(stamp).append(" level=").append(levelName(level));
  line.append(" event=").append(event);
  for (const LogField& field : fields) {
    line.push_back(' ');
    line.append(field.key).push_back('=');
    appendValue(line, field.value);
  }
  line.push_back('\n');
  sink().enqueue(std::move(line));
}

void setLogLimits(size_t queueBytes, int linesPerSecondPerEvent) {
  sink().setLimits(LogSink::Limits{queueBytes, linesPerSecondPerEvent});
}

uint64_t logLinesDropped() { return sink().dropped(); }
uint64_t logLinesSuppressed() { return sink().suppressed(); }
void flushLogs(double timeoutSeconds) { sink().flush(timeoutSeconds); }

}  // namespace readygate
