// common/logging: the text and JSON formats (escaping, invalid UTF-8, fields) and the status-line
// protocol (a log line erases the live status line, is written, and redraws it).
#include "common/logging.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace surge {
namespace {

using json = nlohmann::json;

// 2026-11-28T06:41:08.123Z
std::chrono::system_clock::time_point fixedTime() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1795848068123LL));
}

json parseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
  return json::parse(line);  // throws (fails the test) on invalid JSON or invalid UTF-8
}

TEST(LogFormat, TextWithoutFieldsIsUnchanged) {
  EXPECT_EQ(formatLogLine(LogFormat::kText, fixedTime(), LogLevel::kWarn, "gateway", "hello"),
            "2026-11-28T06:41:08.123Z WARN  gateway: hello\n");
  EXPECT_EQ(formatLogLine(LogFormat::kText, fixedTime(), LogLevel::kInfo, "up", "x"),
            "2026-11-28T06:41:08.123Z INFO  up: x\n");
}

TEST(LogFormat, TextLeavesTheFieldsToJson) {
  // A call site that gains fields writes the same text line as before.
  EXPECT_EQ(formatLogLine(LogFormat::kText, fixedTime(), LogLevel::kInfo, "serve",
                          "listening on port 8000 with 2 workers",
                          {{"event", "listening"}, {"port", 8000}, {"ok", true}, {"r", 0.5}}),
            "2026-11-28T06:41:08.123Z INFO  serve: listening on port 8000 with 2 workers\n");
}

TEST(LogFormat, JsonHasTheSchemaFieldsAndTypedFields) {
  const std::string line =
      formatLogLine(LogFormat::kJson, fixedTime(), LogLevel::kWarn, "autoscale", "scaled",
                    {{"from", 2},
                     {"to", int64_t{5}},
                     {"big", std::numeric_limits<uint64_t>::max()},
                     {"neg", -7},
                     {"ratio", 1.25},
                     {"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"panic", false},
                     {"reason", std::string("cpu above target")}});
  json j = parseLine(line);
  EXPECT_EQ(j["time"], "2026-11-28T06:41:08.123Z");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["component"], "autoscale");
  EXPECT_EQ(j["message"], "scaled");
  EXPECT_EQ(j["from"], 2);
  EXPECT_EQ(j["to"], 5);
  EXPECT_EQ(j["big"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(j["neg"], -7);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 1.25);
  EXPECT_EQ(j["nan"], "NaN");  // not a JSON number
  EXPECT_EQ(j["panic"], false);
  EXPECT_EQ(j["reason"], "cpu above target");
  // The schema's four keys first, then the fields in order.
  EXPECT_EQ(line.rfind("{\"time\":\"2026-11-28T06:41:08.123Z\",\"level\":\"warn\","
                       "\"component\":\"autoscale\",\"message\":\"scaled\",\"from\":2,",
                       0),
            0u)
      << line;
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kError}) {
    json k = parseLine(formatLogLine(LogFormat::kJson, fixedTime(), l, "m", "x"));
    EXPECT_TRUE(k["level"] == "debug" || k["level"] == "info" || k["level"] == "error");
  }
}

