// Fuzzes the Prometheus text-format parser (what the autoscaler reads from every replica's and
// the gateway's /metrics) and the aggregations run on its result.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "metrics/text_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view page(reinterpret_cast<const char*>(data), size);
  auto parsed = surge::metrics::parseText(page);
  if (!parsed.isOk()) return 0;
  for (const auto& s : parsed->samples) {
    (void)parsed->sum(s.name);
    std::string_view family(s.name);
    if (family.size() > 7 && family.substr(family.size() - 7) == "_bucket") {
      family.remove_suffix(7);
      for (double q : {0.0, 0.5, 0.99, 1.0, -1.0, 2.0, std::nan("")}) {
        (void)parsed->quantile(q, family);
      }
    }
    break;  // the first family is enough: the aggregations are O(page) each
  }
  return 0;
}
