#include "serving/prediction_cache.h"

#include <cstring>

#include "common/hash.h"

namespace surge::serving {
namespace {

// Two independent 64-bit lanes over the same byte stream.
class Hasher128 {
 public:
  void add(const void* data, size_t n) {
    std::string_view s(static_cast<const char*>(data), n);
    hi_ = hash64(s, hi_ ^ 0x9e3779b97f4a7c15ULL);
    lo_ = hash64(s, lo_ + 0x632be59bd9b4e019ULL);
  }
  template <class T>
  void addValue(T v) {
    add(&v, sizeof v);
  }
  uint64_t hi() const { return hi_; }
  uint64_t lo() const { return lo_; }

 private:
  uint64_t hi_ = 0x243f6a8885a308d3ULL;
  uint64_t lo_ = 0x13198a2e03707344ULL;
};

}  // namespace

std::string PredictionKey::toString() const {
  static const char* kHex = "0123456789abcdef";
  std::string s = model + "/" + std::to_string(version) + "/";
  for (uint64_t w : {hi, lo}) {
    for (int i = 15; i >= 0; --i) s += kHex[(w >> (i * 4)) & 15];
  }
  return s;
}

PredictionKey predictionKey(const runtime::ModelSpec& spec, const InferRequest& request) {
  Hasher128 h;
  h.addValue<uint64_t>(request.outputs.size());
  for (int k : request.outputs) h.addValue<int64_t>(k);
  for (const runtime::Tensor& t : request.inputs) {
    h.addValue<uint8_t>(static_cast<uint8_t>(t.dtype()));
    h.addValue<uint64_t>(t.shape().size());
    for (int64_t d : t.shape()) h.addValue(d);
    if (t.dtype() == runtime::DataType::kBytes) {
      for (const auto& s : t.strings()) {
        h.addValue<uint64_t>(s.size());
        h.add(s.data(), s.size());
      }
    } else {
      h.add(t.data(), t.byteSize());
    }
  }
  return PredictionKey{spec.name, spec.version, h.hi(), h.lo()};
}

}  // namespace surge::serving
