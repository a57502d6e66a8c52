// Every subcommand and sub-subcommand of the built `surge` binary (SURGE_BIN): --help, -h and
// `surge help <cmd>` print that command's usage on stdout and exit 0; an unknown flag exits 2 with
// exactly one error line and the hint on stderr, with a did-you-mean for a near miss; a bad value
// names the flag and the value in the same two lines. The list of commands is checked against
// `surge --help` and each command's own "Commands:" list, so a new command cannot be missed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;

// Every command path; the first word is the subcommand of `surge`.
const std::vector<std::string> kCommands = {
    "gateway",
    "upstream",
    "serve",
    "plan",
    "model",
    "model demo",
    "model bench",
    "load",
    "autoscale",
    "autoscale explain",
    "predict",
    "predict synth",
    "predict evaluate",
    "up",
    "sim",
};

struct Outcome {
  int code = -1;
  std::string out;
  std::vector<std::string> err;  // stderr lines
};

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Outcome run(const std::vector<std::string>& args) {
  static const std::string err_path =
      ::testing::TempDir() + "/surge_cli_commands_test." + std::to_string(::getpid()) + ".err";
  std::vector<std::string> argv = {surgeBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Outcome r;
  Process p;
  std::string error;
  EXPECT_TRUE(p.start(argv, &error, err_path)) << error;
  p.waitForLine("\x01 no such line", 30s);  // reads stdout until the process closes it
  auto code = p.wait(30s);
  EXPECT_TRUE(code.has_value()) << "surge did not exit";
  r.code = code.value_or(-1);
  for (const auto& l : p.lines()) r.out += l + "\n";
  std::ifstream err(err_path);
  for (std::string line; std::getline(err, line);) r.err.push_back(line);
  std::remove(err_path.c_str());
  return r;
}

std::vector<std::string> withArgs(const std::string& command, std::vector<std::string> extra) {
  std::vector<std::string> argv = words(command);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The names listed under "Commands:" in a help text (top level or a command's).
std::set<std::string> listedCommands(const std::string& help) {
  std::set<std::string> names;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Commands:") {
      inside = true;
    } else if (inside && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ') {
      names.insert(words(line).front());
    } else if (inside && (line.empty() || line[0] != ' ')) {
      inside = false;
    }
  }
  return names;
}

// The first flag the help text lists (not --help), or "--help".
std::string firstFlag(const std::string& help) {
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  --", 0) == 0) return words(line).front();
  }
  return "--help";
}

TEST(CliCommands, EveryCommandIsListed) {
  Outcome top = run({"--help"});
  ASSERT_EQ(top.code, 0);
  std::set<std::string> expected;
  for (const auto& c : kCommands) expected.insert(words(c).front());
  EXPECT_EQ(listedCommands(top.out), expected) << top.out;
  for (const auto& c : kCommands) {
    if (words(c).size() != 1) continue;
    Outcome help = run(withArgs(c, {"--help"}));
    for (const auto& sub : listedCommands(help.out)) {
      const std::string path = c + " " + sub;
      EXPECT_NE(std::find(kCommands.begin(), kCommands.end(), path), kCommands.end())
          << "'surge " << path << "' is missing from kCommands";
    }
  }
}

// One test per command path (each run of surge costs about half a second: libtorch's start-up).
class CliCommand : public ::testing::TestWithParam<std::string> {};

TEST_P(CliCommand, HelpAndUnknownFlags) {
  const std::string& c = GetParam();
  Outcome help = run(withArgs(c, {"--help"}));
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("Usage: surge " + c + " ", 0), 0u) << help.out;
  EXPECT_NE(help.out.find("  -h, --help"), std::string::npos) << help.out;
  EXPECT_TRUE(help.err.empty()) << help.err.front();
  // -h and `surge help <cmd>` take the same path (cli_flags_test, main.cc): one command per depth.
  if (c == "gateway" || c == "predict synth" || c == "autoscale explain") {
    Outcome h = run(withArgs(c, {"-h"}));
    EXPECT_EQ(h.code, 0);
    EXPECT_EQ(h.out, help.out);
    Outcome via_help = run(withArgs("help " + c, {}));
    EXPECT_EQ(via_help.code, 0);
    EXPECT_EQ(via_help.out, help.out);
  }

  const std::string hint = "Run 'surge " + c + " --help' for usage.";
  Outcome r = run(withArgs(c, {"--no-such-flag"}));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            (std::vector<std::string>{"surge " + c + ": unknown option '--no-such-flag'", hint}));

  // A near miss of the command's first flag: one letter dropped from its middle.
  const std::string flag = firstFlag(help.out);
  std::string near = flag;
  near.erase(2 + (flag.size() - 2) / 2, 1);
  Outcome m = run(withArgs(c, {near + "=1"}));
  EXPECT_EQ(m.code, 2);
  EXPECT_EQ(m.err, (std::vector<std::string>{"surge " + c + ": unknown option '" + near +
                                                 "' (did you mean '" + flag + "'?)",
                                             hint}));
}

