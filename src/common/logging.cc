#include "common/logging.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// The text format's escaping: what reaches a terminal never holds a live control sequence. Tab
// and printable ASCII as they are; '\n', '\r' as "\n", "\r" (one event, one line); every other C0
// byte and DEL as "\xNN" (ESC → "\x1b"); the C1 code points U+0080..U+009F (which some
// terminals execute, e.g. U+009B as CSI) as "\u00NN"; a byte that is not part of valid UTF-8 as
// U+FFFD. Everything else (valid UTF-8) is copied.
void appendTextEscaped(std::string& out, std::string_view s) {
  size_t clean = 0;  // fast path: the common all-printable-ASCII string is copied as it is
  while (clean < s.size()) {
    const auto u = static_cast<unsigned char>(s[clean]);
    if ((u < 0x20 && u != '\t') || u >= 0x7f) break;
    ++clean;
  }
  out.append(s.data(), clean);
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = clean; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u == '\t' || (u >= 0x20 && u < 0x7f)) {
      out.push_back(s[i]);
    } else if (u == '\n') {
      out += "\\n";
    } else if (u == '\r') {
      out += "\\r";
    } else if (u < 0x80) {  // other C0, DEL
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      const size_t n = utf8SequenceLength(s.substr(i));
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
      } else if (n == 2 && u == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
        const auto c1 = static_cast<unsigned char>(s[i + 1]);  // U+0080..U+009F
        out += "\\u00";
        out.push_back(kHex[c1 >> 4]);
        out.push_back(kHex[c1 & 0xf]);
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n - 1;
      }
    }
  }
}

// Columns a code point takes on a terminal: 2 for the East Asian wide and fullwidth ranges and
// the common emoji blocks, else 1 (combining marks counted as 1: too wide is safe, it only cuts
// earlier).
int columnsOf(uint32_t cp) {
  static constexpr std::pair<uint32_t, uint32_t> kWide[] = {
      {0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},  {0x3400, 0x4DBF},
      {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},  {0xF900, 0xFAFF},
      {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},  {0x1F300, 0x1F64F},
      {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};
  for (const auto& [lo, hi] : kWide) {
    if (cp >= lo && cp <= hi) return 2;
  }
  return 1;
}

uint32_t codePoint(std::string_view seq) {
  const auto b = [&seq](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(seq[i]));
  };
  switch (seq.size()) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// The terminal's width in columns, read again on every draw (so a resize applies from the next
// one): TIOCGWINSZ on stdout (where the status line goes), else on stderr; else $COLUMNS; else
// 80. With an injected status writer (a test's fake terminal) only $COLUMNS, else 80.
size_t terminalColumns(bool injected) {
  if (!injected) {
    for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
      winsize ws{};
      if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    }
  }
  if (const char* env = std::getenv("COLUMNS")) {
    size_t n = 0;
    auto r = std::from_chars(env, env + std::strlen(env), n);
    if (r.ec == std::errc() && *r.ptr == '\0' && n > 0 && n <= 10000) return n;
  }
  return 80;
}

// The status line as drawn: escaped like a text log line (no control bytes: a tab or an escape
// sequence would make its width unknowable), then cut to columns - 1 (the last column stays free:
// some terminals wrap as soon as it is written), ending in "..." when cut. It never wraps, so
// "\r\033[K" erases all of it.
std::string fitStatusLine(std::string_view text, size_t columns) {
  std::string escaped;
  escaped.reserve(text.size());
  appendTextEscaped(escaped, text);
  for (char& c : escaped) {
    if (c == '\t') c = ' ';
  }
  const size_t limit = columns > 1 ? columns - 1 : 1;
  // Byte offsets where the text reaches limit - 3 columns (room for "...") and limit columns.
  size_t used = 0, cut_with_dots = std::string::npos;
  for (size_t i = 0; i < escaped.size();) {
    size_t n = utf8SequenceLength(std::string_view(escaped).substr(i));
    if (n == 0) n = 1;  // cannot happen: escaped is valid UTF-8
    const size_t w =
        static_cast<size_t>(columnsOf(codePoint(std::string_view(escaped).substr(i, n))));
    if (cut_with_dots == std::string::npos && used + w + 3 > limit) cut_with_dots = i;
    if (used + w > limit) {
      if (limit < 4) {
        escaped.resize(i);
      } else {
        escaped.resize(cut_with_dots);
        escaped += "...";
      }
      return escaped;
    }
    used += w;
    i += n;
  }
  return escaped;
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

// "\r\033[K" and the status line, fitted to the terminal's width now.
void drawStatus(Sink& s) {
  writeStatus(s, std::string(kEraseLine) +
                     fitStatusLine(s.status, terminalColumns(static_cast<bool>(s.status_writer))));
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
  if (around) drawStatus(s);
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
  appendTextEscaped(line, module);
  line += ": ";
  // The fields repeat the message's facts: text stays as it always was, but never carries a
  // control sequence to the terminal.
  appendTextEscaped(line, message);
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
  drawStatus(s);
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
