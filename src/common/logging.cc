#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

#include "common/json_escape.h"

namespace surge {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};

// The sink: writers, the status line, and the mutex that keeps lines and the status line apart.
struct Sink {
  std::mutex mu;
  LogWriter log_writer;     // empty: stderr
  LogWriter status_writer;  // empty: stdout, flushed
  std::string status;       // the status line shown ("" with shown false: none)
  bool shown = false;
};

Sink& sink() {
  static Sink* s = new Sink;  // never destroyed: threads may log during static destruction
  return *s;
}

constexpr std::string_view kEraseLine = "\r\033[K";

const char* textLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO ";
    case LogLevel::kWarn:
      return "WARN ";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

const char* jsonLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

// "2026-11-28T06:41:08.123Z" (RFC 3339, UTC, milliseconds).
void appendTimestamp(std::string& out, std::chrono::system_clock::time_point now) {
  const auto ms_since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms_since_epoch / 1000);
  int ms = static_cast<int>(ms_since_epoch % 1000);
  if (ms < 0) {  // before 1970: floor, not truncate
    ms += 1000;
    --t;
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  out += ts;
  char msbuf[8];
  std::snprintf(msbuf, sizeof msbuf, ".%03dZ", ms);
  out += msbuf;
}

bool reservedKey(std::string_view k) {
  return k.empty() || k == "time" || k == "level" || k == "component" || k == "message";
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  appendJsonEscaped(out, s);
  out += '"';
}

void writeLog(Sink& s, std::string_view bytes) {
  if (s.log_writer) {
    s.log_writer(bytes);
  } else {
    std::fwrite(bytes.data(), 1, bytes.size(), stderr);  // one write per line: no interleaving
  }
}

void writeStatus(Sink& s, std::string_view bytes) {
  if (s.status_writer) {
    s.status_writer(bytes);
  } else {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
  }
}

bool stderrIsTerminal() {
  static const bool tty = ::isatty(STDERR_FILENO) == 1;
  return tty;
}

void emit(const std::string& line) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mu);
  // Only when the log lines land on the terminal the status line is on (an injected writer is a
  // test's fake terminal).
  const bool around = s.shown && (s.log_writer || stderrIsTerminal());
  if (around) writeStatus(s, kEraseLine);
  writeLog(s, line);
  if (around) writeStatus(s, std::string(kEraseLine) + s.status);
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k) {
  if (!std::isfinite(v)) {
    value = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  value.assign(buf, r.ptr);
  kind = Kind::kNumber;
}

void setLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool setLogLevelByName(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {{"debug", LogLevel::kDebug},
                                                                      {"info", LogLevel::kInfo},
                                                                      {"warn", LogLevel::kWarn},
                                                                      {"error", LogLevel::kError}};
  for (const auto& [n, level] : kLevels) {
    if (n == name) {
      setLogLevel(level);
      return true;
    }
  }
  return false;
}
LogLevel logLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void setLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }

bool setLogFormatByName(std::string_view name) {
  if (name == "text") {
    setLogFormat(LogFormat::kText);
  } else if (name == "json") {
    setLogFormat(LogFormat::kJson);
  } else {
    return false;
  }
  return true;
}

LogFormat logFormat() { return static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)); }

const char* logFormatName(LogFormat format) { return format == LogFormat::kJson ? "json" : "text"; }

std::string formatLogLine(LogFormat format, std::chrono::system_clock::time_point now,
                          LogLevel level, std::string_view module, std::string_view message,
                          const std::vector<LogField>& fields) {
  std::string line;
  line.reserve(96 + module.size() + message.size() + 24 * fields.size());
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    appendTimestamp(line, now);
    line += "\",\"level\":\"";
    line += jsonLevelName(level);
    line += "\",\"component\":";
    appendJsonString(line, module);
    line += ",\"message\":";
    appendJsonString(line, message);
    for (const LogField& f : fields) {
      line += ',';
      appendJsonString(line, reservedKey(f.key) ? "field_" + f.key : f.key);
      line += ':';
      if (f.kind == LogField::Kind::kString) {
        appendJsonString(line, f.value);
      } else {
        line += f.value;
      }
    }
    line += "}\n";
    return line;
  }
  appendTimestamp(line, now);
  line += ' ';
  line += textLevelName(level);
  line += ' ';
  line += module;
  line += ": ";
  line += message;  // the fields repeat the message's facts: text stays as it always was
  line += '\n';
  return line;
}

void logLine(LogLevel level, std::string_view module, std::string_view message) {
  emit(formatLogLine(logFormat(), std::chrono::system_clock::now(), level, module, message));
}

void logLine(LogLevel level, std::string_view module, std::string_view message,
             const std::vector<LogField>& fields) {
  emit(
      formatLogLine(logFormat(), std::chrono::system_clock::now(), level, module, message, fields));
}

void setLogWriter(LogWriter writer) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mu);
  s.log_writer = std::move(writer);
}

void setStatusLineWriter(LogWriter writer) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mu);
  s.status_writer = std::move(writer);
}

void showStatusLine(std::string_view text) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mu);
  s.status.assign(text);
  s.shown = true;
  writeStatus(s, std::string(kEraseLine) + s.status);
}

void endStatusLine() {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.shown) return;
  writeStatus(s, "\n");
  s.shown = false;
  s.status.clear();
}

bool RateLimitedLog::allow(uint64_t* suppressed) {
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  if (any_ && now - last_ < period_) {
    ++suppressed_;
    ++suppressed_total_;
    return false;
  }
  any_ = true;
  last_ = now;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

bool RateLimitedLog::log(LogLevel level, std::string_view module, std::string_view message) {
  if (level < logLevel()) return false;
  uint64_t dropped = 0;
  if (!allow(&dropped)) return false;
  if (dropped == 0) {
    logLine(level, module, message);
  } else {
    std::string m(message);
    m += " (" + std::to_string(dropped) + " similar suppressed)";
    logLine(level, module, m);
  }
  return true;
}

uint64_t RateLimitedLog::suppressedTotal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressed_total_;
}

}  // namespace surge
