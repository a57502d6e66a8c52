#include "serving/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/builtin_backends.h"
#include "serving/model_config.pb.h"
#include "serving/model_repository.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;

// A Triton config with dynamic batching and two KIND_GPU instance groups, as users write it.
constexpr const char* kSeedSnippet = R"(# config.pbtxt
dynamic_batching {
  preferred_batch_size: [ 8, 16, 32, 64 ]
  max_queue_delay_microseconds: 5000
}

instance_group [
  {
    count: 2
    kind: KIND_GPU
    gpus: [ 0 ]
  },
  {
    count: 2
    kind: KIND_GPU
    gpus: [ 1 ]
  }
]
)";

constexpr const char* kTensors = R"(
backend: "synthetic"
max_batch_size: 64
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
)";

class ModelConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime::registerBuiltinBackends(backends_); }
  StatusOr<ModelConfig> load(const std::string& text, const std::string& dir = "m") {
    return loadModelConfig(text, "m/config.pbtxt", dir, backends_);
  }
  std::string errorOf(const std::string& text) {
    auto c = load(text);
    EXPECT_FALSE(c.isOk()) << text;
    return c.status().message();
  }
  runtime::BackendRegistry backends_;
};

TEST_F(ModelConfigTest, SeedSnippetParsesAsWritten) {
  pb::ModelConfig m;
  Status s = parseModelConfigText(kSeedSnippet, "config.pbtxt", &m);
  ASSERT_TRUE(s.isOk()) << s.message();
  ASSERT_EQ(m.dynamic_batching().preferred_batch_size_size(), 4);
  EXPECT_EQ(m.dynamic_batching().preferred_batch_size(3), 64);
  EXPECT_EQ(m.dynamic_batching().max_queue_delay_microseconds(), 5000u);
  ASSERT_EQ(m.instance_group_size(), 2);
  EXPECT_EQ(m.instance_group(1).count(), 2);
  EXPECT_EQ(m.instance_group(1).kind(), pb::ModelInstanceGroup::KIND_GPU);
  EXPECT_EQ(m.instance_group(1).gpus(0), 1);
}

TEST_F(ModelConfigTest, SeedSnippetFailsToLoadOnKindGpuWithAClearError) {
  std::string text = std::string(kSeedSnippet) + kTensors;
  std::string e = errorOf(text);
  EXPECT_NE(e.find("m/config.pbtxt:10:5: instance_group KIND_GPU: no GPU available"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("m/config.pbtxt:15:5: instance_group KIND_GPU"), std::string::npos) << e;
  EXPECT_NE(e.find("CPU-only"), std::string::npos) << e;
}

TEST_F(ModelConfigTest, SeedSnippetOnCpuLoads) {
  std::string text = std::string(kSeedSnippet) + kTensors;
  for (size_t p; (p = text.find("KIND_GPU")) != std::string::npos;) text.replace(p, 8, "KIND_CPU");
  for (size_t p; (p = text.find("gpus: [ 0 ]")) != std::string::npos;) text.erase(p, 11);
  for (size_t p; (p = text.find("gpus: [ 1 ]")) != std::string::npos;) text.erase(p, 11);
  auto c = load(text);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->instances().size(), 4u);
  EXPECT_EQ(c->instances()[2].name, "m_1_0");
  EXPECT_EQ(c->preferredBatchSizes(), (std::vector<int64_t>{8, 16, 32, 64}));
  EXPECT_EQ(c->dynamic_batching->max_queue_delay, 5ms);
}

TEST_F(ModelConfigTest, KindAutoWithoutGpuRunsOnCpu) {
  auto c = load(std::string(kTensors) + "instance_group { count: 3 kind: KIND_AUTO gpus: [0] }");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_EQ(c->instance_groups.size(), 1u);
  EXPECT_EQ(c->instance_groups[0].kind, InstanceKind::kCpu);
  EXPECT_EQ(c->instances().size(), 3u);
  EXPECT_EQ(c->instances()[0].device, runtime::DeviceKind::kCpu);
}

