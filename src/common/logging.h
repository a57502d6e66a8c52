// Logging: one line per event on stderr, "2026-11-28T06:41:08.123Z INFO  module: message".
// Thread-safety: lines from different threads never interleave.
#pragma once

#include <string_view>

namespace surge {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
// "debug", "info", "warn", "error" → setLogLevel; false (level unchanged) for anything else.
bool setLogLevelByName(std::string_view name);
LogLevel logLevel();
void logLine(LogLevel level, std::string_view module, std::string_view message);

}  // namespace surge

#define SURGE_LOG(level, module, msg)                          \
  do {                                                         \
    if (::surge::LogLevel::level >= ::surge::logLevel())       \
      ::surge::logLine(::surge::LogLevel::level, module, msg); \
  } while (0)
