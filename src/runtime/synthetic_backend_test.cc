#include "runtime/synthetic_backend.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "runtime/builtin_backends.h"

namespace surge::runtime {
namespace {

ModelSpec spec(int max_batch_size = 8) {
  ModelSpec s;
  s.name = "m";
  s.backend = "synthetic";
  s.max_batch_size = max_batch_size;
  s.inputs = {{"x", DataType::kFp32, {3}, {}, false}, {"flag", DataType::kBool, {1}, {}, false}};
  s.outputs = {{"y", DataType::kFp32, {2}, {}, false}, {"n", DataType::kInt64, {1}, {}, false}};
  return s;
}

ExecuteRequest batchOf(int rows) {
  ExecuteRequest r;
  r.batch_size = rows;
  Tensor x(DataType::kFp32, {rows, 3});
  for (int i = 0; i < rows * 3; ++i) x.setValue(i, i);  // row r: 3r, 3r+1, 3r+2 → 9r + 3
  Tensor f(DataType::kBool, {rows, 1});
  for (int i = 0; i < rows; ++i) f.setValue(i, i % 2);  // odd rows add 1
  r.inputs = {std::move(x), std::move(f)};
  r.outputs_wanted = {true, true};
  return r;
}

TEST(Synthetic, OutputIsRowSumPlusIndex) {
  ModelSpec s = spec();
  ExecuteRequest r = batchOf(3);
  auto out = syntheticOutputs(s, r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(out[1].shape(), (Shape{3, 1}));
  for (int row = 0; row < 3; ++row) {
    double sum = 9 * row + 3 + row % 2;
    EXPECT_EQ(out[0].valueAt(row * 2), sum) << row;
    EXPECT_EQ(out[0].valueAt(row * 2 + 1), sum + 1) << row;
    EXPECT_EQ(out[1].valueAt(row), sum) << row;
  }
}

TEST(Synthetic, RowsAreIndependentOfTheBatch) {
  // The rows of a batch are exactly the rows each request would get alone: what makes batching
  // invisible to clients.
  ModelSpec s = spec();
  auto together = syntheticOutputs(s, batchOf(4));
  ExecuteRequest one = batchOf(4);
  ExecuteRequest last;
  last.batch_size = 1;
  last.inputs = {one.inputs[0].sliceRows(3, 1), one.inputs[1].sliceRows(3, 1)};
  last.outputs_wanted = {true, true};
  auto alone = syntheticOutputs(s, last);
  EXPECT_EQ(together[0].sliceRows(3, 1), alone[0]);
  EXPECT_EQ(together[1].sliceRows(3, 1), alone[1]);
}

TEST(Synthetic, SkipsUnwantedOutputs) {
  ModelSpec s = spec();
  ExecuteRequest r = batchOf(2);
  r.outputs_wanted = {false, true};
  auto out = syntheticOutputs(s, r);
  EXPECT_EQ(out[0].dtype(), DataType::kInvalid);
  EXPECT_EQ(out[1].shape(), (Shape{2, 1}));
}

TEST(Synthetic, UnbatchedModelIsOneRow) {
  ModelSpec s = spec(0);
  ExecuteRequest r;
  r.batch_size = 1;
  Tensor x(DataType::kFp32, {3});
  x.setValue(0, 1);
  x.setValue(2, 2);
  Tensor f(DataType::kBool, {1});
  r.inputs = {std::move(x), std::move(f)};
  r.outputs_wanted = {true, false};
  auto out = syntheticOutputs(s, r);
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  EXPECT_EQ(out[0].valueAt(0), 3);
  EXPECT_EQ(out[0].valueAt(1), 4);
}

TEST(Synthetic, ParametersAreCheckedByName) {
  ModelSpec s = spec();
  s.parameters = {{"base_latency_us", "5000"}, {"per_item_latency_us", "50.5"}, {"seed", "7"}};
  auto p = parseSyntheticParams(s);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->base_latency_us, 5000);
  EXPECT_EQ(p->per_item_latency_us, 50.5);
  EXPECT_EQ(p->seed, 7u);

  s.parameters = {{"base_latency", "5"}};
  auto bad = parseSyntheticParams(s);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("did you mean 'base_latency_us'"), std::string::npos)
      << bad.status().message();
  s.parameters = {{"jitter_us", "-1"}};
  EXPECT_FALSE(parseSyntheticParams(s).isOk());
  s.parameters = {{"jitter_us", "1ms"}};
  EXPECT_FALSE(parseSyntheticParams(s).isOk());
}

TEST(Synthetic, ValidateRejectsVariableOutputDims) {
  BackendRegistry reg;
  registerBuiltinBackends(reg);
  auto b = reg.resolve("synthetic", "");
  ASSERT_TRUE(b.isOk());
  ModelSpec s = spec();
  EXPECT_TRUE((*b)->validate(s).isOk());
  s.outputs[0].dims = {-1};
  Status st = (*b)->validate(s);
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("output 'y'"), std::string::npos);
  EXPECT_EQ((*b)->gpuCount(), 0);
}

TEST(Synthetic, BatchCostIsSpentSleeping) {
  BackendRegistry reg;
  registerBuiltinBackends(reg);
  Backend* b = reg.find("synthetic");
  ASSERT_NE(b, nullptr);
  ModelSpec s = spec();
  s.parameters = {{"base_latency_us", "2000"}, {"per_item_latency_us", "1000"}};
  auto inst = b->createInstance(s, InstanceSpec{});
  ASSERT_TRUE(inst.isOk());
  ExecuteRequest r = batchOf(4);
  auto wall0 = std::chrono::steady_clock::now();
  std::clock_t cpu0 = std::clock();
  auto out = (*inst)->execute(r);
  double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  auto wall = std::chrono::steady_clock::now() - wall0;
  ASSERT_TRUE(out.isOk());
  EXPECT_GE(wall, std::chrono::microseconds(6000));  // 2 ms + 4 × 1 ms
  EXPECT_LT(cpu_ms, 3.0);                            // sleeping, not spinning
}

TEST(BackendRegistry, ResolvesByBackendOrPlatform) {
  BackendRegistry reg;
  registerBuiltinBackends(reg);
  EXPECT_TRUE(reg.resolve("synthetic", "").isOk());
  auto none = reg.resolve("", "");
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  auto unknown = reg.resolve("tensorrt", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("synthetic"), std::string::npos);
  EXPECT_EQ(reg.resolve("", "onnxruntime_onnx").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.resolve("synthetic", "pytorch_libtorch").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace surge::runtime
