// Placeholder until the command lands.
#include <cstdio>

#include "cli/commands.h"

namespace surge::cli {

int runAutoscale(const std::vector<std::string>& /*args*/) {
  std::fprintf(stderr, "surge: this command is not implemented yet\n");
  return 1;
}

}  // namespace surge::cli