TEST(LogFormat, JsonEscapesHostileStringsAndReplacesInvalidUtf8) {
  const std::string hostile = std::string("quote\" backslash\\ newline\n cr\r tab\t nul") +
                              std::string(1, '\0') + " esc\x1b del\x7f bad\xff overlong\xc0\xaf" +
                              " surrogate\xed\xa0\x80 cut\xe2\x82 ok\xc3\xa9\xe2\x82\xac";
  const std::string line =
      formatLogLine(LogFormat::kJson, fixedTime(), LogLevel::kError, "mod\"ule\n\xfe", hostile,
                    {{"key\"\x01", hostile}, {"path", "/tmp/\xff.yaml"}});
  json j = parseLine(line);
  const std::string m = j["message"];
  EXPECT_NE(m.find("quote\" backslash\\ newline\n cr\r tab\t nul"), std::string::npos) << m;
  EXPECT_NE(m.find(std::string(1, '\0') + " esc\x1b"), std::string::npos);
  EXPECT_NE(m.find("bad\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_EQ(m.find("\xff"), std::string::npos);
  EXPECT_NE(m.find(" ok\xc3\xa9\xe2\x82\xac"), std::string::npos);  // valid UTF-8 kept
  EXPECT_EQ(j["component"], "mod\"ule\n\xEF\xBF\xBD");
  EXPECT_EQ(j["key\"\x01"], m);
  EXPECT_EQ(j["path"], "/tmp/\xEF\xBF\xBD.yaml");
  // No raw control byte in the line itself (only the final newline).
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    EXPECT_GE(static_cast<unsigned char>(line[i]), 0x20) << "byte " << i;
  }
}

TEST(LogFormat, JsonFieldsNamedLikeTheSchemaKeysAreRenamed) {
  json j = parseLine(formatLogLine(LogFormat::kJson, fixedTime(), LogLevel::kInfo, "m", "real",
                                   {{"message", "fake"}, {"time", 1}, {"", "x"}}));
  EXPECT_EQ(j["message"], "real");
  EXPECT_EQ(j["time"], "2026-11-28T06:41:08.123Z");
  EXPECT_EQ(j["field_message"], "fake");
  EXPECT_EQ(j["field_time"], 1);
  EXPECT_EQ(j["field_"], "x");
}

TEST(LogFormat, ByName) {
  EXPECT_TRUE(setLogFormatByName("json"));
  EXPECT_EQ(logFormat(), LogFormat::kJson);
  EXPECT_FALSE(setLogFormatByName("JSON"));
  EXPECT_FALSE(setLogFormatByName("xml"));
  EXPECT_FALSE(setLogFormatByName(""));
  EXPECT_EQ(logFormat(), LogFormat::kJson);  // unchanged
  EXPECT_TRUE(setLogFormatByName("text"));
  EXPECT_EQ(logFormat(), LogFormat::kText);
  EXPECT_STREQ(logFormatName(LogFormat::kJson), "json");
  EXPECT_STREQ(logFormatName(LogFormat::kText), "text");
}

// A fake terminal behind both writers: '\r' moves to column 0, ESC[K erases to the end of the
// line, '\n' starts a new line, other bytes overwrite. screen() is what a user would see.
class FakeTerminal {
 public:
  // width > 0: a terminal that wraps (a byte written past the last column starts a new row, and
  // '\r' returns to the start of the current row only), as a real one does.
  explicit FakeTerminal(size_t width = 0) : width_(width) {
    setLogWriter([this](std::string_view b) { feed(b, &log_bytes_); });
    setStatusLineWriter([this](std::string_view b) { feed(b, &status_bytes_); });
  }
  ~FakeTerminal() {
    endStatusLine();
    setLogWriter(nullptr);
    setStatusLineWriter(nullptr);
    setLogFormat(LogFormat::kText);
    setLogLevel(LogLevel::kInfo);
  }
  std::vector<std::string> screen() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::string raw() {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_;
  }

 private:
  void feed(std::string_view b, std::string* per_stream) {
    std::lock_guard<std::mutex> lock(mu_);
    raw_.append(b);
    per_stream->append(b);
    for (size_t i = 0; i < b.size(); ++i) {
      if (b[i] == '\r') {
        col_ = 0;
      } else if (b[i] == '\n') {
        lines_.emplace_back();
        col_ = 0;
      } else if (b[i] == '\033' && b.substr(i, 3) == "\033[K") {
        lines_.back().resize(std::min(col_, lines_.back().size()));
        i += 2;
      } else {
        if (width_ > 0 && col_ >= width_) {  // autowrap
          lines_.emplace_back();
          col_ = 0;
        }
        std::string& l = lines_.back();
        if (col_ < l.size()) {
          l[col_] = b[i];
        } else {
          l.resize(col_, ' ');
          l.push_back(b[i]);
        }
        ++col_;
      }
    }
  }

  const size_t width_;
  std::mutex mu_;
  std::vector<std::string> lines_{""};
  size_t col_ = 0;
  std::string raw_, log_bytes_, status_bytes_;
};

// The message part of a text line ("... WARN  up: message") or "" for anything else.
std::string afterModule(const std::string& line) {
  const size_t at = line.find(": ");
  return at == std::string::npos ? "" : line.substr(at + 2);
}

TEST(StatusLine, ALogLineErasesTheStatusLineAndRedrawsIt) {
  FakeTerminal term;
  showStatusLine("rps 1.0  replicas 2");
  logLine(LogLevel::kWarn, "up", "replica-3 failed");
  EXPECT_EQ(term.screen(),
            (std::vector<std::string>{term.screen()[0],  // the log line, checked below
                                      "rps 1.0  replicas 2"}));
  EXPECT_EQ(afterModule(term.screen()[0]), "replica-3 failed");
  // The protocol itself: erase, the line, redraw.
  const std::string raw = term.raw();
  EXPECT_EQ(raw.substr(0, std::string("\r\033[Krps 1.0  replicas 2\r\033[K").size()),
            "\r\033[Krps 1.0  replicas 2\r\033[K");
  EXPECT_EQ(raw.substr(raw.size() - std::string("\n\r\033[Krps 1.0  replicas 2").size()),
            "\n\r\033[Krps 1.0  replicas 2");

  showStatusLine("rps 2.0");  // rewritten in place
  EXPECT_EQ(term.screen().back(), "rps 2.0");
  EXPECT_EQ(term.screen().size(), 2u);
  endStatusLine();  // the last status stays on screen, the cursor on a new line
  logLine(LogLevel::kWarn, "up", "after");
  const auto s = term.screen();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1], "rps 2.0");
  EXPECT_EQ(afterModule(s[2]), "after");
  EXPECT_EQ(s[3], "");
}

