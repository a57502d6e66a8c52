#include "serving/infer_json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "serving/prediction_cache.h"

namespace surge::serving {
namespace {

using nlohmann::json;
using runtime::DataType;
using runtime::Tensor;

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

std::string request(
    const std::string& x = R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]})",
    const std::string& extra = "") {
  return R"({"id":"r1",)" + extra + R"("inputs":[)" + x +
         R"(,{"name":"n","shape":[2,3],"datatype":"INT8","data":[1,2,3,-4,-5,127]},)"
         R"({"name":"s","shape":[2,1],"datatype":"BYTES","data":["hello","wörld\n"]}]})";
}

Status parse(const std::string& body, InferRequest* out) {
  return parseInferRequest(body, spec(), out);
}

std::string errorOf(const std::string& body) {
  InferRequest r;
  Status s = parse(body, &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body;
  return s.message();
}

TEST(InferJson, ParsesNestedAndFlatData) {
  InferRequest r;
  Status s = parse(request(), &r);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_TRUE(r.has_id);
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(r.rows, 2);
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.inputs[0].shape(), (runtime::Shape{2, 2}));
  EXPECT_EQ(r.inputs[0].dataAs<float>()[3], 4.5f);
  EXPECT_EQ(r.inputs[1].dataAs<int8_t>()[5], 127);
  EXPECT_EQ(r.inputs[2].strings()[1], "wörld\n");
  EXPECT_EQ(r.outputs, (std::vector<int>{0, 1}));  // no "outputs": every output
}

TEST(InferJson, EveryDatatypeDecodes) {
  runtime::ModelSpec s;
  s.name = "t";
  s.max_batch_size = 0;
  std::string inputs;
  struct Case {
    DataType t;
    const char* data;
    double last;
  };
  std::vector<Case> cases = {
      {DataType::kBool, "[true,false]", 0},
      {DataType::kUint8, "[0,255]", 255},
      {DataType::kUint16, "[0,65535]", 65535},
      {DataType::kUint32, "[0,4294967295]", 4294967295.0},
      {DataType::kUint64, "[0,18446744073709551615]", 18446744073709551615.0},
      {DataType::kInt8, "[-128,127]", 127},
      {DataType::kInt16, "[-32768,32767]", 32767},
      {DataType::kInt32, "[-2147483648,2147483647]", 2147483647},
      {DataType::kInt64, "[-9223372036854775808,9223372036854775807]", 9223372036854775807.0},
      {DataType::kFp16, "[0.5,-2]", -2},
      {DataType::kFp32, "[1e-3,7]", 7},
      {DataType::kFp64, "[0.1,1e300]", 1e300},
      {DataType::kBytes, "[\"a\",\"bcd\"]", 3},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string name = "i" + std::to_string(i);
    s.inputs.push_back({name, cases[i].t, {2}, {}, false});
    if (!inputs.empty()) inputs += ',';
    inputs += R"({"name":")" + name + R"(","shape":[2],"datatype":")" +
              std::string(runtime::dataTypeName(cases[i].t)) + R"(","data":)" + cases[i].data + "}";
  }
  s.outputs = {{"y", DataType::kFp32, {1}, {}, false}};
  InferRequest r;
  Status st = parseInferRequest(R"({"inputs":[)" + inputs + "]}", s, &r);
  ASSERT_TRUE(st.isOk()) << st.message();
  EXPECT_FALSE(r.has_id);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(r.inputs[i].valueAt(1), cases[i].last) << runtime::dataTypeName(cases[i].t);
  }
  EXPECT_EQ(r.inputs[0].valueAt(0), 1.0);
  EXPECT_EQ(r.inputs[9].valueAt(0), 0.5);
}

TEST(InferJson, OutputsSelectionKeepsRequestOrder) {
  InferRequest r;
  ASSERT_TRUE(parse(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})",
                            R"("outputs":[{"name":"b"},{"name":"y","parameters":{}}],)"),
                    &r)
                  .isOk());
  EXPECT_EQ(r.outputs, (std::vector<int>{1, 0}));
  ASSERT_TRUE(parse(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})",
                            R"("outputs":[{"name":"b"}],)"),
                    &r)
                  .isOk());
  EXPECT_EQ(r.outputs_wanted, (std::vector<bool>{false, true}));
}

