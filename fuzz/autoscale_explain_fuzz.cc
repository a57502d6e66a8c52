// Fuzzes `surge autoscale explain`: JSON (HPA object, pods, metrics, history) → one sync of the
// pure HPA controller → JSON. Property: the answer, when there is one, is valid UTF-8 JSON.
#include <cstdint>
#include <string_view>

#include "autoscale/hpa/explain_json.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto out = surge::autoscale::explain(text, "explain.json");
  if (out.isOk()) surge::fuzz::requireJson(*out, "explain output");
  return 0;
}