TEST(StatusLine, WithoutAStatusLineLogLinesAreWrittenAlone) {
  FakeTerminal term;
  logLine(LogLevel::kInfo, "m", "one");
  setLogFormat(LogFormat::kJson);
  logLine(LogLevel::kInfo, "m", "two", {{"n", 2}});
  const std::string raw = term.raw();
  EXPECT_EQ(raw.find('\r'), std::string::npos);
  const auto s = term.screen();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(afterModule(s[0]), "one");
  json j = json::parse(s[1]);
  EXPECT_EQ(j["message"], "two");
  EXPECT_EQ(j["n"], 2);
}

TEST(StatusLine, ConcurrentLogLinesNeverLandInTheStatusLine) {
  FakeTerminal term;
  setLogFormat(LogFormat::kJson);
  showStatusLine("status 0");
  constexpr int kThreads = 4, kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        SURGE_LOG_FIELDS(kWarn, "worker", "line", {{"thread", t}, {"i", i}});
      }
    });
  }
  for (int i = 1; i <= 100; ++i) showStatusLine("status " + std::to_string(i));
  for (auto& th : threads) th.join();
  const auto s = term.screen();
  ASSERT_EQ(s.size(), static_cast<size_t>(kThreads * kLines + 1));
  std::vector<int> per_thread(kThreads);
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    json j = json::parse(s[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "line " << i << ": " << s[i];
    EXPECT_EQ(j["message"], "line");
    EXPECT_EQ(j["i"], per_thread.at(j["thread"].get<size_t>())++) << "in order per thread";
  }
  EXPECT_EQ(s.back(), "status 100");
}

// $COLUMNS for the fake terminal's width (what the status line is fitted to with an injected
// writer), restored after the test.
class ScopedColumns {
 public:
  explicit ScopedColumns(const char* value) {
    if (const char* old = std::getenv("COLUMNS")) old_ = old;
    if (value) {
      ::setenv("COLUMNS", value, 1);
    } else {
      ::unsetenv("COLUMNS");
    }
  }
  ~ScopedColumns() {
    if (old_) {
      ::setenv("COLUMNS", old_->c_str(), 1);
    } else {
      ::unsetenv("COLUMNS");
    }
  }

 private:
  std::optional<std::string> old_;
};

// A status line wider than the terminal is cut to its width (less one column, "..." at the end):
// it never wraps, so erasing it and redrawing it leaves one status row, however many log lines.
TEST(StatusLine, AWideStatusLineIsCutToTheTerminalWidthAndNeverWraps) {
  ScopedColumns columns("40");
  FakeTerminal term(40);
  const std::string wide =
      "rps   123.4  p99   12.3ms  replicas 3 ready/4 (desired 5)  last: SuccessfulRescale to 5";
  showStatusLine(wide);
  for (int i = 0; i < 5; ++i) logLine(LogLevel::kWarn, "up", "w" + std::to_string(i));
  showStatusLine(wide);
  const auto s = term.screen();
  ASSERT_EQ(s.size(), 6u) << term.raw();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(afterModule(s[i]).substr(0, 2), "w" + std::to_string(i));
  EXPECT_EQ(s.back(), wide.substr(0, 36) + "...");
  EXPECT_EQ(s.back().size(), 39u);

  // Exactly as wide as allowed: not cut; one more column: cut.
  showStatusLine(std::string(39, 'x'));
  EXPECT_EQ(term.screen().back(), std::string(39, 'x'));
  showStatusLine(std::string(40, 'x'));
  EXPECT_EQ(term.screen().back(), std::string(36, 'x') + "...");

  // A resize applies from the next draw.
  {
    ScopedColumns narrower("20");
    showStatusLine(wide);
    EXPECT_EQ(term.screen().back(), wide.substr(0, 16) + "...");
  }
  EXPECT_EQ(term.screen().size(), 6u);
}

