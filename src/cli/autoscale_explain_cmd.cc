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

namespace surge::cli {
namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge autoscale explain [--input FILE]\n\n"
      "Dry run of one Kubernetes HPA sync: what would the autoscaler do, and why?\n"
      "Reads one JSON document (stdin, or --input FILE) with now, hpa (an autoscaling/v2\n"
      "HorizontalPodAutoscaler with its spec), scale, pods, podMetrics, objectMetrics,\n"
      "externalMetrics, failedMetrics, history and controller, and prints desiredReplicas,\n"
      "the per-metric proposals, the stabilized count, the condition and the history to keep.\n"
      "Format and worked examples: docs/autoscaling.md.\n\n"
      "  --input FILE   read the input from FILE instead of stdin ('-' is stdin)\n"
      "  --help         this text\n\n"
      "Exit codes: 0 ok, 2 bad input (one line naming the field).\n");
}

int bad(const std::string& message) {
  std::fprintf(stderr, "surge autoscale explain: %s\n", message.c_str());
  return 2;
}

}  // namespace

int runAutoscaleExplain(const std::vector<std::string>& args) {
  std::string input = "-";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--input") {
      if (i + 1 >= args.size()) return bad("--input: needs a value");
      input = args[++i];
    } else if (a.rfind("--input=", 0) == 0) {
      input = a.substr(8);
    } else {
      return bad(a + ": unknown argument (see surge autoscale explain --help)");
    }
  }
  std::string text, source;
  if (input == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    source = "<stdin>";
  } else {
    std::ifstream f(input, std::ios::binary);
    if (!f) return bad("--input: cannot open " + input);
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