TEST_F(ModelConfigTest, FullConfigIsTyped) {
  auto c = load(R"(
name: "m"
backend: "synthetic"
max_batch_size: 16
input [
  { name: "a" data_type: TYPE_INT64 dims: [ -1 ] },
  { name: "b" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } }
]
output { name: "y" data_type: TYPE_FP16 dims: [ 2, 3 ] reshape { shape: [ 6 ] } }
dynamic_batching {
  preferred_batch_size: [ 8, 4 ]
  max_queue_delay_microseconds: 100
  default_queue_policy {
    timeout_action: DELAY
    default_timeout_microseconds: 2000
    allow_timeout_override: true
    max_queue_size: 32
  }
}
version_policy: { latest { num_versions: 2 } }
parameters { key: "base_latency_us" value: { string_value: "5000" } }
parameters: { key: "per_item_latency_us" value { string_value: "50" } }
)");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const auto& s = c->spec;
  EXPECT_EQ(s.name, "m");
  EXPECT_EQ(s.backend, "synthetic");
  EXPECT_EQ(s.max_batch_size, 16);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].dtype, runtime::DataType::kInt64);
  EXPECT_EQ(s.inputs[0].dims, (runtime::Shape{-1}));
  EXPECT_EQ(s.inputs[1].dtype, runtime::DataType::kBytes);
  EXPECT_TRUE(s.inputs[1].has_reshape);
  EXPECT_TRUE(s.inputs[1].reshape.empty());
  EXPECT_EQ(s.outputs[0].backendDims(), (runtime::Shape{6}));
  ASSERT_TRUE(c->dynamic_batching.has_value());
  EXPECT_EQ(c->dynamic_batching->preferred_batch_sizes, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(c->dynamic_batching->max_queue_delay, 100us);
  const QueuePolicy& q = c->dynamic_batching->queue_policy;
  EXPECT_EQ(q.timeout_action, TimeoutAction::kDelay);
  EXPECT_EQ(q.default_timeout, 2ms);
  EXPECT_TRUE(q.allow_timeout_override);
  EXPECT_EQ(q.max_queue_size, 32u);
  EXPECT_EQ(c->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(c->version_policy.num_versions, 2);
  EXPECT_EQ(s.parameters.at("base_latency_us"), "5000");
  EXPECT_EQ(c->instances().size(), 1u);  // default: one CPU instance
}

TEST_F(ModelConfigTest, PlatformAloneFindsTheBackendOrFails) {
  std::string e = errorOf(R"(
platform: "tensorrt_plan"
max_batch_size: 1
input { name: "x" data_type: TYPE_FP32 dims: [1] }
output { name: "y" data_type: TYPE_FP32 dims: [1] }
)");
  EXPECT_NE(e.find("m/config.pbtxt:2:1: unknown platform 'tensorrt_plan'"), std::string::npos) << e;
}

TEST_F(ModelConfigTest, UnknownFieldIsAnErrorWithLineAndColumn) {
  std::string e =
      errorOf(std::string(kTensors) + "dynamic_batching {\n  max_queue_delay_us: 5\n}\n");
  EXPECT_NE(e.find("m/config.pbtxt:7:"), std::string::npos) << e;
  EXPECT_NE(e.find("max_queue_delay_us"), std::string::npos) << e;
}

TEST_F(ModelConfigTest, BadEnumValueIsAnErrorWithLineAndColumn) {
  std::string e = errorOf(std::string(kTensors) + "instance_group { kind: KIND_TPU }\n");
  EXPECT_NE(e.find("m/config.pbtxt:6:"), std::string::npos) << e;
  EXPECT_NE(e.find("KIND_TPU"), std::string::npos) << e;
}

TEST_F(ModelConfigTest, SyntaxErrorIsAnErrorWithLineAndColumn) {
  std::string e = errorOf("backend: \"synthetic\"\nmax_batch_size: 8\ninput [ { name: \"x\" ]\n");
  EXPECT_EQ(e.rfind("m/config.pbtxt:3:", 0), 0u) << e;
}

TEST_F(ModelConfigTest, WrongValueTypeIsAnError) {
  std::string e = errorOf("backend: \"synthetic\"\nmax_batch_size: \"eight\"\n");
  EXPECT_EQ(e.rfind("m/config.pbtxt:2:", 0), 0u) << e;
}

TEST_F(ModelConfigTest, SemanticErrorsAllReportedWithPositions) {
  std::string e = errorOf(R"(name: "other"
backend: "synthetic"
max_batch_size: 8
input [
  { name: "x" data_type: TYPE_FP32 dims: [ 0 ] },
  { name: "x" data_type: TYPE_FP32 dims: [ 2 ] }
]
output { name: "y" dims: [ 2 ] reshape { shape: [ 3 ] } }
dynamic_batching { preferred_batch_size: [ 4, 16, 4 ] }
instance_group { count: -1 kind: KIND_CPU gpus: [ 0 ] }
)");
  const char* want[] = {
      "m/config.pbtxt:1:1: name 'other' does not match the model directory 'm'",
      "m/config.pbtxt:5:36: input 'x': dims must be positive or -1",
      "m/config.pbtxt:6:5: duplicate input 'x'",
      "m/config.pbtxt:8:1: output 'y': data_type is required",
      "m/config.pbtxt:8:32: output 'y': reshape [3] has 3 elements, dims [2] have 2",
      "m/config.pbtxt:9:20: preferred_batch_size 16 is outside [1, max_batch_size 8]",
      "m/config.pbtxt:9:20: duplicate preferred_batch_size 4",
      "m/config.pbtxt:10:18: count must be >= 0",
      "m/config.pbtxt:10:43: gpus can only be set with KIND_GPU or KIND_AUTO",
  };
  for (const char* w : want) EXPECT_NE(e.find(w), std::string::npos) << w << "\n---\n" << e;
}

TEST_F(ModelConfigTest, SizeLimitsAreCheckedAtLoadWithPositions) {
  // The issue's configs: max_batch_size at INT32_MAX (aborted warm-up), huge output dims (hung
  // warm-up), dims whose product overflows int64 (loaded and reported ready).
  std::string e = errorOf(R"(backend: "synthetic"
max_batch_size: 2147483647
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
)");
  EXPECT_NE(e.find("m/config.pbtxt:2:1: max_batch_size must be in [0, 1048576], got 2147483647"),
            std::string::npos)
      << e;
  e = errorOf(R"(backend: "synthetic"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 100000, 100000 ] } ]
)");
  EXPECT_NE(e.find("m/config.pbtxt:4:43: output 'y': dims [100000, 100000] x max_batch_size 8 x "
                   "4 bytes is too large (at most 1 GiB per tensor)"),
            std::string::npos)
      << e;
  e = errorOf(R"(backend: "synthetic"
input [ { name: "x" data_type: TYPE_STRING dims: [ 4294967296, 4294967296, 4294967296 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
)");
  EXPECT_NE(e.find("m/config.pbtxt:2:44: input 'x': dims [4294967296, 4294967296, 4294967296] x "
                   "32 bytes per BYTES element is too large"),
            std::string::npos)
      << e;
  e = errorOf(R"(backend: "synthetic"
max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] reshape { shape: [ 9223372036854775807 ] } } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
)");
  EXPECT_NE(e.find("input 'x': reshape [9223372036854775807] x max_batch_size 4"),
            std::string::npos)
      << e;
  // At the limits: loads.
  EXPECT_TRUE(load(R"(backend: "synthetic"
max_batch_size: 1048576
input [ { name: "x" data_type: TYPE_FP32 dims: [ 256 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
)")
                  .status()
                  .message()
                  .find("too large") == std::string::npos);
  EXPECT_TRUE(load(R"(backend: "synthetic"
max_batch_size: 1048576
input [ { name: "x" data_type: TYPE_FP32 dims: [ 256 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
)")
                  .isOk());
}

TEST_F(ModelConfigTest, DynamicBatchingNeedsABatchingModel) {
  std::string e = errorOf(R"(backend: "synthetic"
input { name: "x" data_type: TYPE_FP32 dims: [1] }
output { name: "y" data_type: TYPE_FP32 dims: [1] }
dynamic_batching { }
)");
  EXPECT_NE(e.find("m/config.pbtxt:4:1: dynamic_batching needs max_batch_size > 0"),
            std::string::npos)
      << e;
}

TEST_F(ModelConfigTest, BackendParameterErrorsPointAtTheParameter) {
  std::string e = errorOf(std::string(kTensors) +
                          R"(parameters { key: "base_latency_us" value { string_value: "5" } }
parameters { key: "per_item_latency" value { string_value: "5" } }
)");
  EXPECT_NE(e.find("m/config.pbtxt:7:1: backend 'synthetic': unknown parameter 'per_item_latency'"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("did you mean 'per_item_latency_us'"), std::string::npos) << e;
}

TEST_F(ModelConfigTest, VersionPolicies) {
  auto all = load(std::string(kTensors) + "version_policy { all {} }");
  ASSERT_TRUE(all.isOk()) << all.status().message();
  EXPECT_EQ(all->version_policy.kind, VersionPolicy::Kind::kAll);
  auto sp = load(std::string(kTensors) + "version_policy { specific { versions: [2, 5] } }");
  ASSERT_TRUE(sp.isOk());
  EXPECT_EQ(sp->version_policy.versions, (std::vector<int64_t>{2, 5}));
  EXPECT_NE(errorOf(std::string(kTensors) + "version_policy { specific { versions: [0] } }")
                .find("versions must be >= 1"),
            std::string::npos);

  std::vector<int64_t> present = {1, 2, 3};
  EXPECT_EQ(*selectVersions({}, present, "m"), (std::vector<int64_t>{3}));
  VersionPolicy two;
  two.num_versions = 2;
  EXPECT_EQ(*selectVersions(two, present, "m"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*selectVersions(all->version_policy, present, "m"), present);
  EXPECT_FALSE(selectVersions(sp->version_policy, present, "m").isOk());  // 5 is missing
  EXPECT_FALSE(selectVersions({}, {}, "m").isOk());
}

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::registerBuiltinBackends(backends_);
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-repo-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void model(const std::string& name, const std::string& config,
             std::vector<std::string> versions) {
    std::filesystem::create_directories(dir_ / name);
    if (!config.empty()) std::ofstream(dir_ / name / "config.pbtxt") << config;
    for (const auto& v : versions) std::filesystem::create_directories(dir_ / name / v);
  }
  runtime::BackendRegistry backends_;
  std::filesystem::path dir_;
};

TEST_F(RepositoryTest, LoadsEveryModelWithItsNewestVersion) {
  model("beta", kTensors, {"1", "3", "10", "latest", "03"});
  model("alpha", std::string(kTensors) + "version_policy { all {} }", {"1", "2"});
  model(".hidden", "garbage", {"1"});
  std::ofstream(dir_ / "README") << "not a model";
  auto repo = loadRepository(dir_.string(), backends_);
  ASSERT_TRUE(repo.isOk()) << repo.status().message();
  ASSERT_EQ(repo->size(), 2u);
  EXPECT_EQ((*repo)[0].config.spec.name, "alpha");
  EXPECT_EQ((*repo)[0].versions, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*repo)[1].config.spec.name, "beta");
  EXPECT_EQ((*repo)[1].versions, (std::vector<int64_t>{10}));
  EXPECT_EQ((*repo)[1].config.spec.model_dir, (dir_ / "beta").string());
}

TEST_F(RepositoryTest, ReportsEveryBrokenModel) {
  model("nocfg", "", {"1"});
  model("noversion", kTensors, {});
  model("bad", "max_batch_size: oops", {"1"});
  model("good", kTensors, {"1"});
  auto repo = loadRepository(dir_.string(), backends_);
  ASSERT_FALSE(repo.isOk());
  const std::string& e = repo.status().message();
  EXPECT_NE(e.find("nocfg: missing config.pbtxt"), std::string::npos) << e;
  EXPECT_NE(e.find("noversion: no version folder"), std::string::npos) << e;
  EXPECT_NE(e.find("bad/config.pbtxt:1:17"), std::string::npos) << e;
  EXPECT_EQ(e.find("good"), std::string::npos) << e;
}

TEST_F(RepositoryTest, EmptyOrMissingRepository) {
  EXPECT_EQ(loadRepository(dir_.string(), backends_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(loadRepository((dir_ / "nope").string(), backends_).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace surge::serving
