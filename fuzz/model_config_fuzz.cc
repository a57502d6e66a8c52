// Fuzzes config.pbtxt loading (serving/model_config.h): protobuf text format, then validation.
// Properties: never a crash or hang; every error line names the file; a config that loads keeps
// the size limits (max_batch_size within [0, 2^20], every tensor at the largest batch within
// 1 GiB, so warm-up cannot abort or hang), and its instances and batcher options are bounded.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "runtime/synthetic_backend.h"
#include "serving/batcher.h"
#include "serving/model_config.h"

namespace {

const surge::runtime::BackendRegistry& backends() {
  static const surge::runtime::BackendRegistry* r = [] {
    auto* reg = new surge::runtime::BackendRegistry();
    reg->add(surge::runtime::makeSyntheticBackend());  // libtorch is not built with clang here
    return reg;
  }();
  return *r;
}

bool withinCap(const surge::runtime::TensorSpec& t, int64_t rows) {
  long double bytes = rows < 1 ? 1 : static_cast<long double>(rows);
  bytes *= t.dtype == surge::runtime::DataType::kBytes
               ? 32
               : static_cast<long double>(surge::runtime::dataTypeSize(t.dtype));
  for (int64_t d : t.backendDims()) bytes *= d < 0 ? 1 : static_cast<long double>(d);
  return bytes <= static_cast<long double>(int64_t{1} << 30);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = surge::serving::loadModelConfig(text, "m/config.pbtxt", "m", backends());
  if (!c.isOk()) {
    std::string_view m = c.status().message();
    if (m.substr(0, 14) != "m/config.pbtxt") surge::fuzz::fail("error without the file", m);
    return 0;
  }
  const auto& spec = c->spec;
  if (spec.max_batch_size < 0 || spec.max_batch_size > (1 << 20)) {
    surge::fuzz::fail("max_batch_size out of range");
  }
  for (const auto* list : {&spec.inputs, &spec.outputs}) {
    for (const auto& t : *list) {
      if (!withinCap(t, spec.max_batch_size)) surge::fuzz::fail("tensor above the cap", t.name);
      for (int64_t d : t.dims) {
        if (d == 0 || d < -1) surge::fuzz::fail("bad dim", t.name);
      }
    }
  }
  auto instances = c->instances();
  if (instances.empty() || instances.size() > 256) surge::fuzz::fail("instance count");
  auto options = surge::serving::batcherOptionsFor(*c);
  for (int64_t b : options.warmup_batch_sizes) {
    if (b < 1 || (spec.max_batch_size > 0 && b > spec.max_batch_size)) {
      surge::fuzz::fail("warm-up batch size");
    }
  }
  return 0;
}
