// modelConfigJson against the JSON Triton answers for the same config.pbtxt (GET .../config):
// Triton's field names, defaults, enum names and 64-bit integers as JSON numbers.
#include "serving/model_config_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/builtin_backends.h"

namespace surge::serving {
namespace {

using nlohmann::json;

class ModelConfigJsonTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime::registerBuiltinBackends(backends_); }

  json render(const std::string& text, const std::string& name) {
    auto c = loadModelConfig(text, name + "/config.pbtxt", name, backends_);
    EXPECT_TRUE(c.isOk()) << c.status().message();
    if (!c.isOk()) return json();
    std::string out = modelConfigJson(*c);
    json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
  }

  runtime::BackendRegistry backends_;
};

// Fields every rendered tensor / group carries at their protobuf defaults.
json input(const std::string& name, const std::string& type, json dims) {
  return {{"name", name},
          {"data_type", type},
          {"format", "FORMAT_NONE"},
          {"dims", dims},
          {"is_shape_tensor", false},
          {"allow_ragged_batch", false},
          {"optional", false},
          {"is_non_linear_format_io", false}};
}

json output(const std::string& name, const std::string& type, json dims) {
  return {{"name", name},
          {"data_type", type},
          {"dims", dims},
          {"label_filename", ""},
          {"is_shape_tensor", false},
          {"is_non_linear_format_io", false}};
}

json group(const std::string& name, const std::string& kind, int count) {
  return {{"name", name},           {"kind", kind},         {"count", count},
          {"gpus", json::array()},  {"secondary_devices", json::array()},
          {"profile", json::array()}, {"passive", false},   {"host_policy", ""}};
}

// Triton's NormalizeModelConfig always adds pinned input/output memory; the printer adds the
// scalar defaults and leaves the unset messages (graph, cuda, execution_accelerators) out.
json optimization() {
  return {{"priority", "PRIORITY_DEFAULT"},
          {"input_pinned_memory", {{"enable", true}}},
          {"output_pinned_memory", {{"enable", true}}},
          {"gather_kernel_buffer_threshold", 0},
          {"eager_batching", false}};
}

json base(const std::string& name, int max_batch_size) {
  return {{"name", name},
          {"platform", ""},
          {"backend", "synthetic"},
          {"runtime", ""},
          {"version_policy", {{"latest", {{"num_versions", 1}}}}},
          {"max_batch_size", max_batch_size},
          {"batch_input", json::array()},
          {"batch_output", json::array()},
          {"optimization", optimization()},
          {"default_model_filename", ""},
          {"cc_model_filenames", json::object()},
          {"metric_tags", json::object()},
          {"parameters", json::object()},
          {"model_warmup", json::array()}};
}

TEST_F(ModelConfigJsonTest, BatchedWithDynamicBatching) {
  json j = render(R"(
backend: "synthetic"
max_batch_size: 64
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] reshape: { shape: [ -1, 2, 2 ] } } ]
output [ { name: "y" data_type: TYPE_STRING dims: [ 16 ] } ]
dynamic_batching {
  preferred_batch_size: [ 8, 32 ]
  max_queue_delay_microseconds: 5000
  preserve_ordering: true
  default_queue_policy { max_queue_size: 256 default_timeout_microseconds: 20000
                         timeout_action: DELAY allow_timeout_override: true }
}
instance_group [ { count: 2 kind: KIND_CPU }, { name: "extra" kind: KIND_AUTO } ]
parameters { key: "base_latency_us" value: { string_value: "5000" } }
)",
                  "mlp");
  json want = base("mlp", 64);
  json x = input("x", "TYPE_FP32", {-1, 4});
  x["reshape"] = {{"shape", {-1, 2, 2}}};
  want["input"] = {x};
  want["output"] = {output("y", "TYPE_STRING", {16})};
  want["dynamic_batching"] = {
      {"preferred_batch_size", {8, 32}},
      {"max_queue_delay_microseconds", 5000},
      {"preserve_ordering", true},
      {"priority_levels", 0},
      {"default_priority_level", 0},
      {"default_queue_policy",
       {{"timeout_action", "DELAY"},
        {"default_timeout_microseconds", 20000},
        {"allow_timeout_override", true},
        {"max_queue_size", 256}}},
      {"priority_queue_policy", json::object()}};
  want["instance_group"] = {group("mlp_0", "KIND_CPU", 2), group("extra", "KIND_CPU", 1)};
  want["parameters"] = {{"base_latency_us", {{"string_value", "5000"}}}};
  EXPECT_EQ(j, want) << j.dump(1);
  // 64-bit fields are numbers, never protobuf's strings.
  EXPECT_TRUE(j["input"][0]["dims"][0].is_number_integer());
  EXPECT_TRUE(j["dynamic_batching"]["max_queue_delay_microseconds"].is_number_integer());
}

TEST_F(ModelConfigJsonTest, DynamicBatchingDefaultsFollowTriton) {
  json j = render(R"(
backend: "synthetic"
max_batch_size: 16
input [ { name: "x" data_type: TYPE_INT64 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_INT64 dims: [ 1 ] } ]
dynamic_batching { }
)",
                  "m");
  // Triton's NormalizeModelConfig: preferred_batch_size = [max_batch_size]; no queue policy block
  // when none was written; one group named after the model when none was configured.
  EXPECT_EQ(j["dynamic_batching"],
            json({{"preferred_batch_size", {16}},
                  {"max_queue_delay_microseconds", 0},
                  {"preserve_ordering", false},
                  {"priority_levels", 0},
                  {"default_priority_level", 0},
                  {"priority_queue_policy", json::object()}}));
  EXPECT_EQ(j["instance_group"], json::array({group("m", "KIND_CPU", 1)}));
}

