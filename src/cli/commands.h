// The subcommands of the `surge` binary. cli/ only wires modules together: each command parses its
// flags, loads its config through config/, and hands over to its module.
#pragma once

#include <string>
#include <vector>

namespace surge::cli {

// Every command gets its arguments after the subcommand name and returns the process exit code
// (0 ok, 1 runtime failure, 2 usage or config error).
using CommandFn = int (*)(const std::vector<std::string>& args);

struct Command {
  const char* name;
  const char* summary;
  CommandFn run;
};

// The registry table (commands.cc): one line per subcommand.
const std::vector<Command>& commands();

int runGateway(const std::vector<std::string>& args);
int runUpstream(const std::vector<std::string>& args);
int runServe(const std::vector<std::string>& args);
int runPlan(const std::vector<std::string>& args);
int runModel(const std::vector<std::string>& args);
int runLoad(const std::vector<std::string>& args);
int runAutoscale(const std::vector<std::string>& args);         // autoscale_cmd.cc
int runAutoscaleExplain(const std::vector<std::string>& args);  // autoscale_explain_cmd.cc
int runPredict(const std::vector<std::string>& args);
int runUp(const std::vector<std::string>& args);
int runSim(const std::vector<std::string>& args);

}  // namespace surge::cli