// An unknown width (no terminal, $COLUMNS unset or not a number) is 80.
TEST(StatusLine, AnUnknownWidthIs80) {
  FakeTerminal term;
  ScopedColumns unknown(nullptr);
  showStatusLine(std::string(200, 'y'));
  EXPECT_EQ(term.screen().back(), std::string(76, 'y') + "...");
  ScopedColumns junk("wide");
  showStatusLine(std::string(200, 'z'));
  EXPECT_EQ(term.screen().back(), std::string(76, 'z') + "...");
}

// Columns, not bytes: a multi-byte character is one column (an East Asian wide one two) and is
// never cut in half; control bytes in the status text are escaped like a text log line's.
TEST(StatusLine, TheWidthCountsColumnsAndTheTextIsEscaped) {
  ScopedColumns columns("11");
  FakeTerminal term;
  showStatusLine(
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");  // 10 x
                                                                                            // é
  EXPECT_EQ(term.screen().back(),
            "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  showStatusLine(
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");  // 11
  EXPECT_EQ(term.screen().back(), "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9...");
  showStatusLine(
      "\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5");  // 6 x 日: 12
                                                                                    // columns
  EXPECT_EQ(term.screen().back(), "\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5...");
  showStatusLine("a\033]0;x\007b\tc");  // 16 columns once escaped
  EXPECT_EQ(term.screen().back(), "a\\x1b]0...");
  ScopedColumns wider("40");
  showStatusLine("a\033]0;x\007b\tc");
  EXPECT_EQ(term.screen().back(), "a\\x1b]0;x\\x07b c");
  const std::string raw = term.raw();
  EXPECT_EQ(raw.find('\007'), std::string::npos);
  EXPECT_EQ(raw.find("\033]"), std::string::npos);
}

// The text format never writes a control byte (other than tab) or invalid UTF-8: an HPA or a
// metric named "bogus\e[31mRED\e]0;pwned\a" must not reach the terminal as escape sequences.
TEST(LogFormat, TextEscapesControlBytesAndReplacesInvalidUtf8) {
  const auto text = [](std::string_view module, std::string_view message) {
    const std::string line =
        formatLogLine(LogFormat::kText, fixedTime(), LogLevel::kWarn, module, message);
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    const std::string prefix = "2026-11-28T06:41:08.123Z WARN  ";
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;
    return line.substr(prefix.size(), line.size() - prefix.size() - 1);
  };
  EXPECT_EQ(text("autoscale", "metric bogus\033[31mRED\033]0;pwned\a failed"),
            "autoscale: metric bogus\\x1b[31mRED\\x1b]0;pwned\\x07 failed");
  EXPECT_EQ(text("m", "two\nlines\r\tand a tab, NUL:" + std::string(1, '\0') + " DEL:\x7f"),
            "m: two\\nlines\\r\tand a tab, NUL:\\x00 DEL:\\x7f");
  // C1 controls (U+009B is CSI on some terminals) escaped; invalid UTF-8 replaced by U+FFFD; valid
  // UTF-8 kept.
  EXPECT_EQ(text("m",
                 "csi \xC2\x9b"
                 "31m nel \xC2\x85 nbsp \xC2\xA0 \xC3\xA9 \xE6\x97\xA5"),
            "m: csi \\u009b31m nel \\u0085 nbsp \xC2\xA0 \xC3\xA9 \xE6\x97\xA5");
  EXPECT_EQ(text("m", "bad \xff \xC0\xAF \xED\xA0\x80 cut \xE6\x97"),
            "m: bad \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD cut "
            "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(text("bad\033mod", "x"), "bad\\x1bmod: x");
  // What is already printable is unchanged (backslashes included).
  EXPECT_EQ(text("serve", "path C:\\models\\m \"quoted\" {json: 1}"),
            "serve: path C:\\models\\m \"quoted\" {json: 1}");
}

TEST(LogMacros, FieldsAreBuiltOnlyWhenTheLevelIsOn) {
  FakeTerminal term;
  setLogLevel(LogLevel::kWarn);
  int built = 0;
  auto value = [&built] {
    ++built;
    return 1;
  };
  SURGE_LOG_FIELDS(kInfo, "m", "hidden", {{"n", value()}});
  EXPECT_EQ(built, 0);
  EXPECT_EQ(term.raw(), "");
  SURGE_LOG_FIELDS(kError, "m", "shown", {{"n", value()}});
  EXPECT_EQ(built, 1);
  EXPECT_NE(term.raw().find("shown"), std::string::npos);
}

}  // namespace
}  // namespace surge