TEST(InferJson, TimeoutParameter) {
  InferRequest r;
  ASSERT_TRUE(parse(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})",
                            R"("parameters":{"timeout":2500,"priority":1},)"),
                    &r)
                  .isOk());
  EXPECT_EQ(r.timeout, std::chrono::microseconds(2500));
}

TEST(InferJson, Errors) {
  const std::string x = R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})";
  EXPECT_NE(errorOf("{\"inputs\": [").find("malformed JSON"), std::string::npos);
  EXPECT_NE(errorOf("[1,2]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(errorOf("{}").find("no 'inputs'"), std::string::npos);
  EXPECT_NE(errorOf(R"({"inputs":{}})").find("'inputs' must be an array"), std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"z","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})"))
                .find("unknown input 'z' for model 'm' (inputs: x, n, s)"),
            std::string::npos);
  EXPECT_NE(errorOf(request(x + "," + x)).find("input 'x' is given twice"), std::string::npos);
  EXPECT_NE(errorOf(R"({"inputs":[)" + x + "]}").find("missing input 'n'"), std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]})"))
                .find("input 'x': datatype FP64 does not match the model's FP32"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FLOAT","data":[1,2,3,4]})"))
                .find("unknown datatype 'FLOAT'"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]})"))
                .find("input 'x': shape [2, 3] does not match the model's [-1, 2]"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[4],"datatype":"FP32","data":[1,2,3,4]})"))
                .find("does not match"),
            std::string::npos);
  EXPECT_NE(
      errorOf(
          request(R"({"name":"x","shape":[5,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,0]})"))
          .find("batch size 5 is outside [1, max_batch_size 4]"),
      std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]})"))
                .find("different batch sizes"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]})"))
                .find("input 'x': shape [2, 2] needs 4 elements, data has 3"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4,5]})"))
                .find("needs 4 elements, data has 5"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,"2",3,4]})"))
                .find("input 'x': data element 1 is not a valid FP32 value"),
            std::string::npos);
  EXPECT_NE(errorOf(request(x).replace(request(x).find("127"), 3, "128"))
                .find("input 'n': data element 5 is not a valid INT8 value"),
            std::string::npos);
  EXPECT_NE(errorOf(request(x).replace(request(x).find("-4"), 2, "1.5")).find("not a valid INT8"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,-2],"datatype":"FP32","data":[]})"))
                .find("non-negative integers"),
            std::string::npos);
  EXPECT_NE(
      errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP32"})")).find("has no 'data'"),
      std::string::npos);
  EXPECT_NE(errorOf(request(x, R"("outputs":[{"name":"q"}],)")).find("unknown output 'q'"),
            std::string::npos);
  EXPECT_NE(errorOf(request(x, R"("outputs":[{"name":"y","parameters":{"binary_data":1}}],)"))
                .find("'binary_data' must be true or false"),
            std::string::npos);
  EXPECT_NE(errorOf(request(R"({"name":"x","shape":[2,2],"datatype":"FP32",)"
                            R"("parameters":{"binary_data_size":16}})"))
                .find("needs the Inference-Header-Content-Length header"),
            std::string::npos);
  EXPECT_NE(errorOf(request(x, R"("parameters":{"timeout":-1},)")).find("timeout"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"id":7,"inputs":[]})").find("'id' must be a string"), std::string::npos);
}

// JSON header + raw tensors, as Triton's binary tensor data extension lays them out.
struct BinaryBody {
  std::string json, tail;
  std::string body() const { return json + tail; }
};

BinaryBody binaryRequest(const std::string& outputs =
                             R"([{"name":"y","parameters":{"binary_data":true}},{"name":"b"}])") {
  BinaryBody b;
  b.json =
      R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}},)"
      R"({"name":"n","shape":[2,1],"datatype":"INT8","data":[1,2]},)"
      R"({"name":"s","shape":[2,1],"datatype":"BYTES","parameters":{"binary_data_size":10}}],)"
      R"("outputs":)" +
      outputs + "}";
  float x[4] = {1.5f, -2, 3, 4};
  b.tail.append(reinterpret_cast<const char*>(x), sizeof x);
  b.tail += std::string("\x02\x00\x00\x00hi\x00\x00\x00\x00", 10);  // "hi", ""
  return b;
}