INSTANTIATE_TEST_SUITE_P(Every, CliCommand, ::testing::ValuesIn(kCommands),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (ch == ' ') ch = '_';
                           }
                           return name;
                         });

TEST(CliCommands, BadValuesNameTheFlagAndTheValue) {
  struct Case {
    std::string command;
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"gateway", {"--workers=0"}, "--workers: must be between 1 and 256, found '0'"},
      {"gateway", {"--retries", "lots"}, "--retries: expected an integer, found 'lots'"},
      {"gateway", {"--listen"}, "--listen needs a value (--listen HOST:PORT)"},
      {"upstream",
       {"--unhealthy=maybe"},
       "--unhealthy takes no value (or =true, =false), found 'maybe'"},
      {"serve",
       {"--workers", "x", "--model-repository", "/nonexistent"},
       "--workers: expected an integer, found 'x'"},
      {"serve", {}, "--model-repository DIR is required"},
      {"serve",
       {"--model-repository", "/nonexistent", "--log-level", "dbug"},
       "--log-level: expected one of debug, info, warn, error, found 'dbug' (did you mean "
       "'debug'?)"},
      {"plan",
       {"--peak-rps=lots", "--instance-rps", "1"},
       "--peak-rps: expected a number, found 'lots'"},
      {"model demo", {}, "DIR is required"},
      {"model bench",
       {"/tmp", "--iterations", "0"},
       "--iterations: must be between 1 and 1000000, found '0'"},
      {"load",
       {"--concurrency=0", "--model", "m"},
       "--concurrency: must be between 1 and 100000, found '0'"},
      {"load", {"--model", "m", "--duration", "10 s"}, "--duration: invalid duration '10 s'"},
      {"autoscale", {}, "--config FILE is required"},
      {"autoscale explain", {"--input"}, "--input needs a value (--input FILE)"},
      {"predict",
       {"--history", "h.csv", "--at", "+1m", "--rps-per-replica", "0"},
       "--rps-per-replica: must be > 0 and <= 1000000000000, found '0'"},
      {"predict synth", {"--days=-1"}, "--days: must be > 0 and <= 3660, found '-1'"},
      {"predict evaluate", {"--holdout-days", "7"}, "--history FILE is required"},
      {"up", {"--max-replicas=1"}, "--max-replicas: must be between 2 and 1000, found '1'"},
      {"up", {"--sync-period", "10ms"}, "--sync-period: must be at least 100ms, found '10ms'"},
      {"sim", {"--config", "a.yaml", "--duration", "0s"}, "--duration: must be > 0s, found '0s'"},
      // Checked after the parse, by the command: the same two lines.
      {"plan",
       {"--peak-rps", "1", "--instance-rps", "1", "--percentile", "99"},
       "--percentile: must be a fraction strictly between 0 and 1 (write 0.99 for 99%), found "
       "'99'"},
      {"plan", {"--instance-rps", "1"}, "--peak-rps is required (or peak_rps in --config)"},
      {"predict",
       {"--history", "t.csv", "--at", "bad", "--rps-per-replica", "1"},
       "--at: expected Unix seconds or an RFC 3339 time"},
      {"predict", {"--history", "t.csv", "--at", "+1x", "--rps-per-replica", "1"}, "--at: "},
      {"predict synth", {"--start", "bad"}, "--start: expected Unix seconds"},
      {"gateway",
       {"--algorithm=nosuch"},
       "--algorithm: expected one of round_robin, weighted, random, least_connections, "
       "power_of_two, least_latency, consistent_hash, found 'nosuch'"},
      {"gateway", {"--listen=bad"}, "--listen: 'bad' must be host:port"},
      {"gateway", {"--listen="}, "--listen: '' must be host:port"},
      {"gateway", {"--admin", "h:x"}, "--admin: 'h:x' has a bad port (0..65535) (or off)"},
      {"gateway", {"--upstreams", "bad"}, "--upstreams: must be host:port, got 'bad'"},
      {"gateway",
       {"--upstreams", "127.0.0.1:1", "--per-try-timeout", "1h"},
       "--per-try-timeout: must not exceed the request timeout ("},
      {"upstream", {"--listen", "bad"}, "--listen: 'bad' must be host:port"},
      {"serve",
       {"--model-repository", "/nonexistent", "--listen", "h:99999"},
       "--listen: 'h:99999' has a bad port (0..65535)"},
      {"serve",
       {"--model-repository", "/nonexistent", "--metrics-port", "x"},
       "--metrics-port: expected an integer, found 'x'"},
      {"serve",
       {"--model-repository", "/nonexistent", "--cache", "redis://127.0.0.1:1", "--cache-ttl",
        "0s"},
       "--cache-ttl must be at least 1ms"},
      {"up", {"--listen=bad"}, "--listen: 'bad' must be host:port"},
      {"up", {"--listen="}, "--listen: '' must be host:port"},
      {"up", {"--autoscaler-admin", "bad"}, "--autoscaler-admin: 'bad' must be host:port (or off)"},
      {"up",
       {"--model-repository", "/nonexistent"},
       "--model-repository: '/nonexistent' is not a directory"},
      {"autoscale",
       {"--config", "/nonexistent.yaml", "--admin", "bad"},
       "--admin: 'bad' must be host:port (or off)"},
      {"autoscale explain", {"--input", "/nonexistent"}, "--input: cannot open '/nonexistent'"},
      {"load", {"--model", "m", "--path", "x"}, "--path: must start with '/', found 'x'"},
      {"load", {"--model", "m", "--path", "/a b"}, "--path: malformed URL"},
      {"load", {"--url", "bad", "--model", "m"}, "--url: must start with http:// (got 'bad')"},
      {"load", {"--url", "http://a%20b:1", "--model", "m"}, "--url: malformed URL"},
      // An empty argument is never a useful path or word.
      {"model demo", {""}, "empty argument (expected DIR)"},
      {"model bench", {"--", ""}, "empty argument (expected DIR)"},
      {"model", {""}, "empty argument"},
      {"gateway", {""}, "empty argument"},
      // Everything parsed, but no subcommand.
      {"model", {"--"}, "missing subcommand (demo or bench)"},
      {"model", {"--help=false"}, "missing subcommand (demo or bench)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command + " " + c.error);
    Outcome r = run(withArgs(c.command, c.args));
    EXPECT_EQ(r.code, 2);
    ASSERT_EQ(r.err.size(), 2u) << r.out;
    EXPECT_EQ(r.err[0].rfind("surge " + c.command + ": " + c.error, 0), 0u) << r.err[0];
    EXPECT_EQ(r.err[1], "Run 'surge " + c.command + " --help' for usage.");
  }
}

