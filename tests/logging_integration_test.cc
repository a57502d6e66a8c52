// --log-format json end to end (docs/design/logging.md): the real binary's stderr, every line one
// JSON object with the schema's fields; the common flag's usage errors (exit 2, the flag named);
// SURGE_LOG_FORMAT; `surge up` passing the format to the replicas it starts; and `surge up` on a
// pseudo-terminal (script(1), util-linux) keeping its status line below the log lines.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Every line of `log` parsed as one JSON object with time/level/component/message (strings, time
// RFC 3339 UTC with milliseconds, level one of four); adds a failure naming the line otherwise.
std::vector<json> parseJsonLog(const std::string& log) {
  static const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<json> out;
  for (const std::string& l : lines(log)) {
    json j = json::parse(l, nullptr, /*allow_exceptions=*/false);  // also rejects bad UTF-8
    if (j.is_discarded() || !j.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << l;
      continue;
    }
    EXPECT_TRUE(j["time"].is_string() && std::regex_match(j["time"].get<std::string>(), kTime))
        << l;
    EXPECT_TRUE(j["level"] == "debug" || j["level"] == "info" || j["level"] == "warn" ||
                j["level"] == "error")
        << l;
    EXPECT_TRUE(j["component"].is_string()) << l;
    EXPECT_TRUE(j["message"].is_string()) << l;
    out.push_back(std::move(j));
  }
  return out;
}

// A repository with one synthetic model and a folder whose name is hostile (invalid UTF-8 and a
// control byte): serve logs a warning that names it.
void writeRepository(const ScratchDir& dir) {
  writeModel(dir / "repo", "m", syntheticConfig(4));
  writeModel(dir / "repo", std::string("bad\xff\x01name"), syntheticConfig(4));
}

class LoggingIntegration : public ::testing::Test {
 protected:
  ScratchDir dir_{"logging"};
};

TEST_F(LoggingIntegration, ServeWritesOneJsonObjectPerStderrLine) {
  writeRepository(dir_);
  ServerProcess serve;
  ASSERT_TRUE(startServe(serve, dir_ / "repo", dir_.file("serve.log"),
                         {"--grpc-listen", "127.0.0.1:0", "--log-format", "json"}));
  serve.signal(SIGTERM);
  ASSERT_EQ(serve.wait(10s), 0) << serve.log();
  const std::vector<json> records = parseJsonLog(serve.log());
  ASSERT_GE(records.size(), 4u) << serve.log();  // skipped folder, listening, ready, ..., stopped
  bool listening = false, skipped = false;
  for (const json& j : records) {
    EXPECT_EQ(j["component"], "serve");
    if (j.value("event", "") == "listening") {
      listening = true;
      EXPECT_EQ(j["port"], serve.port()) << j.dump();  // a typed field, a JSON number
      EXPECT_TRUE(j["workers"].is_number_integer()) << j.dump();
    }
    if (j["level"] == "warn" && j["message"].get<std::string>().find("name") != std::string::npos) {
      skipped = true;
    }
  }
  EXPECT_TRUE(listening) << serve.log();
  EXPECT_TRUE(skipped) << serve.log();
  EXPECT_TRUE(std::any_of(records.begin(), records.end(), [](const json& j) {
    return j["message"] == "stopped";
  })) << serve.log();
}

TEST_F(LoggingIntegration, GatewayWritesJsonAndTextStaysTheDefault) {
  ServerProcess backend;
  ASSERT_TRUE(startUpstream(backend, dir_, "b1", {"--log-format", "json"}));
  const std::string config =
      dir_.write("gateway.yaml", std::string(kLocalGateway) + backendsYaml({backend.port()}));
  ServerProcess gw;
  ASSERT_TRUE(gw.start({surgeBinary(), "gateway", "--config", config, "--log-format=json"},
                       dir_.file("gateway.log")));
  ASSERT_TRUE(waitUntil([&] { return !gw.log().empty(); }, 10s, 20ms, "a gateway log line"));
  gw.signal(SIGTERM);
  ASSERT_EQ(gw.wait(15s), 0) << gw.log();
  const std::vector<json> records = parseJsonLog(gw.log());
  ASSERT_GE(records.size(), 2u) << gw.log();
  EXPECT_TRUE(std::any_of(records.begin(), records.end(), [](const json& j) {
    return j["message"] == "stopped";
  })) << gw.log();
  EXPECT_EQ(parseJsonLog(backend.log()).size(), lines(backend.log()).size());

  // Without the flag: the text format, unchanged.
  ServerProcess text_gw;
  ASSERT_TRUE(
      text_gw.start({surgeBinary(), "gateway", "--config", config}, dir_.file("gateway-text.log")));
  ASSERT_TRUE(waitUntil([&] { return !text_gw.log().empty(); }, 10s, 20ms, "a log line"));
  text_gw.stop();
  for (const std::string& l : lines(text_gw.log())) {
    static const std::regex kText(R"(^\d{4}-\d\d-\d\dT\S+Z (INFO |WARN |DEBUG|ERROR) \S+: )");
    EXPECT_TRUE(std::regex_search(l, kText)) << l;
  }
}