TEST(InferJson, BinaryTensorDataIn) {
  BinaryBody b = binaryRequest();
  InferRequest r;
  Status s = parseInferRequest(b.body(), spec(), &r, b.json.size());
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(r.inputs[0].dataAs<float>()[0], 1.5f);
  EXPECT_EQ(r.inputs[0].dataAs<float>()[3], 4.0f);
  EXPECT_EQ(r.inputs[1].dataAs<int8_t>()[1], 2);
  EXPECT_EQ(r.inputs[2].strings(), (std::vector<std::string>{"hi", ""}));
  EXPECT_EQ(r.binary_outputs, (std::vector<bool>{true, false}));

  auto err = [&](const std::string& body, size_t json_length) {
    InferRequest q;
    Status st = parseInferRequest(body, spec(), &q, json_length);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    return st.message();
  };
  EXPECT_NE(err(b.body() + "x", b.json.size()).find("1 bytes of binary data after the JSON"),
            std::string::npos);
  EXPECT_NE(err(b.body().substr(0, b.body().size() - 1), b.json.size()).find("past the end"),
            std::string::npos);
  EXPECT_NE(err(b.body(), b.body().size() + 1).find("larger than the body"), std::string::npos);
  BinaryBody short_x = b;
  short_x.json.replace(short_x.json.find("\"binary_data_size\":16"), 21, "\"binary_data_size\":12");
  EXPECT_NE(err(short_x.json + b.tail.substr(4), short_x.json.size()).find("needs 16 bytes"),
            std::string::npos);
  BinaryBody bad_len = b;
  bad_len.tail[16] = 9;  // "hi" claims 9 bytes
  EXPECT_NE(err(bad_len.body(), b.json.size()).find("ends inside an element"), std::string::npos);
}

TEST(InferJson, BinaryTensorDataOut) {
  BinaryBody b = binaryRequest();
  InferRequest r;
  ASSERT_TRUE(parseInferRequest(b.body(), spec(), &r, b.json.size()).isOk());
  std::vector<Tensor> outs;
  Tensor y(DataType::kFp32, {2, 2});
  for (int i = 0; i < 4; ++i) y.dataAs<float>()[i] = static_cast<float>(i) + 0.5f;
  Tensor bo(DataType::kBool, {2, 1});
  outs.push_back(y);
  outs.push_back(std::move(bo));
  std::string body;
  size_t json_length = appendInferResponse(body, spec(), r, outs).value();
  ASSERT_GT(json_length, 0u);
  json j = json::parse(body.substr(0, json_length));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({2, 2}));
  EXPECT_EQ(j["outputs"][1]["data"], json::array({false, false}));
  ASSERT_EQ(body.size(), json_length + 16);
  EXPECT_EQ(std::memcmp(body.data() + json_length, y.data(), 16), 0);

  // binary_data_output: every output binary; BYTES outputs are length-prefixed.
  runtime::ModelSpec s = spec();
  s.outputs[1] = {"b", DataType::kBytes, {1}, {}, false};
  InferRequest all;
  BinaryBody ball = binaryRequest("[]");
  ball.json.insert(1, R"("parameters":{"binary_data_output":true},)");
  ASSERT_TRUE(parseInferRequest(ball.body(), s, &all, ball.json.size()).isOk());
  Tensor bytes(DataType::kBytes, {2, 1});
  bytes.strings() = {"ab", "c"};
  outs[1] = bytes;
  body.clear();
  json_length = appendInferResponse(body, s, all, outs).value();
  EXPECT_EQ(body.size() - json_length, 16u + 4 + 2 + 4 + 1);
  EXPECT_EQ(body.substr(json_length + 16), std::string("\x02\x00\x00\x00"
                                                       "ab"
                                                       "\x01\x00\x00\x00"
                                                       "c",
                                                       11));

  // Plain JSON answers report no binary part.
  InferRequest plain;
  ASSERT_TRUE(parse(request(), &plain).isOk());
  body.clear();
  outs[1] = Tensor(DataType::kBool, {2, 1});
  EXPECT_EQ(appendInferResponse(body, spec(), plain, outs).value(), 0u);
}