TEST(CliCommands, HelpOfHelpAndVersion) {
  Outcome top = run({"--help"});
  ASSERT_EQ(top.code, 0);
  Outcome version = run({"--version"});
  ASSERT_EQ(version.code, 0);
  for (const char* word : {"help", "--help", "-h"}) {
    Outcome r = run({"help", word});
    EXPECT_EQ(r.code, 0) << word;
    EXPECT_EQ(r.out, top.out) << word;
    EXPECT_TRUE(r.err.empty()) << word << ": " << r.err.front();
  }
  Outcome v = run({"help", "--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, version.out);
  EXPECT_TRUE(v.err.empty());
  // A near miss after `help` still suggests; the suggestion is never the word typed.
  Outcome miss = run({"help", "gatway"});
  EXPECT_EQ(miss.code, 2);
  EXPECT_EQ(miss.err, (std::vector<std::string>{"surge: unknown command 'gatway' (did you mean "
                                                "'gateway'?)",
                                                "Run 'surge --help' for usage."}));
}

// `surge load` builds its URLs from the model name with each segment percent-encoded: any name
// reaches the server as one segment (here: refused, so the message shows the URL).
TEST(CliCommands, LoadEscapesTheModelName) {
  const std::string dead = "127.0.0.1:1";
  for (const auto& [model, segment] : std::vector<std::pair<std::string, std::string>>{
           {"a b", "a%20b"}, {"a#b", "a%23b"}, {"a/b", "a%2Fb"}}) {
    Outcome r = run({"load", "--url", "http://" + dead, "--model", model, "--timeout", "2s"});
    EXPECT_EQ(r.code, 1) << model;
    ASSERT_EQ(r.err.size(), 1u) << model;
    EXPECT_EQ(r.err[0], "surge load: cannot reach " + dead + ": GET http://" + dead +
                            "/v2/models/" + segment + ": connect: Connection refused")
        << model;
  }
}

TEST(CliCommands, UnknownCommandsSuggest) {
  Outcome r = run({"gatway"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, (std::vector<std::string>{"surge: unknown command 'gatway' (did you mean "
                                             "'gateway'?)",
                                             "Run 'surge --help' for usage."}));
  Outcome sub = run({"model", "dmeo", "/tmp/x"});
  EXPECT_EQ(sub.code, 2);
  EXPECT_EQ(sub.err, (std::vector<std::string>{
                         "surge model: unknown subcommand 'dmeo' (did you mean 'demo'?)",
                         "Run 'surge model --help' for usage."}));
  Outcome pred = run({"predict", "evalute"});
  EXPECT_EQ(pred.code, 2);
  ASSERT_FALSE(pred.err.empty());
  EXPECT_EQ(pred.err[0], "surge predict: unknown subcommand 'evalute' (did you mean 'evaluate'?)");
  Outcome version = run({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("surge ", 0), 0u);
}

}  // namespace
}  // namespace surge::testing
