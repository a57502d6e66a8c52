#include "loadgen/infer_body.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace surge::loadgen {
namespace {

constexpr const char* kMeta =
    R"({"name":"m","versions":["1"],"platform":"x","inputs":[)"
    R"({"name":"x","datatype":"FP32","shape":[-1,3]},{"name":"ids","datatype":"INT64","shape":[-1,2]}],)"
    R"("outputs":[]})";

TEST(InferBody, FillsBatchAndShapes) {
  auto body = buildInferBody(kMeta, 4, 7);
  ASSERT_TRUE(body.isOk()) << body.status().toString();
  auto j = nlohmann::json::parse(*body);
  ASSERT_EQ(j["inputs"].size(), 2u);
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::array({4, 3}));
  EXPECT_EQ(j["inputs"][0]["data"].size(), 12u);
  EXPECT_EQ(j["inputs"][1]["datatype"], "INT64");
  EXPECT_EQ(j["inputs"][1]["data"].size(), 8u);
  for (const auto& v : j["inputs"][0]["data"]) {
    EXPECT_GE(v.get<double>(), 0.0);
    EXPECT_LT(v.get<double>(), 1.0);
  }
}

TEST(InferBody, SeededAndDeterministic) {
  EXPECT_EQ(*buildInferBody(kMeta, 1, 3), *buildInferBody(kMeta, 1, 3));
  EXPECT_NE(*buildInferBody(kMeta, 1, 3), *buildInferBody(kMeta, 1, 4));
}

TEST(InferBody, Errors) {
  EXPECT_FALSE(buildInferBody("not json", 1, 1).isOk());
  EXPECT_FALSE(buildInferBody(R"({"inputs":[{"name":"x","datatype":"WAT","shape":[1]}]})", 1, 1)
                   .isOk());
  auto nb = buildInferBody(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2]}]})", 2, 1);
  ASSERT_FALSE(nb.isOk());
  EXPECT_NE(nb.status().message().find("--batch"), std::string::npos);
}

}  // namespace
}  // namespace surge::loadgen

#include "loadgen/server_metrics.h"

namespace surge::loadgen {
namespace {

TEST(ServerMetrics, AverageBatchFromHistogramDelta) {
  const char* before =
      "# TYPE surge_serve_batch_size histogram\n"
      "surge_serve_batch_size_bucket{model=\"m\",le=\"+Inf\"} 10\n"
      "surge_serve_batch_size_sum{model=\"m\"} 20\n"
      "surge_serve_batch_size_count{model=\"m\"} 10\n";
  const char* after =
      "# TYPE surge_serve_batch_size histogram\n"
      "surge_serve_batch_size_bucket{model=\"m\",le=\"+Inf\"} 20\n"
      "surge_serve_batch_size_sum{model=\"m\"} 60\n"
      "surge_serve_batch_size_count{model=\"m\"} 20\n";
  auto avg = averageBatch(batchTotals(before), batchTotals(after));
  ASSERT_TRUE(avg.has_value());
  EXPECT_DOUBLE_EQ(*avg, 4.0);
  EXPECT_FALSE(averageBatch(batchTotals(before), batchTotals(before)).has_value());
  EXPECT_FALSE(batchTotals("other_metric 1\n").has_value());
  EXPECT_FALSE(averageBatch(std::nullopt, batchTotals(after)).has_value());
}

}  // namespace
}  // namespace surge::loadgen
