// Logging: one line per event on stderr, "2026-11-28T06:41:08.123Z INFO  module: message".
// RateLimitedLog: at most one line per period for one recurring condition (EMFILE on accept, a
// backend that keeps failing), the lines dropped in between counted and reported on the next one
// written ("... (41 similar suppressed)"), as the kernel's printk_ratelimit and Envoy's
// ENVOY_LOG_PERIODIC do.
// Thread-safety: lines from different threads never interleave; a RateLimitedLog may be shared
// between threads (a mutex, taken only when the condition occurs).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace surge {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
// "debug", "info", "warn", "error" → setLogLevel; false (level unchanged) for anything else.
bool setLogLevelByName(std::string_view name);
LogLevel logLevel();
void logLine(LogLevel level, std::string_view module, std::string_view message);

class RateLimitedLog {
 public:
  explicit RateLimitedLog(Duration period, const Clock& clock = SteadyClock::instance())
      : period_(period), clock_(clock) {}

  // Decides whether a line may be written now. True: write it, and mention *suppressed (lines
  // dropped since the last one written). False: it was counted as suppressed.
  bool allow(uint64_t* suppressed);
  // allow() + logLine(), appending " (N similar suppressed)" when N > 0. Returns whether written.
  bool log(LogLevel level, std::string_view module, std::string_view message);
  uint64_t suppressedTotal() const;

 private:
  const Duration period_;
  const Clock& clock_;
  mutable std::mutex mu_;
  bool any_ = false;
  TimePoint last_{};
  uint64_t suppressed_ = 0;
  uint64_t suppressed_total_ = 0;
};

}  // namespace surge

#define SURGE_LOG(level, module, msg)                          \
  do {                                                         \
    if (::surge::LogLevel::level >= ::surge::logLevel())       \
      ::surge::logLine(::surge::LogLevel::level, module, msg); \
  } while (0)
