// Logging: one line per event on stderr, in one of two formats (docs/design/logging.md):
//   text (default): "2026-11-28T06:41:08.123Z INFO  module: message"
//   json:           {"time":"2026-11-28T06:41:08.123Z","level":"info","component":"module",
//                    "message":"message","key":"value","n":42}   (one object per line)
// Structured fields (LogField: key/value pairs) are optional and written in JSON only: the
// message stays complete for a human (the fields repeat its facts, typed, for a pipeline), so a
// call site that gains fields writes the same text line as before. JSON lines are valid UTF-8
// whatever the strings hold (common/json_escape.h: control characters escaped, invalid UTF-8
// replaced by U+FFFD).
// Status line: a live line on a terminal (surge up's) registered with showStatusLine(); while one
// is shown, every log line first erases it, is written, and redraws it, under the same mutex, so
// log lines never land in the middle of it.
// RateLimitedLog: at most one line per period for one recurring condition (EMFILE on accept, a
// backend that keeps failing), the lines dropped in between counted and reported on the next one
// written ("... (41 similar suppressed)"), as the kernel's printk_ratelimit and Envoy's
// ENVOY_LOG_PERIODIC do.
// Thread-safety: lines from different threads never interleave (one mutex around the sink and the
// status line); a RateLimitedLog may be shared between threads (a mutex, taken only when the
// condition occurs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/clock.h"

namespace surge {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kText = 0, kJson };

void setLogLevel(LogLevel level);
// "debug", "info", "warn", "error" → setLogLevel; false (level unchanged) for anything else.
bool setLogLevelByName(std::string_view name);
LogLevel logLevel();

void setLogFormat(LogFormat format);
// "text", "json" → setLogFormat; false (format unchanged) for anything else.
bool setLogFormatByName(std::string_view name);
LogFormat logFormat();
const char* logFormatName(LogFormat format);

// One structured field, "key":value in JSON (not written in text). Integers, doubles and booleans
// are JSON numbers and booleans (a non-finite double becomes a string); everything else a string.
// A key equal to one of the four schema keys (or empty) is written as "field_<key>".
struct LogField {
  enum class Kind { kString, kNumber, kBool };

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)), kind(Kind::kNumber) {}
  LogField(std::string_view k, double v);
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), kind(Kind::kBool) {}

  std::string key;
  std::string value;
  Kind kind = Kind::kString;
};

void logLine(LogLevel level, std::string_view module, std::string_view message);
// With structured fields: logLine(LogLevel::kInfo, "up", "replica started",
// {{"replica", name}, {"pid", pid}}).
void logLine(LogLevel level, std::string_view module, std::string_view message,
             const std::vector<LogField>& fields);

// The line logLine writes (ending in '\n') at time `now`, in `format`. Pure (for tests).
std::string formatLogLine(LogFormat format, std::chrono::system_clock::time_point now,
                          LogLevel level, std::string_view module, std::string_view message,
                          const std::vector<LogField>& fields = {});

// Where the bytes go. Default: log lines to stderr, the status line to stdout (flushed). Each
// call gets whole lines (or the whole status-line sequence). Tests inject a fake terminal;
// nullptr restores the default. With an injected log writer the status-line protocol always
// applies; with the default one only when stderr is a terminal.
using LogWriter = std::function<void(std::string_view bytes)>;
void setLogWriter(LogWriter writer);
void setStatusLineWriter(LogWriter writer);

// The live status line (on a TTY only; the caller decides). showStatusLine draws "\r\033[K" +
// text on the status writer and remembers it; a log line written meanwhile is preceded by
// "\r\033[K" (the status line erased) and followed by the status line redrawn. endStatusLine
// ends the line ("\n": the last status stays on screen) and forgets it.
void showStatusLine(std::string_view text);
void endStatusLine();

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

// SURGE_LOG_FIELDS(kInfo, "up", "replica started", {{"replica", name}, {"pid", pid}}): the fields
// are built only when the level is on.
#define SURGE_LOG_FIELDS(level, module, msg, ...)                           \
  do {                                                                      \
    if (::surge::LogLevel::level >= ::surge::logLevel())                    \
      ::surge::logLine(::surge::LogLevel::level, module, msg, __VA_ARGS__); \
  } while (0)
