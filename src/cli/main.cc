// surge: one binary, one subcommand per component.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "config/suggest.h"

#ifndef SURGE_VERSION
#define SURGE_VERSION "0.0.0"
#endif

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "surge %s — serve ML models under real traffic\n\n"
               "Usage: surge <command> [options]\n\nCommands:\n",
               SURGE_VERSION);
  for (const auto& c : surge::cli::commands()) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nRun 'surge <command> --help' (or 'surge help <command>') for the options of a\n"
               "command. Options: --help, --version\n");
}

// "surge: unknown command 'gatway' (did you mean 'gateway'?)" and the hint; exit 2. Never
// suggests the word typed (a word that is not a command here, e.g. `surge help help`, is handled
// before).
int unknownCommand(const std::string& cmd) {
  std::vector<std::string_view> names;
  for (std::string_view n : {"help", "--help", "--version"}) {
    if (n != cmd) names.push_back(n);
  }
  for (const auto& c : surge::cli::commands()) {
    if (cmd != c.name) names.push_back(c.name);
  }
  std::fprintf(stderr, "surge: unknown command '%s'%s\nRun 'surge --help' for usage.\n",
               cmd.c_str(), surge::config::didYouMean(cmd, names).c_str());
  return 2;
}

int version() {
  std::printf("surge %s\n", SURGE_VERSION);
  return 0;
}

const surge::cli::Command* findCommand(const std::string& name) {
  for (const auto& c : surge::cli::commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "help" && !args.empty()) {
    // surge help help / --help / -h: the top-level usage; surge help --version: the version.
    if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
      usage(stdout);
      return 0;
    }
    if (args[0] == "--version" || args[0] == "version") return version();
    // surge help <command> [<subcommand>]: that command's --help.
    const surge::cli::Command* c = findCommand(args[0]);
    if (c == nullptr) return unknownCommand(args[0]);
    std::vector<std::string> help_args(args.begin() + 1, args.end());
    help_args.push_back("--help");
    return c->run(help_args);
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") return version();
  if (const surge::cli::Command* c = findCommand(cmd)) {
    // SURGE_LOG_FORMAT is read by parseOrExit, for the commands that take --log-format only.
    return c->run(args);
  }
  return unknownCommand(cmd);
}
