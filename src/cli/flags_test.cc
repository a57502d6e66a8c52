// The flag parser (cli/flags.h) on its own: value forms, bool flags, repeatable and greedy flags,
// numbers, durations and their ranges, choices, required flags, did-you-mean, positionals and
// subcommands, the help text and the one-line error.
#include "cli/flags.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "common/logging.h"

namespace surge::cli {
namespace {

const CommandSpec& testSpec() {
  static const CommandSpec spec{
      .path = "test",
      .synopsis = {"--config FILE [options]"},
      .description = "A command for the parser's tests.\n",
      .flags =
          {
              {.name = "--config", .value_name = "FILE", .help = "the config", .required = true},
              {.name = "--listen",
               .value_name = "HOST:PORT",
               .help = "where to listen",
               .default_value = "127.0.0.1:8001"},
              {.name = "--workers",
               .value_name = "N",
               .help = "threads",
               .type = FlagType::kInt,
               .default_value = "2",
               .min = 1,
               .max = 256},
              {.name = "--ratio",
               .value_name = "F",
               .help = "a fraction",
               .type = FlagType::kDouble,
               .min = 0,
               .max = 1,
               .min_exclusive = true,
               .max_exclusive = true},
              {.name = "--trend",
               .value_name = "F",
               .help = "may be negative",
               .type = FlagType::kDouble,
               .min = -1,
               .max = 10},
              section("Timing:"),
              {.name = "--period",
               .value_name = "DUR",
               .help = "a period",
               .type = FlagType::kDuration,
               .default_value = "5s",
               .min = 0.1},
              {.name = "--json", .help = "JSON output", .type = FlagType::kBool},
              {.name = "--tag", .value_name = "T", .help = "a tag", .repeatable = true},
              {.name = "--compare",
               .value_name = "F1 F2 ...",
               .help = "files",
               .repeatable = true,
               .greedy = true},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold",
               .choices = {"debug", "info", "warn", "error"}},
              {.name = "--model-repository",
               .value_name = "DIR",
               .help = "a long help text that has to be wrapped because it is much longer than "
                       "one line of a terminal of one hundred columns, which is the width of "
                       "--help",
               .aliases = {"--model-store"}},
          },
      .subcommands = {{"synth", "makes a trace"}, {"evaluate", "scores a forecast"}},
      .epilog = "Example: surge test --config c.yaml\n",
  };
  return spec;
}

const CommandSpec& positionalSpec() {
  static const CommandSpec spec{
      .path = "model demo",
      .flags = {{.name = "--name", .value_name = "NAME", .help = "name", .default_value = "mlp"}},
      .positional = "DIR",
      .max_positionals = 1,
  };
  return spec;
}

StatusOr<ParsedArgs> parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"--config", "c.yaml"});
  return parseArgs(testSpec(), args);
}

// The error message of a parse that must fail.
std::string error(std::vector<std::string> args, const CommandSpec& spec = testSpec()) {
  auto r = parseArgs(spec, args);
  EXPECT_FALSE(r.isOk());
  return r.isOk() ? "" : r.status().message();
}

TEST(Flags, BothValueForms) {
  auto a = parse({"--listen", "0.0.0.0:1", "--workers=4"});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a->str("--listen"), "0.0.0.0:1");
  EXPECT_EQ(a->integer("--workers"), 4);
  auto b = parse({"--listen=0.0.0.0:2", "--workers", "5"});
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->str("--listen"), "0.0.0.0:2");
  EXPECT_EQ(b->integer("--workers"), 5);
  auto c = parse({"--listen=a=b", "--model-repository="});  // '=' in the value; an empty value
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->str("--listen"), "a=b");
  EXPECT_TRUE(c->has("--model-repository"));
  EXPECT_EQ(c->str("--model-repository"), "");
}

TEST(Flags, DefaultsAndHas) {
  auto a = parse({});
  ASSERT_TRUE(a.isOk());
  EXPECT_FALSE(a->has("--listen"));
  EXPECT_EQ(a->str("--listen"), "127.0.0.1:8001");
  EXPECT_EQ(a->integer("--workers"), 2);
  EXPECT_EQ(a->duration("--period"), std::chrono::seconds(5));
  EXPECT_FALSE(a->boolean("--json"));
  EXPECT_EQ(a->str("--log-level"), "");
  EXPECT_TRUE(a->all("--tag").empty());
  EXPECT_TRUE(a->positionals().empty());
  EXPECT_FALSE(a->help());
}

