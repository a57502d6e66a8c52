#include "common/logging.h"

#include <utility>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace surge {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* levelName(LogLevel l) {
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
}  // namespace

void setLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool setLogLevelByName(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"debug", LogLevel::kDebug},
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

void logLine(LogLevel level, std::string_view module, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  line.reserve(64 + module.size() + message.size());
  line += ts;
  char msbuf[8];
  std::snprintf(msbuf, sizeof msbuf, ".%03dZ ", ms);
  line += msbuf;
  line += levelName(level);
  line += ' ';
  line += module;
  line += ": ";
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write per line: no interleaving
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
