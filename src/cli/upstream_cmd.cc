// Placeholder until the net module lands (owned by the gateway work).
#include <cstdio>

#include "cli/commands.h"

namespace surge::cli {
int runUpstream(const std::vector<std::string>&) {
  std::fprintf(stderr, "surge upstream: not built yet\n");
  return 1;
}
}  // namespace surge::cli
