#include "serving/prediction_cache.h"

#include <openssl/evp.h>

#include <cstring>

#include "common/status.h"
#include "runtime/tensor.h"

namespace surge::serving {
namespace {

// Feeds a tagged, length-prefixed byte stream to SHA-256: every variable-length field is preceded
// by its length and every list by its count, so the stream decodes uniquely back to the fields
// (two different requests cannot produce the same stream by moving bytes across a boundary).
class KeyDigest {
 public:
  KeyDigest() {
    // Fetched once (OpenSSL 3: an explicit fetch avoids a provider lookup per request).
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    SURGE_CHECK(sha256 != nullptr);
    thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();  // reused: no allocation per request
    SURGE_CHECK(ctx != nullptr);
    ctx_ = ctx;
    SURGE_CHECK(EVP_DigestInit_ex2(ctx_, sha256, nullptr) == 1);
  }

  void raw(const void* data, size_t n) {
    if (n != 0) SURGE_CHECK(EVP_DigestUpdate(ctx_, data, n) == 1);
  }
  void u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    raw(b, sizeof b);
  }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void field(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void bytes(const void* data, size_t n) {
    u64(n);
    raw(data, n);
  }

  PredictionKey::Digest finish() {
    PredictionKey::Digest d{};
    unsigned int len = 0;
    SURGE_CHECK(EVP_DigestFinal_ex(ctx_, d.data(), &len) == 1 && len == d.size());
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::string PredictionKey::digestHex() const {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(2 * digest.size());
  for (uint8_t b : digest) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

std::string PredictionKey::toString() const {
  return model + "/" + std::to_string(version) + "/" + digestHex();
}

PredictionKey predictionKey(const runtime::ModelSpec& spec, const InferRequest& request) {
  KeyDigest h;
  h.field("surge.prediction-key/v1");
  h.field(spec.name);
  h.i64(spec.version);
  h.u64(request.inputs.size());
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const runtime::Tensor& t = request.inputs[i];
    h.field(i < spec.inputs.size() ? std::string_view(spec.inputs[i].name) : std::string_view());
    h.field(runtime::dataTypeName(t.dtype()));
    h.u64(t.shape().size());
    for (int64_t d : t.shape()) h.i64(d);
    if (t.dtype() == runtime::DataType::kBytes) {
      h.u64(t.strings().size());
      for (const auto& s : t.strings()) h.field(s);
    } else {
      h.bytes(t.data(), t.byteSize());
    }
  }
  h.u64(request.outputs.size());
  for (int k : request.outputs) {
    auto ku = static_cast<size_t>(k);
    h.i64(k);
    h.field(k >= 0 && ku < spec.outputs.size() ? std::string_view(spec.outputs[ku].name)
                                               : std::string_view());
    // binary_data changes only the answer's encoding, not the outputs; it is keyed anyway so a
    // cached entry is only ever shared by requests that asked for exactly the same thing.
    h.u64(ku < request.binary_outputs.size() && request.binary_outputs[ku] ? 1 : 0);
  }
  return PredictionKey{spec.name, spec.version, h.finish()};
}

}  // namespace surge::serving
