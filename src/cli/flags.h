// Command-line flags: every `surge` subcommand declares its flags once, in a CommandSpec table
// (name, value name, help, type, default, range, required), and the table yields the parse, the
// --help text and the errors. One behaviour for every command (docs/design/cli.md):
//   --flag value and --flag=value; a value may start with '-' (--trend -0.5) but not with "--"
//     (then the flag "needs a value"; write --flag=--x for such a value);
//   bool flags take no value: --json, --json=true, --json=false; anything else is an error;
//   a flag given twice: the last one wins, unless it is repeatable (every value kept);
//   unknown flags and subcommands get a did-you-mean (config/suggest.h);
//   --help / -h prints the command's usage to stdout and exits 0;
//   errors are ONE line "surge <cmd>: <error>" and the hint "Run 'surge <cmd> --help' for usage."
//   on stderr, exit 2 (0 ok, 1 runtime failure, 2 usage or config error).
// Thread-safety: pure functions over const tables.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace surge::cli {

enum class FlagType {
  kString,
  kInt,       // 64-bit integer, decimal
  kDouble,    // finite number
  kDuration,  // config/units.h grammar: 150ms, 2s, 10m30s, or bare seconds
  kBool,      // no value (or =true / =false)
};

struct Flag {
  std::string name{};        // "--listen"
  std::string value_name{};  // "HOST:PORT" in help and errors (not for kBool)
  std::string help{};  // wrapped in --help; "(default X)" is appended when default_value is set
  FlagType type = FlagType::kString;
  std::string default_value{};  // as typed on the command line; "" = none (has() is then false)
  bool required = false;
  bool repeatable = false;  // every occurrence kept, in order (all()); otherwise the last wins
  bool greedy = false;      // also takes the following arguments up to the next "--..." one
  // Inclusive bounds for kInt, kDouble and kDuration (in seconds); *_exclusive makes them strict.
  double min = std::numeric_limits<double>::lowest();
  double max = std::numeric_limits<double>::max();
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices{};  // kString: the accepted words (did-you-mean on a miss)
  std::vector<std::string> aliases{};  // other accepted names, not shown in --help
  std::string heading{};               // set (and name empty): a section heading in --help
};

// A section heading between flags in --help ("Closed loop:").
Flag section(std::string heading);

struct Subcommand {
  std::string name{};
  std::string summary{};
};

struct CommandSpec {
  std::string path{};                   // "predict synth": errors say "surge predict synth: ..."
  std::vector<std::string> synopsis{};  // "--config FILE [options]" → "Usage: surge <path> ..."
  std::string description{};            // printed as written, after the usage lines
  std::vector<Flag> flags{};            // --help / -h is implicit
  std::vector<Subcommand> subcommands{};
  std::string positional{};  // "DIR": the name of positional arguments; "" = none accepted
  size_t max_positionals = 0;
  std::string epilog{};  // printed as written at the end (examples, exit codes)
};

// The result of a parse. Refers to the spec it was parsed with (specs are static tables).
class ParsedArgs {
 public:
  bool help() const { return help_; }
  // Given on the command line (the default does not count).
  bool has(std::string_view name) const;
  // The last value given, else the default, else "".
  const std::string& str(std::string_view name) const;
  // Every value given, in order (repeatable and greedy flags); empty when not given.
  const std::vector<std::string>& all(std::string_view name) const;
  // Typed values: the last given, else the default (validated by the parse). A name the spec
  // does not declare, or a typed read of a flag without a value or default, is a bug: abort().
  int64_t integer(std::string_view name) const;
  double number(std::string_view name) const;
  Duration duration(std::string_view name) const;
  bool boolean(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend StatusOr<ParsedArgs> parseArgs(const CommandSpec& spec,
                                        const std::vector<std::string>& args);
  const Flag& flag(std::string_view name) const;
  const std::string* text(std::string_view name) const;

  const CommandSpec* spec_ = nullptr;
  std::vector<std::vector<std::string>> values_;  // parallel to spec_->flags
  std::vector<std::string> positionals_;
  bool help_ = false;
};

// Parses args (everything after the command's own words). Errors are InvalidArgument with the
// message of the one error line ("unknown option '--prot' (did you mean '--port'?)"); a broken
// table (duplicate names, a default that does not parse) is Internal. --help stops the parse.
StatusOr<ParsedArgs> parseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// Checks a table: names start with "--", no duplicates, defaults parse and are in range.
Status checkSpec(const CommandSpec& spec);

// Checks one value against a flag (type, range, choices); the message names the flag and value.
Status checkValue(const Flag& flag, std::string_view value);

// Checks a HOST:PORT flag value after the parse (the rule of gateway::validateHostPort: a
// non-empty host, a colon, a decimal port up to 65535; 0 only with allow_zero_port). The message
// names the flag and the value: "--listen: 'bad' must be host:port", "--listen: 'h:99999' has a
// bad port (1..65535)". Report it with usageError.
Status checkHostPort(std::string_view flag, std::string_view value, bool allow_zero_port);

// The --help text: usage lines, description, subcommands, flags with wrapped help, epilog.
std::string helpText(const CommandSpec& spec);

// "surge <path>: <message>\nRun 'surge <path> --help' for usage.\n"
std::string errorText(const CommandSpec& spec, std::string_view message);

// Prints errorText to stderr; returns 2 (the usage-error exit code).
int usageError(const CommandSpec& spec, std::string_view message);

// --log-format text|json: the common flag of the commands that run until stopped (gateway,
// serve, upstream, autoscale, up), declared in their tables with logFormatFlag(). parseOrExit
// applies it (common/logging.h setLogFormat) and exports it as SURGE_LOG_FORMAT, so that the
// processes the command starts (surge up's replicas) log in the same format. Without the flag the
// format comes from SURGE_LOG_FORMAT, else text: parseOrExit reads the variable only for a table
// that declares the flag, after --help, so a bad value (a usage error naming the variable, exit 2)
// never breaks --help nor a command that does not log. docs/design/logging.md.
inline constexpr const char* kLogFormatEnv = "SURGE_LOG_FORMAT";
Flag logFormatFlag();

// Parses, and handles the two outcomes that end the command: --help (usage on stdout, *exit_code
// 0) and an error (one line and the hint on stderr, *exit_code 2; 1 for a broken table).
// Returns the parsed arguments otherwise, with --log-format (or SURGE_LOG_FORMAT) applied when the
// table declares the flag; a bad SURGE_LOG_FORMAT is then a usage error (*exit_code 2).
std::optional<ParsedArgs> parseOrExit(const CommandSpec& spec, const std::vector<std::string>& args,
                                      int* exit_code);

}  // namespace surge::cli