TEST_F(LoggingIntegration, AnInvalidFormatIsAUsageErrorNamingTheFlag) {
  for (const std::string cmd : {"gateway", "serve", "upstream", "autoscale", "up"}) {
    std::string out;
    const std::string log = dir_.file(cmd + ".err");
    EXPECT_EQ(runToExit({surgeBinary(), cmd, "--log-format", "xml"}, log, 20s, &out), 2) << cmd;
    const std::string err = readFile(log);
    EXPECT_NE(err.find("surge " + cmd + ": --log-format: expected one of text, json, found 'xml'"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("Run 'surge " + cmd + " --help'"), std::string::npos) << err;
  }
  EXPECT_EQ(runToExit({surgeBinary(), "upstream", "--log-format"}, dir_.file("none.err"), 20s), 2);
  EXPECT_NE(readFile(dir_.file("none.err")).find("--log-format needs a value"), std::string::npos);
}

// SURGE_LOG_FORMAT sets the format when the flag is absent (what surge passes to its children);
// a bad value is a usage error naming the variable. The variable is set in this test process only
// for the duration of the runs (children inherit it).
TEST_F(LoggingIntegration, TheEnvironmentVariableSetsTheFormatAndABadOneIsAnError) {
  writeRepository(dir_);
  ::setenv("SURGE_LOG_FORMAT", "yaml", 1);
  const int bad = runToExit({surgeBinary(), "upstream", "--listen", "127.0.0.1:0"},
                            dir_.file("bad-env.err"), 20s);
  ::setenv("SURGE_LOG_FORMAT", "json", 1);
  ServerProcess serve;
  const bool started = startServe(serve, dir_ / "repo", dir_.file("serve.log"),
                                  {"--grpc-listen", "127.0.0.1:0"}, 0ms);
  ::unsetenv("SURGE_LOG_FORMAT");
  EXPECT_EQ(bad, 2);
  EXPECT_NE(readFile(dir_.file("bad-env.err"))
                .find("SURGE_LOG_FORMAT: expected one of text, json, found 'yaml'"),
            std::string::npos)
      << readFile(dir_.file("bad-env.err"));
  ASSERT_TRUE(started);
  ASSERT_TRUE(waitUntil([&] { return lines(serve.log()).size() >= 2; }, 10s, 20ms, "log lines"));
  serve.stop();
  EXPECT_GE(parseJsonLog(serve.log()).size(), 2u) << serve.log();
}

// A bad SURGE_LOG_FORMAT matters only to the commands that log (above): it breaks neither a
// command that prints a report (plan) nor any --help.
TEST_F(LoggingIntegration, ABadEnvironmentVariableBreaksNeitherHelpNorCommandsThatDoNotLog) {
  struct Unset {
    ~Unset() { ::unsetenv("SURGE_LOG_FORMAT"); }
  } unset;
  ::setenv("SURGE_LOG_FORMAT", "XML", 1);
  std::string out;
  EXPECT_EQ(runToExit({surgeBinary(), "plan", "--peak-rps", "100", "--instance-rps", "40",
                       "--service-time", "25ms", "--latency-target", "50ms"},
                      dir_.file("plan.err"), 20s, &out),
            0)
      << readFile(dir_.file("plan.err"));
  EXPECT_FALSE(out.empty());
  const std::vector<std::vector<std::string>> helps = {{"gateway", "--help"},
                                                       {"up", "--help"},
                                                       {"load", "--help"},
                                                       {"autoscale", "explain", "--help"},
                                                       {"help", "serve"}};
  for (const auto& h : helps) {
    std::vector<std::string> argv{surgeBinary()};
    argv.insert(argv.end(), h.begin(), h.end());
    out.clear();
    EXPECT_EQ(runToExit(argv, dir_.file("help.err"), 20s, &out), 0)
        << h[0] << ": " << readFile(dir_.file("help.err"));
    EXPECT_NE(out.find("Usage: surge"), std::string::npos) << h[0] << ": " << out;
  }
}

// Every long-running command takes --log-level (docs/logging.md): a bad level is the flag's usage
// error, and `surge upstream` runs with one.
TEST_F(LoggingIntegration, EveryLongRunningCommandTakesLogLevel) {
  for (const std::string cmd : {"gateway", "serve", "upstream", "autoscale", "up"}) {
    const std::string log = dir_.file(cmd + "-level.err");
    EXPECT_EQ(runToExit({surgeBinary(), cmd, "--log-level", "verbose"}, log, 20s), 2) << cmd;
    EXPECT_NE(readFile(log).find("surge " + cmd +
                                 ": --log-level: expected one of debug, info, warn, error, "
                                 "found 'verbose'"),
              std::string::npos)
        << readFile(log);
  }
  ServerProcess upstream;
  ASSERT_TRUE(startUpstream(upstream, dir_, "leveled", {"--log-level", "debug"}));
  EXPECT_TRUE(upstream.running());
  upstream.stop();
}

// `surge up --log-format json`: its own stderr and its replicas' logs are JSON (the replicas get
// the format through SURGE_LOG_FORMAT). A replica's log file also holds its stdout banner
// ("surge serve listening on ..."), which is not a log line.
TEST_F(LoggingIntegration, UpPassesTheFormatToItsReplicas) {
  ServerProcess up;
  ASSERT_TRUE(startUp(up, dir_, {"--log-format", "json"})) << readFile(dir_ / "up.log");
  const std::filesystem::path run_dir =
      std::filesystem::temp_directory_path() / ("surge-local-" + std::to_string(up.pid()));
  std::vector<std::string> replica_lines;
  ASSERT_TRUE(waitUntil(
      [&] {
        replica_lines.clear();
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(run_dir, ec)) {
          if (e.path().extension() != ".log") continue;
          for (const std::string& l : lines(readFile(e.path()))) {
            if (l.rfind("surge serve ", 0) != 0) replica_lines.push_back(l);
          }
        }
        // Each replica logs at least "listening" and "ready".
        return replica_lines.size() >= 4;
      },
      30s, 50ms, "replica log lines in " + run_dir.string()))
      << readFile(dir_ / "up.log");
  std::string joined;
  for (const std::string& l : replica_lines) joined += l + "\n";
  EXPECT_EQ(parseJsonLog(joined).size(), replica_lines.size()) << joined;
  up.stop(20s);  // its shutdown is autoscale_integration_test's subject
  const std::string up_log = readFile(dir_ / "up.log");
  EXPECT_GE(parseJsonLog(up_log).size(), 1u) << up_log;
}