TEST(Flags, MissingValue) {
  EXPECT_EQ(error({"--config"}), "--config needs a value (--config FILE)");
  EXPECT_EQ(error({"--config", "c", "--listen", "--json"}),
            "--listen needs a value (--listen HOST:PORT)");
  // A value may start with one dash (a negative number) but not with two.
  auto a = parse({"--trend", "-0.5"});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_DOUBLE_EQ(a->number("--trend"), -0.5);
  auto b = parse({"--listen=--odd"});
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->str("--listen"), "--odd");
}

TEST(Flags, BoolTakesNoValue) {
  auto a = parse({"--json"});
  ASSERT_TRUE(a.isOk());
  EXPECT_TRUE(a->boolean("--json"));
  auto t = parse({"--json=true"});
  ASSERT_TRUE(t.isOk());
  EXPECT_TRUE(t->boolean("--json"));
  auto f = parse({"--json", "--json=false"});  // the last one wins
  ASSERT_TRUE(f.isOk());
  EXPECT_FALSE(f->boolean("--json"));
  EXPECT_TRUE(f->has("--json"));
  EXPECT_EQ(error({"--config", "c", "--json=yes"}),
            "--json takes no value (or =true, =false), found 'yes'");
  // The word after a bool flag is not its value.
  EXPECT_EQ(error({"--config", "c", "--json", "true"}), "unexpected argument 'true'");
}

