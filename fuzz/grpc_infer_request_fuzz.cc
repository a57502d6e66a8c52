// Fuzzes the gRPC inference codec (serving/grpc/grpc_codec.h): arbitrary bytes parsed as a
// ModelInferRequest (protobuf wire format, as gRPC hands it to the server), checked against one of
// three model specs (the model_name field picks it: "batched", "reshape", else "plain"), then the
// response rendered from the decoded inputs (every output echoes the input of the same index).
// Properties: never a crash, hang or allocation the message cannot back (sizes are checked before
// tensors are allocated); a successful decode holds one tensor per model input, and the response
// has one raw_output_contents entry per output, re-parsing to the same message.
#include <cstdint>
#include <string>
#include <vector>

#include "serving/grpc/grpc_codec.h"

namespace {

using surge::runtime::DataType;
using surge::runtime::ModelSpec;

std::vector<ModelSpec> makeSpecs() {
  std::vector<ModelSpec> v(3);
  v[0].name = "plain";
  v[0].inputs = {{"x", DataType::kFp32, {-1}, {}, false}, {"s", DataType::kBytes, {-1}, {}, false}};
  v[1].name = "batched";
  v[1].max_batch_size = 4;
  v[1].inputs = {{"x", DataType::kInt64, {2}, {}, false}, {"b", DataType::kBool, {-1}, {}, false},
                 {"u", DataType::kUint8, {-1, 2}, {}, false}, {"i", DataType::kInt16, {1}, {}, false}};
  v[2].name = "reshape";
  v[2].max_batch_size = 2;
  v[2].inputs = {{"h", DataType::kFp16, {-1, -1}, {}, false},
                 {"r", DataType::kFp64, {2, 2}, {4}, true},
                 {"s", DataType::kBytes, {1}, {}, false}};
  for (auto& s : v) {
    for (const auto& in : s.inputs) {
      s.outputs.push_back({in.name + "_out", in.dtype, in.dims, in.reshape, in.has_reshape});
    }
  }
  return v;
}

const std::vector<ModelSpec>& specs() {
  static const std::vector<ModelSpec> v = makeSpecs();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  const ModelSpec& spec = req.model_name() == "batched"   ? specs()[1]
                          : req.model_name() == "reshape" ? specs()[2]
                                                          : specs()[0];
  surge::serving::InferRequest out;
  surge::Status st = surge::serving::parseGrpcInferRequest(req, spec, &out);
  if (!st.isOk()) {
    if (st.code() != surge::StatusCode::kInvalidArgument || st.message().empty()) __builtin_trap();
    return 0;
  }
  if (out.inputs.size() != spec.inputs.size() || out.outputs.empty()) __builtin_trap();
  inference::ModelInferResponse resp;
  st = surge::serving::renderGrpcInferResponse(spec, out, out.inputs, &resp);
  if (!st.isOk()) __builtin_trap();
  if (resp.raw_output_contents_size() != resp.outputs_size() ||
      resp.outputs_size() != static_cast<int>(out.outputs.size())) {
    __builtin_trap();
  }
  std::string wire;
  if (!resp.SerializeToString(&wire)) __builtin_trap();
  inference::ModelInferResponse again;
  if (!again.ParseFromString(wire) || again.raw_output_contents_size() != resp.outputs_size()) {
    __builtin_trap();
  }
  return 0;
}
