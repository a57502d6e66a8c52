// Fuzzes the Open Inference Protocol body codec (serving/infer_json.h): request decoding, the
// binary tensor data extension's split at Inference-Header-Content-Length, then the response
// encoded from the decoded inputs (every output echoes the input of the same index, so BYTES that
// are not UTF-8 reach the encoder). Properties: never a crash, hang or allocation the body cannot
// back (ASan's allocation limit catches those); every JSON body — error or response — is one
// valid UTF-8 JSON document; a binary response's binary_data_size values add up to its tail.
// Input: an optional first line "<spec> <json_length>|-\n" (spec 0..2, see specs()), then the
// body; without that line, spec 0 and the whole input as JSON.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "serving/inference_service.h"
#include "serving/infer_json.h"

namespace {

using surge::runtime::DataType;
using surge::runtime::ModelSpec;
using surge::runtime::TensorSpec;

std::vector<ModelSpec> makeSpecs() {
  std::vector<ModelSpec> v(3);
  v[0].name = "plain";
  v[0].inputs = {{"x", DataType::kFp32, {-1}, {}, false}, {"s", DataType::kBytes, {-1}, {}, false}};
  v[1].name = "batched";
  v[1].max_batch_size = 4;
  v[1].inputs = {{"x", DataType::kInt64, {2}, {}, false}, {"b", DataType::kBool, {-1}, {}, false},
                 {"u", DataType::kUint8, {-1, 2}, {}, false}};
  v[2].name = "reshape\xff";  // a model name that is not UTF-8 must still come out as JSON
  v[2].max_batch_size = 2;
  v[2].inputs = {{"h", DataType::kFp16, {-1, -1}, {}, false},
                 {"r", DataType::kFp64, {2, 2}, {4}, true},
                 {"s", DataType::kBytes, {1}, {}, false}};
  for (auto& s : v) {
    for (const auto& in : s.inputs) s.outputs.push_back({in.name + "_out", in.dtype, in.dims,
                                                         in.reshape, in.has_reshape});
  }
  return v;
}

const std::vector<ModelSpec>& specs() {
  static const std::vector<ModelSpec> v = makeSpecs();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t spec_index = 0;
  size_t json_length = std::string_view::npos;
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos && nl < 32 && nl >= 3 && in[0] >= '0' && in[0] <= '2' &&
      in[1] == ' ') {
    spec_index = static_cast<size_t>(in[0] - '0');
    std::string_view len = in.substr(2, nl - 2);
    size_t n = 0;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec == std::errc() && p == len.data() + len.size()) json_length = n;
    in.remove_prefix(nl + 1);
  }
  const ModelSpec& spec = specs()[spec_index];
  surge::serving::InferRequest request;
  surge::Status st = surge::serving::parseInferRequest(in, spec, &request, json_length);
  if (!st.isOk()) {
    surge::fuzz::requireJson(surge::serving::jsonErrorBody(st.message()), "request error body");
    return 0;
  }
  if (request.inputs.size() != spec.inputs.size()) surge::fuzz::fail("input count");
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& t = request.inputs[i];
    if (t.dtype() != spec.inputs[i].dtype) surge::fuzz::fail("input dtype");
    // What the request holds is backed by the body: no tensor larger than a constant per byte.
    size_t held = t.dtype() == DataType::kBytes ? t.strings().size() : t.byteSize();
    if (held > 8 * (in.size() + 8)) surge::fuzz::fail("tensor larger than its body");
  }
  std::vector<surge::runtime::Tensor> outputs = request.inputs;  // echo: output k = input k
  std::string body;
  auto n = surge::serving::appendInferResponse(body, spec, request, outputs);
  if (!n.isOk()) {
    surge::fuzz::requireJson(surge::serving::jsonErrorBody(n.status().message()),
                             "response error body");
    return 0;
  }
  size_t json_part = *n == 0 ? body.size() : *n;
  surge::fuzz::requireJson(std::string_view(body).substr(0, json_part), "response body");
  auto j = nlohmann::json::parse(body.substr(0, json_part));
  size_t binary = 0;
  for (const auto& o : j["outputs"]) {
    if (o.contains("parameters")) binary += o["parameters"]["binary_data_size"].get<size_t>();
  }
  if (json_part + binary != body.size()) surge::fuzz::fail("binary_data_size sum != tail");
  return 0;
}
