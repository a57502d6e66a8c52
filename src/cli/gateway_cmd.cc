// Placeholder until the gateway module lands (owned by the gateway work).
#include <cstdio>

#include "cli/commands.h"

namespace surge::cli {
int runGateway(const std::vector<std::string>&) {
  std::fprintf(stderr, "surge gateway: not built yet\n");
  return 1;
}
}  // namespace surge::cli