TEST(InferJson, VariableDimsChangeTheShapeKey) {
  const std::string x = R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})";
  InferRequest a, b, c;
  ASSERT_TRUE(parse(request(x), &a).isOk());
  ASSERT_TRUE(parse(request(x), &b).isOk());
  std::string longer = request(x);
  longer.replace(longer.find(R"("shape":[2,3],"datatype":"INT8","data":[1,2,3,-4,-5,127])"),
                 std::string(R"("shape":[2,3],"datatype":"INT8","data":[1,2,3,-4,-5,127])").size(),
                 R"("shape":[2,2],"datatype":"INT8","data":[1,2,3,-4])");
  ASSERT_TRUE(parse(longer, &c).isOk());
  EXPECT_EQ(a.shape_key, b.shape_key);
  EXPECT_NE(a.shape_key, c.shape_key);
}

TEST(InferJson, ReshapeGoesToTheBackendShapeAndBack) {
  runtime::ModelSpec s;
  s.name = "r";
  s.version = 1;
  s.max_batch_size = 8;
  s.inputs = {{"x", DataType::kFp32, {2, 2}, {4}, true}};
  s.outputs = {{"y", DataType::kFp32, {2, 3}, {6}, true}};
  InferRequest r;
  ASSERT_TRUE(
      parseInferRequest(
          R"({"inputs":[{"name":"x","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}]})", s, &r)
          .isOk());
  EXPECT_EQ(r.inputs[0].shape(), (runtime::Shape{1, 4}));
  std::vector<Tensor> outs;
  outs.emplace_back(DataType::kFp32, runtime::Shape{1, 6});
  std::string body;
  ASSERT_TRUE(appendInferResponse(body, s, r, outs).isOk());
  json j = json::parse(body);
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({1, 2, 3}));
}

TEST(InferJson, ResponseJson) {
  runtime::ModelSpec s = spec();
  InferRequest r;
  ASSERT_TRUE(parse(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})",
                            R"("outputs":[{"name":"b"},{"name":"y"}],)"),
                    &r)
                  .isOk());
  std::vector<Tensor> outs;
  Tensor y(DataType::kFp32, {2, 2});
  y.dataAs<float>()[0] = 0.1f;
  y.dataAs<float>()[1] = -3e38f;
  y.dataAs<float>()[2] = 1.0f / 3;
  y.dataAs<float>()[3] = std::numeric_limits<float>::quiet_NaN();
  Tensor b(DataType::kBool, {2, 1});
  b.setValue(1, 1);
  outs.push_back(std::move(y));
  outs.push_back(std::move(b));
  std::string body;
  ASSERT_TRUE(appendInferResponse(body, s, r, outs).isOk());
  EXPECT_NE(body.find("[0.1,-3e+38,0.33333334,null]"), std::string::npos) << body;
  json j = json::parse(body);
  EXPECT_EQ(j["model_name"], "m");
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_EQ(j["id"], "r1");
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["name"], "b");
  EXPECT_EQ(j["outputs"][0]["datatype"], "BOOL");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({2, 1}));
  EXPECT_EQ(j["outputs"][0]["data"], json::array({false, true}));
  EXPECT_EQ(j["outputs"][1]["name"], "y");
  EXPECT_FLOAT_EQ(j["outputs"][1]["data"][2].get<float>(), 1.0f / 3);
}