TEST(Flags, RepeatedFlagLastWinsUnlessRepeatable) {
  auto a = parse({"--listen", "a:1", "--listen", "b:2", "--tag", "x", "--tag=y", "--tag", "z"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->str("--listen"), "b:2");
  EXPECT_EQ(a->all("--listen"), std::vector<std::string>{"b:2"});
  EXPECT_EQ(a->all("--tag"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(a->str("--tag"), "z");
}

TEST(Flags, GreedyTakesWordsUpToTheNextFlag) {
  auto a = parse({"--compare", "a.yaml", "b.yaml", "--json", "--compare=c.yaml", "d.yaml"});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a->all("--compare"),
            (std::vector<std::string>{"a.yaml", "b.yaml", "c.yaml", "d.yaml"}));
  EXPECT_TRUE(a->boolean("--json"));
  EXPECT_EQ(error({"--config", "c", "--compare", "--json"}),
            "--compare needs a value (--compare F1 F2 ...)");
}

TEST(Flags, Integers) {
  EXPECT_EQ(error({"--config", "c", "--workers", "abc"}),
            "--workers: expected an integer, found 'abc'");
  EXPECT_EQ(error({"--config", "c", "--workers", "2.5"}),
            "--workers: expected an integer, found '2.5'");
  EXPECT_EQ(error({"--config", "c", "--workers=0"}),
            "--workers: must be between 1 and 256, found '0'");
  EXPECT_EQ(error({"--config", "c", "--workers", "257"}),
            "--workers: must be between 1 and 256, found '257'");
  EXPECT_EQ(error({"--config", "c", "--workers", "99999999999999999999"}),
            "--workers: out of range, found '99999999999999999999'");
  auto a = parse({"--workers", "256"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->integer("--workers"), 256);
}

TEST(Flags, Doubles) {
  EXPECT_EQ(error({"--config", "c", "--ratio", "lots"}),
            "--ratio: expected a number, found 'lots'");
  EXPECT_EQ(error({"--config", "c", "--ratio", "nan"}), "--ratio: expected a number, found 'nan'");
  EXPECT_EQ(error({"--config", "c", "--ratio", "1e400"}),
            "--ratio: expected a number, found '1e400'");
  EXPECT_EQ(error({"--config", "c", "--ratio", "0"}), "--ratio: must be > 0 and < 1, found '0'");
  EXPECT_EQ(error({"--config", "c", "--ratio", "1"}), "--ratio: must be > 0 and < 1, found '1'");
  EXPECT_EQ(error({"--config", "c", "--trend", "-2"}),
            "--trend: must be between -1 and 10, found '-2'");
  auto a = parse({"--ratio", "0.25", "--trend=10"});
  ASSERT_TRUE(a.isOk());
  EXPECT_DOUBLE_EQ(a->number("--ratio"), 0.25);
  EXPECT_DOUBLE_EQ(a->number("--trend"), 10);
}

TEST(Flags, Durations) {
  auto a = parse({"--period", "1m30s"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->duration("--period"), std::chrono::seconds(90));
  auto b = parse({"--period=0.5"});  // bare seconds
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->duration("--period"), std::chrono::milliseconds(500));
  const std::string bad = error({"--config", "c", "--period", "2sec"});
  EXPECT_EQ(bad.rfind("--period: invalid duration '2sec'", 0), 0u) << bad;
  EXPECT_EQ(error({"--config", "c", "--period", "10ms"}),
            "--period: must be at least 100ms, found '10ms'");
}

TEST(Flags, Choices) {
  EXPECT_EQ(error({"--config", "c", "--log-level", "dbug"}),
            "--log-level: expected one of debug, info, warn, error, found 'dbug' (did you mean "
            "'debug'?)");
  EXPECT_EQ(error({"--config", "c", "--log-level", "verbose"}),
            "--log-level: expected one of debug, info, warn, error, found 'verbose'");
  auto a = parse({"--log-level=warn"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->str("--log-level"), "warn");
}

TEST(Flags, Required) {
  EXPECT_EQ(error({}), "--config FILE is required");
  EXPECT_EQ(error({"--json"}), "--config FILE is required");
  auto help = parseArgs(testSpec(), {"--help"});  // help needs no required flag
  ASSERT_TRUE(help.isOk());
  EXPECT_TRUE(help->help());
}

TEST(Flags, UnknownFlagSuggestsTheClosest) {
  EXPECT_EQ(error({"--config", "c", "--listne", "x"}),
            "unknown option '--listne' (did you mean '--listen'?)");
  EXPECT_EQ(error({"--config", "c", "--wrokers=3"}),
            "unknown option '--wrokers' (did you mean '--workers'?)");
  EXPECT_EQ(error({"--config", "c", "--hepl"}), "unknown option '--hepl' (did you mean '--help'?)");
  EXPECT_EQ(error({"--config", "c", "--frobnicate"}), "unknown option '--frobnicate'");
  EXPECT_EQ(error({"--config", "c", "-x"}), "unknown option '-x'");
}

TEST(Flags, AliasesSetTheFlag) {
  auto a = parse({"--model-store", "/models"});
  ASSERT_TRUE(a.isOk());
  EXPECT_TRUE(a->has("--model-repository"));
  EXPECT_EQ(a->str("--model-repository"), "/models");
}

TEST(Flags, SubcommandsAndPositionals) {
  EXPECT_EQ(error({"evalute"}), "unknown subcommand 'evalute' (did you mean 'evaluate'?)");
  EXPECT_EQ(error({"frob"}), "unknown subcommand 'frob' (subcommands: synth, evaluate)");
  EXPECT_EQ(error({"--config", "c", "stray"}), "unexpected argument 'stray'");

  auto a = parseArgs(positionalSpec(), {"/tmp/models", "--name=m"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->positionals(), std::vector<std::string>{"/tmp/models"});
  EXPECT_EQ(a->str("--name"), "m");
  EXPECT_EQ(error({"a", "b"}, positionalSpec()), "unexpected argument 'b'");
  auto dashed = parseArgs(positionalSpec(), {"--", "--odd-dir"});  // "--" ends the flags
  ASSERT_TRUE(dashed.isOk());
  EXPECT_EQ(dashed->positionals(), std::vector<std::string>{"--odd-dir"});
}

TEST(Flags, EmptyArgumentsAreRejected) {
  EXPECT_EQ(error({""}, positionalSpec()), "empty argument (expected DIR)");
  EXPECT_EQ(error({"--", ""}, positionalSpec()), "empty argument (expected DIR)");
  EXPECT_EQ(error({"--name=m", ""}, positionalSpec()), "empty argument (expected DIR)");
  EXPECT_EQ(error({"--config", "c", ""}), "empty argument");
  EXPECT_EQ(error({""}), "empty argument");  // where a subcommand would be
  // An empty flag value is a value (the command judges it).
  auto a = parseArgs(positionalSpec(), {"--name=", "/tmp"});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a->str("--name"), "");
}

TEST(Flags, CheckHostPort) {
  EXPECT_TRUE(checkHostPort("--listen", "127.0.0.1:8080", false).isOk());
  EXPECT_TRUE(checkHostPort("--listen", "0.0.0.0:0", true).isOk());
  EXPECT_TRUE(checkHostPort("--listen", "[::1]:65535", false).isOk());
  EXPECT_EQ(checkHostPort("--listen", "bad", true).message(), "--listen: 'bad' must be host:port");
  EXPECT_EQ(checkHostPort("--listen", "", true).message(), "--listen: '' must be host:port");
  EXPECT_EQ(checkHostPort("--listen", ":80", true).message(), "--listen: ':80' must be host:port");
  EXPECT_EQ(checkHostPort("--listen", "h:", true).message(), "--listen: 'h:' must be host:port");
  EXPECT_EQ(checkHostPort("--admin", "h:x", true).message(),
            "--admin: 'h:x' has a bad port (0..65535)");
  EXPECT_EQ(checkHostPort("--admin", "h:65536", true).message(),
            "--admin: 'h:65536' has a bad port (0..65535)");
  EXPECT_EQ(checkHostPort("--up", "h:0", false).message(), "--up: 'h:0' has a bad port (1..65535)");
  EXPECT_EQ(checkHostPort("--up", "h:99999999999999999999", false).code(),
            StatusCode::kInvalidArgument);
}

TEST(Flags, HelpStopsTheParse) {
  for (const char* h : {"--help", "-h", "--help=true"}) {
    auto a = parseArgs(testSpec(), {"--workers", "3", h, "--no-such-flag"});
    ASSERT_TRUE(a.isOk()) << h;
    EXPECT_TRUE(a->help()) << h;
  }
  // An error before --help is reported.
  EXPECT_EQ(error({"--workers", "0", "--help"}), "--workers: must be between 1 and 256, found '0'");
}

TEST(Flags, HelpText) {
  const std::string help = helpText(testSpec());
  EXPECT_EQ(help.rfind("Usage: surge test --config FILE [options]\n\nA command for the parser's "
                       "tests.\n",
                       0),
            0u)
      << help;
  EXPECT_NE(help.find("\nCommands:\n  synth     makes a trace\n  evaluate  scores a forecast\n"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("\nOptions:\n  --config FILE"), std::string::npos) << help;
  EXPECT_NE(help.find("the config [required]\n"), std::string::npos) << help;
  EXPECT_NE(help.find("where to listen (default 127.0.0.1:8001)\n"), std::string::npos) << help;
  EXPECT_NE(help.find("log threshold; one of debug, info, warn, error\n"), std::string::npos)
      << help;
  EXPECT_NE(help.find("\nTiming:\n  --period DUR"), std::string::npos) << help;
  EXPECT_NE(help.find("  --json  "), std::string::npos) << help;     // a bool shows no value name
  EXPECT_EQ(help.find("--model-store"), std::string::npos) << help;  // aliases are not shown
  EXPECT_NE(help.find("  -h, --help"), std::string::npos) << help;
  EXPECT_NE(help.find("\nExample: surge test --config c.yaml\n"), std::string::npos) << help;
  // Every line fits in 100 columns; the help column is aligned; long help is wrapped.
  std::istringstream lines(help);
  size_t column = 0, wrapped = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100u) << line;
    if (line.rfind("  --", 0) == 0 && line.find("  ", 4) != std::string::npos) {
      const size_t at = line.find_first_not_of(' ', line.find("  ", 4));
      if (column == 0) column = at;
      EXPECT_EQ(at, column) << line;
    } else if (column != 0 && line.size() > column && line.find_first_not_of(' ') == column) {
      ++wrapped;
    }
  }
  EXPECT_GE(wrapped, 1u) << help;
}

TEST(Flags, ErrorIsOneLineAndAHint) {
  EXPECT_EQ(errorText(testSpec(), "unknown option '--x'"),
            "surge test: unknown option '--x'\nRun 'surge test --help' for usage.\n");
}

TEST(Flags, BrokenTablesAreInternalErrors) {
  CommandSpec duplicate{.path = "dup",
                        .flags = {{.name = "--a"}, {.name = "--b", .aliases = {"--a"}}}};
  EXPECT_EQ(checkSpec(duplicate).code(), StatusCode::kInternal);
  CommandSpec bad_default{
      .path = "bad",
      .flags = {{.name = "--n", .type = FlagType::kInt, .default_value = "0", .min = 1}}};
  EXPECT_EQ(checkSpec(bad_default).code(), StatusCode::kInternal);
  EXPECT_EQ(parseArgs(bad_default, {}).status().code(), StatusCode::kInternal);
  CommandSpec bad_name{.path = "bad", .flags = {{.name = "-n"}}};
  EXPECT_EQ(checkSpec(bad_name).code(), StatusCode::kInternal);
  EXPECT_TRUE(checkSpec(testSpec()).isOk()) << checkSpec(testSpec()).message();
}

// The common --log-format flag: parseOrExit applies it and exports it for child processes; a bad
// value is the usual one-line usage error naming the flag.
TEST(Flags, LogFormatIsAppliedAndExportedByParseOrExit) {
  static const CommandSpec spec{.path = "svc", .flags = {logFormatFlag()}};
  ::unsetenv(kLogFormatEnv);
  int code = -1;
  ASSERT_TRUE(parseOrExit(spec, {}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kText);
  EXPECT_EQ(std::getenv(kLogFormatEnv), nullptr);  // not given: nothing exported
  ASSERT_TRUE(parseOrExit(spec, {"--log-format=json"}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kJson);
  ASSERT_NE(std::getenv(kLogFormatEnv), nullptr);
  EXPECT_STREQ(std::getenv(kLogFormatEnv), "json");
  ASSERT_TRUE(parseOrExit(spec, {"--log-format", "text"}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kText);
  EXPECT_STREQ(std::getenv(kLogFormatEnv), "text");
  ::unsetenv(kLogFormatEnv);

  auto bad = parseArgs(spec, {"--log-format", "jsno"});
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message(),
            "--log-format: expected one of text, json, found 'jsno' (did you mean 'json'?)");
  EXPECT_EQ(logFormat(), LogFormat::kText);  // unchanged by a failed parse
  EXPECT_NE(helpText(spec).find("--log-format FORMAT"), std::string::npos);
}

// SURGE_LOG_FORMAT: read only for a table that declares --log-format, after --help and only when
// the flag is absent; a bad value is a usage error there (naming the variable), unread elsewhere.
TEST(Flags, LogFormatEnvironmentIsReadOnlyByCommandsThatTakeTheFlag) {
  static const CommandSpec logs{.path = "svc", .flags = {logFormatFlag()}};
  static const CommandSpec report{.path = "plan", .flags = {{.name = "--peak-rps"}}};
  int code = -1;
  ::setenv(kLogFormatEnv, "json", 1);
  setLogFormat(LogFormat::kText);
  ASSERT_TRUE(parseOrExit(logs, {}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kJson);
  ASSERT_TRUE(parseOrExit(logs, {"--log-format=text"}, &code).has_value());  // the flag wins
  EXPECT_EQ(logFormat(), LogFormat::kText);

  ::setenv(kLogFormatEnv, "XML", 1);
  // A command without the flag: not read, no error.
  ASSERT_TRUE(parseOrExit(report, {"--peak-rps", "100"}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kText);
  // --help always works.
  ::testing::internal::CaptureStdout();
  code = -1;
  EXPECT_FALSE(parseOrExit(logs, {"--help"}, &code).has_value());
  EXPECT_EQ(code, 0);
  code = -1;
  EXPECT_FALSE(parseOrExit(report, {"--help"}, &code).has_value());
  EXPECT_EQ(code, 0);
  ::testing::internal::GetCapturedStdout();
  // An explicit flag wins over a bad variable.
  ASSERT_TRUE(parseOrExit(logs, {"--log-format", "json"}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kJson);
  setLogFormat(LogFormat::kText);
  // A command that logs, without the flag: a usage error naming the variable, exit 2.
  ::setenv(kLogFormatEnv, "XML\x1b", 1);
  ::testing::internal::CaptureStderr();
  code = -1;
  EXPECT_FALSE(parseOrExit(logs, {}, &code).has_value());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 2);
  EXPECT_EQ(err,
            "surge svc: SURGE_LOG_FORMAT: expected one of text, json, found 'XML\\x1b'\n"
            "Run 'surge svc --help' for usage.\n");
  EXPECT_EQ(logFormat(), LogFormat::kText);
  ::setenv(kLogFormatEnv, "", 1);  // empty: as if unset
  ASSERT_TRUE(parseOrExit(logs, {}, &code).has_value());
  EXPECT_EQ(logFormat(), LogFormat::kText);
  ::unsetenv(kLogFormatEnv);
}

TEST(FlagsDeathTest, ReadingAnUndeclaredFlagIsABug) {
  auto a = parse({});
  ASSERT_TRUE(a.isOk());
  EXPECT_DEATH((void)a->str("--nope"), "flag --nope is not declared");
}

}  // namespace
}  // namespace surge::cli
