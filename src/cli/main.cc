// surge: one binary, one subcommand per component.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

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
               "\nRun 'surge <command> --help' for the options of a command.\n"
               "Options: --help, --version\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("surge %s\n", SURGE_VERSION);
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : surge::cli::commands()) {
    if (cmd == c.name) return c.run(args);
  }
  std::fprintf(stderr, "surge: unknown command '%s'\n\n", cmd.c_str());
  usage(stderr);
  return 2;
}