TEST_F(ModelConfigJsonTest, NotBatched) {
  json j = render(R"(
name: "plain"
backend: "synthetic"
input [ { name: "a" data_type: TYPE_BOOL dims: [ 2, 3 ] },
        { name: "b" data_type: TYPE_UINT8 dims: [ -1 ] } ]
output [ { name: "c" data_type: TYPE_FP64 dims: [ 1 ] } ]
)",
                  "plain");
  json want = base("plain", 0);
  want["input"] = {input("a", "TYPE_BOOL", {2, 3}), input("b", "TYPE_UINT8", {-1})};
  want["output"] = {output("c", "TYPE_FP64", {1})};
  want["instance_group"] = {group("plain", "KIND_CPU", 1)};
  EXPECT_EQ(j, want) << j.dump(1);
  EXPECT_FALSE(j.contains("dynamic_batching"));
}

TEST_F(ModelConfigJsonTest, VersionPolicies) {
  const std::string tensors = R"(
backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
)";
  EXPECT_EQ(render(tensors + "version_policy: { all { } }", "m")["version_policy"],
            json({{"all", json::object()}}));
  EXPECT_EQ(render(tensors + "version_policy: { specific { versions: [ 1, 3 ] } }",
                   "m")["version_policy"],
            json({{"specific", {{"versions", {1, 3}}}}}));
  EXPECT_EQ(render(tensors + "version_policy: { latest { num_versions: 2 } }", "m")["version_policy"],
            json({{"latest", {{"num_versions", 2}}}}));
}

TEST_F(ModelConfigJsonTest, FieldOrderAndPlatformAreTritons) {
  auto c = loadModelConfig(R"(
backend: "synthetic"
max_batch_size: 2
input [ { name: "x" data_type: TYPE_FP16 dims: [ 3 ] } ]
output [ { name: "y" data_type: TYPE_FP16 dims: [ 2 ] } ]
)",
                           "m/config.pbtxt", "m", backends_);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  std::string out = modelConfigJson(*c);
  // protobuf's printer walks Triton's declaration order (backend right after platform).
  EXPECT_EQ(out.rfind(R"({"name":"m","platform":"","backend":"synthetic","runtime":"",)"
                      R"("version_policy":{"latest":{"num_versions":1}},"max_batch_size":2,)"
                      R"("input":[{"name":"x","data_type":"TYPE_FP16","format":"FORMAT_NONE",)"
                      R"("dims":[3],)",
                      0),
            0u)
      << out;
  EXPECT_NE(out.find(R"("batch_input":[],"batch_output":[],"optimization":{"priority":)"
                     R"("PRIORITY_DEFAULT","input_pinned_memory":{"enable":true},)"
                     R"("output_pinned_memory":{"enable":true},)"
                     R"("gather_kernel_buffer_threshold":0,"eager_batching":false},)"
                     R"("instance_group":[)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("default_model_filename":"","cc_model_filenames":{},"metric_tags":{},)"
                     R"("parameters":{},"model_warmup":[]})"),
            std::string::npos);
}

TEST_F(ModelConfigJsonTest, PreferredBatchSizesKeepTheirDeclaredOrder) {
  auto c = loadModelConfig(R"(
backend: "synthetic"
max_batch_size: 32
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
dynamic_batching { preferred_batch_size: [ 16, 4, 32, 8 ] }
)",
                           "m/config.pbtxt", "m", backends_);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  // Triton answers the field as written; the batch policy keeps using the sorted sizes.
  json j = json::parse(modelConfigJson(*c));
  EXPECT_EQ(j["dynamic_batching"]["preferred_batch_size"], json({16, 4, 32, 8}));
  EXPECT_EQ(c->preferredBatchSizes(), (std::vector<int64_t>{16, 4, 32, 8}));
  EXPECT_EQ(c->dynamic_batching->preferred_batch_sizes, (std::vector<int64_t>{4, 8, 16, 32}));
}

TEST_F(ModelConfigJsonTest, KindModelIsReportedAsDeclaredAndRunsOnCpu) {
  auto c = loadModelConfig(R"(
backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
instance_group [ { count: 2 kind: KIND_MODEL }, { kind: KIND_CPU } ]
)",
                           "m/config.pbtxt", "m", backends_);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  json j = json::parse(modelConfigJson(*c));
  EXPECT_EQ(j["instance_group"],
            json::array({group("m_0", "KIND_MODEL", 2), group("m_1", "KIND_CPU", 1)}));
  auto instances = c->instances();
  ASSERT_EQ(instances.size(), 3u);
  for (const auto& i : instances) EXPECT_EQ(i.device, runtime::DeviceKind::kCpu) << i.name;
}

TEST_F(ModelConfigJsonTest, OptimizationIsAlwaysThere) {
  // Batched or not, Triton's normalized config carries the block.
  const std::string tensors = R"(
backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
)";
  EXPECT_EQ(render(tensors, "m")["optimization"], optimization());
  EXPECT_EQ(render(tensors + "max_batch_size: 4 dynamic_batching { }", "m")["optimization"],
            optimization());
}

TEST_F(ModelConfigJsonTest, StringsStayValidUtf8Json) {
  ModelConfig c;
  c.spec.name = "m\"\\\n";
  c.spec.backend = "synthetic";
  c.spec.parameters["k\xff"] = "v\x01";
  c.instance_groups.push_back({"g", 1, InstanceKind::kCpu, {}});
  json j = json::parse(modelConfigJson(c), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["name"], "m\"\\\n");
  EXPECT_EQ(j["parameters"].begin().key(), "k\xef\xbf\xbd");
}

}  // namespace
}  // namespace surge::serving