TEST(InferJson, JsonStringEscaping) {
  std::string out;
  appendJsonString(out, std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(PredictionKey, DependsOnInputsAndOutputs) {
  const std::string x = R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]})";
  InferRequest a, b, c, d;
  ASSERT_TRUE(parse(request(x), &a).isOk());
  ASSERT_TRUE(parse(request(x, R"("parameters":{"timeout":5},)"), &b).isOk());
  ASSERT_TRUE(parse(request(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,5]})"), &c)
                  .isOk());
  ASSERT_TRUE(parse(request(x, R"("outputs":[{"name":"y"}],)"), &d).isOk());
  auto s = spec();
  PredictionKey ka = predictionKey(s, a);
  EXPECT_EQ(ka, predictionKey(s, b));  // parameters are not part of the prediction
  EXPECT_NE(ka, predictionKey(s, c));
  EXPECT_NE(ka, predictionKey(s, d));
  EXPECT_EQ(ka.toString().size(), std::string("m/3/").size() + 64);  // SHA-256 hex
  EXPECT_EQ(ka.toString().rfind("m/3/", 0), 0u);
}

// --- Hostile input (issue 10): sizes are checked before anything is allocated. -----------------

runtime::ModelSpec variableSpec(DataType t = DataType::kFp32) {
  runtime::ModelSpec s;
  s.name = "v";
  s.max_batch_size = 0;
  s.inputs = {{"x", t, {-1}, {}, false}};
  s.outputs = {{"y", DataType::kFp32, {1}, {}, false}};
  return s;
}

std::string variableError(const std::string& body, size_t json_length = std::string::npos,
                          DataType t = DataType::kFp32) {
  InferRequest r;
  Status s = parseInferRequest(body, variableSpec(t), &r, json_length);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body;
  return s.message();
}

TEST(InferJsonHostile, HugeShapeWithOneElementIsRejectedBeforeAllocation) {
  // The issue's 90-byte request: a tensor of 10^12 FP32 would be 4 TB.
  std::string e = variableError(
      R"({"inputs":[{"name":"x","shape":[1000000000000],"datatype":"FP32","data":[1]}]})");
  EXPECT_NE(e.find("needs 1000000000000 elements, data has 1"), std::string::npos) << e;
  e = variableError(R"({"inputs":[{"name":"x","shape":[500000000],"datatype":"FP32","data":[1]}]})");
  EXPECT_NE(e.find("needs 500000000 elements, data has 1"), std::string::npos) << e;
}

TEST(InferJsonHostile, ShapeProductOverflowingInt64IsRejected) {
  runtime::ModelSpec s = variableSpec();
  s.inputs[0].dims = {-1, -1, -1};
  InferRequest r;
  Status st = parseInferRequest(
      R"({"inputs":[{"name":"x","shape":[4294967296,4294967296,4],"datatype":"FP32","data":[1]}]})",
      s, &r);
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("more elements than fit in 64 bits"), std::string::npos)
      << st.message();
  // A dim beyond int64 is not an integer we accept at all.
  std::string e = variableError(
      R"({"inputs":[{"name":"x","shape":[99999999999999999999],"datatype":"FP32","data":[1]}]})");
  EXPECT_NE(e.find("non-negative integers"), std::string::npos) << e;
  // A zero dim makes the product 0 however large the others are.
  st = parseInferRequest(
      R"({"inputs":[{"name":"x","shape":[0,9223372036854775807,9223372036854775807],)"
      R"("datatype":"FP32","data":[]}]})",
      s, &r);
  EXPECT_TRUE(st.isOk()) << st.message();
}

TEST(InferJsonHostile, MismatchedCountsAreRejected) {
  EXPECT_NE(variableError(R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[[1],[2]]}]})")
                .find("needs 3 elements, data has 2"),
            std::string::npos);
  EXPECT_NE(variableError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1,2]}]})")
                .find("needs 1 elements, data has 2"),
            std::string::npos);
  // Nesting is bounded.
  std::string deep(100, '[');
  deep += "1" + std::string(100, ']');
  EXPECT_NE(variableError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":)" + deep +
                          "}]}")
                .find("nesting too deep"),
            std::string::npos);
}

