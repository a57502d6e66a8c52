// `surge autoscale explain [--input FILE]`: a dry run of exactly one HPA sync. Reads the JSON input
// of hpa-semantics.md "The explain interface" (stdin by default), runs autoscale::runSync and
// prints the output JSON (docs/autoscaling.md). Bad input: one line naming the field, exit 2.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "autoscale/hpa/explain_json.h"
#include "cli/commands.h"
#include "cli/flags.h"

namespace surge::cli {
namespace {

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "autoscale explain",
      .synopsis = {"[--input FILE]"},
      .description =
          "Dry run of one Kubernetes HPA sync: what would the autoscaler do, and why?\n"
          "Reads one JSON document (stdin, or --input FILE) with now, hpa (an autoscaling/v2\n"
          "HorizontalPodAutoscaler with its spec), scale, pods, podMetrics, objectMetrics,\n"
          "externalMetrics, failedMetrics, history and controller, and prints desiredReplicas,\n"
          "the per-metric proposals, the stabilized count, the condition and the history to keep.\n"
          "Format and worked examples: docs/autoscaling.md.\n",
      .flags =
          {
              {.name = "--input",
               .value_name = "FILE",
               .help = "read the input from FILE instead of stdin ('-' is stdin)",
               .default_value = "-"},
          },
      .epilog = "Exit codes: 0 ok, 2 bad input (one line naming the field).\n",
  };
  return spec;
}

int bad(const std::string& message) {
  std::fprintf(stderr, "surge autoscale explain: %s\n", message.c_str());
  return 2;
}

}  // namespace

int runAutoscaleExplain(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  const std::string input = args->str("--input");
  std::string text, source;
  if (input == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    source = "<stdin>";
  } else {
    std::ifstream f(input, std::ios::binary);
    if (!f) return usageError(spec(), "--input: cannot open '" + input + "'");
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    source = input;
  }
  auto out = autoscale::explain(text, source);
  if (!out.isOk()) {
    std::string msg = out.status().message();
    size_t nl = msg.find('\n');  // several errors (e.g. unknown keys): the first one
    if (nl != std::string::npos) msg.resize(nl);
    return bad(msg);
  }
  std::printf("%s\n", out.value().c_str());
  return 0;
}

}  // namespace surge::cli