// What a terminal shows for `bytes`: '\r' returns to column 0, ESC[K erases to the end of the line,
// '\n' starts a new line (script(1) writes "\r\n"), other bytes overwrite.
std::vector<std::string> screen(const std::string& bytes) {
  std::vector<std::string> rows{""};
  size_t col = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\r') {
      col = 0;
    } else if (c == '\n') {
      rows.emplace_back();
      col = 0;
    } else if (c == '\033' && bytes.compare(i, 3, "\033[K") == 0) {
      rows.back().resize(std::min(col, rows.back().size()));
      i += 2;
    } else {
      std::string& r = rows.back();
      if (col < r.size()) {
        r[col] = c;
      } else {
        r.resize(col, ' ');
        r.push_back(c);
      }
      ++col;
    }
  }
  return rows;
}

// The reported bug end to end: `surge up` on a terminal (script(1) gives it a pseudo-terminal)
// with log lines arriving while its status line is shown (debug logging, a sync every 200 ms).
// Every log line must be a row of its own, never the tail of a status row.
TEST_F(LoggingIntegration, UpLogLinesNeverLandInTheStatusLineOnATerminal) {
  const std::string typescript = dir_.file("typescript");
  const std::string command =
      surgeBinary() +
      " up --synthetic --listen 127.0.0.1:0 --admin 127.0.0.1:0 --autoscaler-admin 127.0.0.1:0"
      " --state-dir " +
      dir_.file("state") + " --run-dir " + dir_.file("run") +
      " --sync-period 200ms --log-level debug";
  Process script;
  std::string error;
  ASSERT_TRUE(
      script.start({"script", "-qfec", command, typescript}, &error, dir_.file("script.err")))
      << error;
  static const std::regex kLogRow(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) )");
  // Log lines written while the status line was shown: each erased it first.
  auto logLinesOverTheStatus = [&] {
    const std::string bytes = readFile(typescript);
    int n = 0;
    for (size_t at = bytes.find("\033[K20"); at != std::string::npos;
         at = bytes.find("\033[K20", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(waitUntil([&] { return logLinesOverTheStatus() >= 5; }, 40s, 100ms,
                        "log lines written while the status line is shown"))
      << readFile(typescript) << readFile(dir_.file("script.err"));
  script.stop(20s);

  const std::string bytes = readFile(typescript);
  size_t status_rows = 0;
  for (const std::string& row : screen(bytes)) {
    std::smatch m;
    if (std::regex_search(row, m, kLogRow)) {
      EXPECT_EQ(m.position(0), 0) << "a log line inside another row: " << row;
    }
    if (row.rfind("rps ", 0) != 0) {
      EXPECT_EQ(row.find("rps "), std::string::npos) << row;
    } else {
      ++status_rows;
    }
  }
  // One status row left on screen (ended by the shutdown), the log lines above it.
  EXPECT_EQ(status_rows, 1u) << bytes;
}

}  // namespace
}  // namespace surge::testing