TEST(InferJsonHostile, BinarySizesMustMatchTheShape) {
  std::string json =
      R"({"inputs":[{"name":"x","shape":[1000000000000],"datatype":"FP32","parameters":{"binary_data_size":4}}]})";
  std::string e = variableError(json + std::string(4, '\0'), json.size());
  EXPECT_NE(e.find("bytes of binary data, got 4"), std::string::npos) << e;
  // Overflow of count * element size.
  json =
      R"({"inputs":[{"name":"x","shape":[4611686018427387905],"datatype":"FP32","parameters":{"binary_data_size":4}}]})";
  e = variableError(json + std::string(4, '\0'), json.size());
  EXPECT_NE(e.find("more than 2^64 bytes"), std::string::npos) << e;
  // binary_data_size past the body.
  json =
      R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":18446744073709551615}}]})";
  e = variableError(json + std::string(4, '\0'), json.size());
  EXPECT_NE(e.find("goes past the end of the body"), std::string::npos) << e;
  // BYTES: every element needs at least its 4-byte length.
  json =
      R"({"inputs":[{"name":"x","shape":[1000000000],"datatype":"BYTES","parameters":{"binary_data_size":8}}]})";
  e = variableError(json + std::string(8, '\0'), json.size(), DataType::kBytes);
  EXPECT_NE(e.find("needs at least 1000000000 BYTES elements"), std::string::npos) << e;
  // A BYTES element length past its data.
  json =
      R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":4}}]})";
  e = variableError(json + std::string("\xff\xff\xff\xff", 4), json.size(), DataType::kBytes);
  EXPECT_NE(e.find("ends inside an element"), std::string::npos) << e;
}

TEST(InferJsonHostile, MalformedJsonAndInvalidUtf8AreRejected) {
  for (std::string bad : {std::string(R"({"inputs":[]} x)"), std::string(R"({"x":01})"),
                          std::string(R"({"inputs":[1.]})"), std::string("{\"id\":\"\xff\"}"),
                          std::string("{\"id\":\"\xed\xa0\x80\"}"),
                          std::string(R"({"id":"\ud800"})"), std::string("{\"id\":\"a\nb\"}"),
                          std::string(R"({"id":"\q"})"), std::string(R"({"a":tru})"),
                          std::string(""), std::string("{"), std::string(R"({"a" 1})")}) {
    InferRequest r;
    Status s = parseInferRequest(bad, variableSpec(), &r);
    EXPECT_NE(s.message().find("malformed JSON"), std::string::npos) << bad << ": " << s.message();
  }
  // Escapes decode, surrogate pairs included.
  InferRequest r;
  Status s = parseInferRequest(
      R"({"id":"a\u00e9\ud83d\ude00\n","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e-400]}]})",
      variableSpec(), &r);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(r.id, "a\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(r.inputs[0].dataAs<float>()[0], 0.0f);
  EXPECT_NE(variableError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e400]}]})")
                .find("not a valid FP32"),
            std::string::npos);
}

TEST(InferJsonHostile, DataBeforeShapeStillWorks) {
  InferRequest r;
  Status s = parseInferRequest(
      R"({"inputs":[{"data":[[1,2]],"datatype":"FP32","shape":[2],"name":"x"}]})", variableSpec(),
      &r);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(r.inputs[0].dataAs<float>()[1], 2.0f);
}

TEST(InferJsonHostile, JsonStringsAreAlwaysValidUtf8) {
  std::string out;
  appendJsonString(out, std::string("a\xff\xfe\n\x01\xc3\xa9\xed\xa0\x80", 10));
  EXPECT_EQ(out, "\"a\xEF\xBF\xBD\xEF\xBF\xBD\\n\\u0001\xc3\xa9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  json j = json::parse(out);  // nlohmann rejects invalid UTF-8
  EXPECT_EQ(j.get<std::string>().substr(0, 1), "a");
}

struct BytesOutputCase {
  runtime::ModelSpec spec;
  std::vector<Tensor> outs;
  BytesOutputCase() {
    spec = variableSpec();
    spec.outputs = {{"t", DataType::kBytes, {2}, {}, false}, {"y", DataType::kFp32, {1}, {}, false}};
    Tensor t(DataType::kBytes, {2});
    t.strings() = {"ok", std::string("\xff\x00z", 3)};
    outs.push_back(std::move(t));
    Tensor y(DataType::kFp32, {1});
    outs.push_back(std::move(y));
  }
  StatusOr<size_t> render(const std::string& extra, std::string* body,
                          const std::string& outputs = "") {
    InferRequest r;
    std::string req = R"({)" + extra +
                      R"("inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}])" +
                      outputs + "}";
    Status s = parseInferRequest(req, spec, &r);
    EXPECT_TRUE(s.isOk()) << s.message();
    return appendInferResponse(*body, spec, r, outs);
  }
};

