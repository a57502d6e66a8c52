#include "serving/grpc/grpc_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "serving/model_config.pb.h"
#include "serving/prediction_cache.h"

namespace surge::serving {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using runtime::DataType;
using runtime::Tensor;

// The spec infer_json_test.cc uses: FP32 [2], INT8 [-1], BYTES [1]; batching up to 4.
runtime::ModelSpec spec() {
  runtime::ModelSpec s;
  s.name = "m";
  s.version = 3;
  s.max_batch_size = 4;
  s.inputs = {{"x", DataType::kFp32, {2}, {}, false},
              {"n", DataType::kInt8, {-1}, {}, false},
              {"s", DataType::kBytes, {1}, {}, false}};
  s.outputs = {{"y", DataType::kFp32, {2}, {}, false}, {"b", DataType::kBool, {1}, {}, false}};
  return s;
}

std::string le32(uint32_t n) {
  char b[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
               static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  return std::string(b, 4);
}

template <class T>
std::string rawOf(std::initializer_list<T> v) {
  std::string out(v.size() * sizeof(T), '\0');
  std::memcpy(out.data(), std::data(v), out.size());
  return out;
}

// The typed request: x [2,2] FP32, n [2,3] INT8, s [2,1] BYTES.
ModelInferRequest typedRequest() {
  ModelInferRequest r;
  r.set_model_name("m");
  r.set_id("r1");
  auto* x = r.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(2);
  x->add_shape(2);
  for (float f : {1.f, 2.f, 3.f, 4.5f}) x->mutable_contents()->add_fp32_contents(f);
  auto* n = r.add_inputs();
  n->set_name("n");
  n->set_datatype("INT8");
  n->add_shape(2);
  n->add_shape(3);
  for (int v : {1, 2, 3, -4, -5, 127}) n->mutable_contents()->add_int_contents(v);
  auto* s = r.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  s->add_shape(1);
  s->mutable_contents()->add_bytes_contents("hello");
  s->mutable_contents()->add_bytes_contents(std::string("w\xff\0rld", 6));
  return r;
}

// The same request with raw_input_contents.
ModelInferRequest rawRequest() {
  ModelInferRequest r = typedRequest();
  for (auto& in : *r.mutable_inputs()) in.clear_contents();
  r.add_raw_input_contents(rawOf<float>({1.f, 2.f, 3.f, 4.5f}));
  r.add_raw_input_contents(rawOf<int8_t>({1, 2, 3, -4, -5, 127}));
  r.add_raw_input_contents(le32(5) + "hello" + le32(6) + std::string("w\xff\0rld", 6));
  return r;
}

std::string errorOf(const ModelInferRequest& req) {
  InferRequest r;
  Status s = parseGrpcInferRequest(req, spec(), &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << req.ShortDebugString();
  return s.message();
}

TEST(GrpcCodec, TypedAndRawDecodeToTheSameTensors) {
  InferRequest a, b;
  ASSERT_TRUE(parseGrpcInferRequest(typedRequest(), spec(), &a).isOk());
  Status s = parseGrpcInferRequest(rawRequest(), spec(), &b);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(a.id, "r1");
  EXPECT_TRUE(a.has_id);
  EXPECT_EQ(a.rows, 2);
  ASSERT_EQ(a.inputs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(a.inputs[i] == b.inputs[i]) << i;
  EXPECT_EQ(a.inputs[0].dataAs<float>()[3], 4.5f);
  EXPECT_EQ(a.inputs[1].dataAs<int8_t>()[5], 127);
  EXPECT_EQ(a.inputs[2].strings()[1], std::string("w\xff\0rld", 6));
  EXPECT_EQ(a.outputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(a.shape_key, b.shape_key);
  // The same request as JSON parses to the same tensors and the same batching and cache keys.
  InferRequest j;
  Status js = parseInferRequest(
      R"({"id":"r1","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4.5]},)"
      R"({"name":"n","shape":[2,3],"datatype":"INT8","data":[1,2,3,-4,-5,127]},)"
      R"({"name":"s","shape":[2,1],"datatype":"BYTES","data":["hello","wxrld"]}]})",
      spec(), &j);
  ASSERT_TRUE(js.isOk()) << js.message();
  EXPECT_EQ(j.shape_key, a.shape_key);
  EXPECT_TRUE(j.inputs[0] == a.inputs[0]);
  EXPECT_TRUE(j.inputs[1] == a.inputs[1]);
}

TEST(GrpcCodec, RejectsWhatTheJsonPathRejects) {
  ModelInferRequest r = typedRequest();
  r.mutable_inputs(0)->set_datatype("FP64");
  EXPECT_NE(errorOf(r).find("datatype FP64 does not match the model's FP32"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->set_datatype("NOPE");
  EXPECT_NE(errorOf(r).find("unknown datatype 'NOPE'"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->set_shape(1, 3);
  EXPECT_NE(errorOf(r).find("does not match the model's [-1, 2]"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(9);
  EXPECT_NE(errorOf(r).find("needs 4 elements, contents.fp32_contents has 5"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->set_name("zz");
  EXPECT_NE(errorOf(r).find("unknown input 'zz'"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs()->RemoveLast();
  EXPECT_NE(errorOf(r).find("missing input 's'"), std::string::npos);
  r = typedRequest();
  *r.add_inputs() = r.inputs(0);
  EXPECT_NE(errorOf(r).find("given twice"), std::string::npos);
  r = typedRequest();
  for (auto& in : *r.mutable_inputs()) in.set_shape(0, 5);
  EXPECT_NE(errorOf(r).find("batch size 5 is outside [1, max_batch_size 4]"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(1)->set_shape(0, 1);
  r.mutable_inputs(1)->set_shape(1, 6);
  EXPECT_NE(errorOf(r).find("different batch sizes"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(1)->mutable_contents()->set_int_contents(0, 128);
  EXPECT_NE(errorOf(r).find("out of range for INT8"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->mutable_contents()->add_int_contents(1);
  EXPECT_NE(errorOf(r).find("contents.int_contents has 1 elements"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->clear_contents();
  EXPECT_NE(errorOf(r).find("input 'x' has no data"), std::string::npos);
  r = typedRequest();
  r.mutable_inputs(0)->add_shape(-1);
  EXPECT_NE(errorOf(r).find("negative dimension"), std::string::npos);
  r = typedRequest();
  (*r.mutable_parameters())["timeout"].set_string_param("soon");
  EXPECT_NE(errorOf(r).find("parameter 'timeout'"), std::string::npos);
  r = typedRequest();
  r.add_outputs()->set_name("nope");
  EXPECT_NE(errorOf(r).find("unknown output 'nope'"), std::string::npos);
}

TEST(GrpcCodec, RawRules) {
  ModelInferRequest r = rawRequest();
  r.mutable_raw_input_contents()->RemoveLast();
  EXPECT_NE(errorOf(r).find("raw_input_contents has 2 entries for 3 inputs"), std::string::npos);
  r = rawRequest();
  r.mutable_inputs(2)->mutable_contents()->add_bytes_contents("x");
  EXPECT_NE(errorOf(r).find("has 'contents' while the request uses raw_input_contents"),
            std::string::npos);
  r = rawRequest();
  r.mutable_raw_input_contents(0)->push_back('\0');
  EXPECT_NE(errorOf(r).find("needs 16 bytes of raw_input_contents, got 17"), std::string::npos);
  r = rawRequest();
  r.set_raw_input_contents(2, le32(5) + "hello" + le32(60) + "w");
  EXPECT_NE(errorOf(r).find("ends inside an element"), std::string::npos);
  r = rawRequest();
  r.set_raw_input_contents(2, le32(0) + le32(0) + "xy");
  EXPECT_NE(errorOf(r).find("2 bytes of raw_input_contents left"), std::string::npos);
  // A huge shape with little data is refused before anything is allocated.
  r = rawRequest();
  r.mutable_inputs(1)->set_shape(1, int64_t{1} << 61);
  EXPECT_NE(errorOf(r).find("bytes of raw_input_contents"), std::string::npos);
  r = rawRequest();
  r.mutable_inputs(2)->set_shape(1, 1);
  r.mutable_inputs(2)->add_shape(int64_t{1} << 40);
  EXPECT_FALSE(errorOf(r).empty());
}

TEST(GrpcCodec, TimeoutAndOutputs) {
  ModelInferRequest r = typedRequest();
  (*r.mutable_parameters())["timeout"].set_int64_param(2500);
  (*r.mutable_parameters())["binary_data_output"].set_bool_param(true);  // ignored
  r.add_outputs()->set_name("b");
  r.add_outputs()->set_name("b");
  InferRequest out;
  ASSERT_TRUE(parseGrpcInferRequest(r, spec(), &out).isOk());
  EXPECT_EQ(out.timeout, std::chrono::microseconds(2500));
  EXPECT_EQ(out.outputs, (std::vector<int>{1}));
  EXPECT_EQ(out.outputs_wanted, (std::vector<bool>{false, true}));
}

TEST(GrpcCodec, RendersRawOutputs) {
  InferRequest req;
  ASSERT_TRUE(parseGrpcInferRequest(typedRequest(), spec(), &req).isOk());
  Tensor y(DataType::kFp32, {2, 2});
  for (int i = 0; i < 4; ++i) y.dataAs<float>()[i] = 0.5f * static_cast<float>(i);
  Tensor b(DataType::kBool, {2, 1});
  b.dataAs<uint8_t>()[1] = 1;
  ModelInferResponse resp;
  ASSERT_TRUE(renderGrpcInferResponse(spec(), req, {y, b}, &resp).isOk());
  EXPECT_EQ(resp.model_name(), "m");
  EXPECT_EQ(resp.model_version(), "3");
  EXPECT_EQ(resp.id(), "r1");
  ASSERT_EQ(resp.outputs_size(), 2);
  ASSERT_EQ(resp.raw_output_contents_size(), 2);
  EXPECT_EQ(resp.outputs(0).name(), "y");
  EXPECT_EQ(resp.outputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(resp.outputs(0).shape().begin(), resp.outputs(0).shape().end()),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(resp.raw_output_contents(0), rawOf<float>({0.f, 0.5f, 1.f, 1.5f}));
  EXPECT_EQ(resp.raw_output_contents(1), std::string("\0\1", 2));
  // A missing output is an internal error, not a crash.
  EXPECT_EQ(renderGrpcInferResponse(spec(), req, {y}, &resp).code(), StatusCode::kInternal);
}

TEST(GrpcCodec, BytesOutputsAreLengthPrefixed) {
  runtime::ModelSpec s;
  s.name = "echo";
  s.version = 1;
  s.inputs = {{"in", DataType::kBytes, {2}, {}, false}};
  s.outputs = {{"out", DataType::kBytes, {2}, {}, false}};
  InferRequest req;
  ModelInferRequest r;
  auto* in = r.add_inputs();
  in->set_name("in");
  in->set_datatype("BYTES");
  in->add_shape(2);
  r.add_raw_input_contents(le32(1) + "a" + le32(0));
  ASSERT_TRUE(parseGrpcInferRequest(r, s, &req).isOk());
  ModelInferResponse resp;
  ASSERT_TRUE(renderGrpcInferResponse(s, req, req.inputs, &resp).isOk());
  EXPECT_EQ(resp.raw_output_contents(0), le32(1) + "a" + le32(0));
}

TEST(GrpcCodec, EveryTypedFieldDecodes) {
  struct Case {
    DataType t;
    const char* name;
  };
  for (Case c : {Case{DataType::kBool, "BOOL"}, Case{DataType::kUint8, "UINT8"},
                 Case{DataType::kUint16, "UINT16"}, Case{DataType::kUint32, "UINT32"},
                 Case{DataType::kUint64, "UINT64"}, Case{DataType::kInt16, "INT16"},
                 Case{DataType::kInt32, "INT32"}, Case{DataType::kInt64, "INT64"},
                 Case{DataType::kFp64, "FP64"}}) {
    runtime::ModelSpec s;
    s.name = "t";
    s.inputs = {{"v", c.t, {2}, {}, false}};
    s.outputs = {{"o", c.t, {2}, {}, false}};
    ModelInferRequest r;
    auto* in = r.add_inputs();
    in->set_name("v");
    in->set_datatype(c.name);
    in->add_shape(2);
    auto* ct = in->mutable_contents();
    switch (c.t) {
      case DataType::kBool:
        ct->add_bool_contents(false);
        ct->add_bool_contents(true);
        break;
      case DataType::kUint8:
      case DataType::kUint16:
      case DataType::kUint32:
        ct->add_uint_contents(0);
        ct->add_uint_contents(1);
        break;
      case DataType::kUint64:
        ct->add_uint64_contents(0);
        ct->add_uint64_contents(1);
        break;
      case DataType::kInt64:
        ct->add_int64_contents(0);
        ct->add_int64_contents(1);
        break;
      case DataType::kFp64:
        ct->add_fp64_contents(0);
        ct->add_fp64_contents(1);
        break;
      default:
        ct->add_int_contents(0);
        ct->add_int_contents(1);
    }
    InferRequest out;
    Status st = parseGrpcInferRequest(r, s, &out);
    ASSERT_TRUE(st.isOk()) << c.name << ": " << st.message();
    EXPECT_EQ(out.inputs[0].valueAt(0), 0) << c.name;
    EXPECT_EQ(out.inputs[0].valueAt(1), 1) << c.name;
  }
  // FP16 travels only as raw.
  runtime::ModelSpec s;
  s.name = "h";
  s.inputs = {{"v", DataType::kFp16, {1}, {}, false}};
  ModelInferRequest r;
  auto* in = r.add_inputs();
  in->set_name("v");
  in->set_datatype("FP16");
  in->add_shape(1);
  in->mutable_contents()->add_fp32_contents(1);
  InferRequest out;
  Status st = parseGrpcInferRequest(r, s, &out);
  EXPECT_NE(st.message().find("raw_input_contents"), std::string::npos) << st.message();
}

TEST(GrpcCodec, ModelConfigKeepsTritonsFieldNumbers) {
  ModelConfig c;
  c.spec = spec();
  c.spec.backend = "synthetic";
  c.dynamic_batching = DynamicBatchingConfig{};
  c.dynamic_batching->max_queue_delay = std::chrono::microseconds(100);
  c.instance_groups = {InstanceGroupConfig{"m_0", 2, InstanceKind::kCpu, {}}};
  pb::ModelConfig out;
  fillModelConfig(c, &out);
  EXPECT_EQ(out.name(), "m");
  EXPECT_EQ(out.max_batch_size(), 4);
  ASSERT_EQ(out.input_size(), 3);
  EXPECT_EQ(out.input(0).data_type(), pb::TYPE_FP32);
  EXPECT_EQ(out.input(2).data_type(), pb::TYPE_STRING);
  EXPECT_EQ(out.dynamic_batching().preferred_batch_size(0), 4);
  EXPECT_EQ(out.dynamic_batching().max_queue_delay_microseconds(), 100u);
  EXPECT_EQ(out.instance_group(0).kind(), pb::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(out.version_policy().latest().num_versions(), 1u);
}

}  // namespace
}  // namespace surge::serving