TEST(InferJsonHostile, NonUtf8BytesOutputWithoutBinaryIsAnErrorNamingTheOutput) {
  BytesOutputCase c;
  std::string body;
  auto n = c.render("", &body);
  ASSERT_FALSE(n.isOk());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(n.status().message().find("output 't': BYTES element 1 is not valid UTF-8"),
            std::string::npos)
      << n.status().message();
  // Refused explicitly for that output, even though the client speaks the extension elsewhere.
  body.clear();
  n = c.render("", &body,
               R"(,"outputs":[{"name":"t","parameters":{"binary_data":false}},)"
               R"({"name":"y","parameters":{"binary_data":true}}])");
  EXPECT_FALSE(n.isOk());
}

TEST(InferJsonHostile, NonUtf8BytesOutputGoesBinaryWhenTheClientAcceptsIt) {
  BytesOutputCase c;
  std::string body;
  // The client asked for another output as binary: it speaks the extension.
  auto n = c.render("", &body, R"(,"outputs":[{"name":"t"},{"name":"y","parameters":{"binary_data":true}}])");
  ASSERT_TRUE(n.isOk()) << n.status().message();
  ASSERT_GT(*n, 0u);
  json j = json::parse(body.substr(0, *n));
  EXPECT_EQ(j["outputs"][0]["name"], "t");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 4 + 2 + 4 + 3);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(body.substr(*n, 13), std::string("\x02\x00\x00\x00ok\x03\x00\x00\x00\xff\x00z", 13));
  // binary_data_output: true.
  body.clear();
  n = c.render(R"("parameters":{"binary_data_output":true},)", &body);
  ASSERT_TRUE(n.isOk()) << n.status().message();
  // Valid UTF-8 BYTES stay JSON strings.
  c.outs[0].strings()[1] = "w\xc3\xb6rld";
  body.clear();
  n = c.render("", &body);
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(json::parse(body)["outputs"][0]["data"][1], "w\xc3\xb6rld");
}


TEST(InferJsonHostile, NumbersParseExactlyAsStrtod) {
  // The reader's fast path (<= 15 digits, 10^+-22) and its from_chars fallback against strtod.
  std::vector<std::string> tokens = {"0", "-0", "1", "-1", "0.5", "0.000123", "123.456e-7",
                                     "1e22", "1e23", "9007199254740993", "123456789012345",
                                     "1234567890123456", "0.1", "2.2250738585072014e-308",
                                     "4.9e-324", "1.7976931348623157e308", "1e-400", "100.0",
                                     "1E+2", "0.30000000000000004", "-12.5e-3", "0e999"};
  uint64_t x = 88172645463325252ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  char buf[64];
  for (int i = 0; i < 3000; ++i) {
    double v = static_cast<double>(next() % 2000001) / static_cast<double>(1 + next() % 100000);
    const char* fmt[] = {"%.17g", "%.3f", "%.6e", "%.15g", "%g"};
    std::snprintf(buf, sizeof buf, fmt[i % 5], (next() & 1) ? -v : v);
    tokens.push_back(buf);
  }
  std::string data;
  for (const auto& t : tokens) data += (data.empty() ? "" : ",") + t;
  runtime::ModelSpec s = variableSpec(DataType::kFp64);
  InferRequest r;
  Status st = parseInferRequest(R"({"inputs":[{"name":"x","shape":[)" +
                                    std::to_string(tokens.size()) +
                                    R"(],"datatype":"FP64","data":[)" + data + "]}]}",
                                s, &r);
  ASSERT_TRUE(st.isOk()) << st.message();
  for (size_t i = 0; i < tokens.size(); ++i) {
    double want = std::strtod(tokens[i].c_str(), nullptr);
    double got = r.inputs[0].dataAs<double>()[i];
    EXPECT_EQ(std::memcmp(&want, &got, sizeof want), 0) << tokens[i] << ": " << got;
  }
}

}  // namespace
}  // namespace surge::serving
