// `surge predict` in-process: runPredict with captured stdout/stderr (no surge binary needed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace surge::cli {
namespace {

struct CliResult {
  int code = 0;
  std::string out;
  std::string err;
};

CliResult run(const std::vector<std::string>& args) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  CliResult r;
  r.code = runPredict(args);
  std::fflush(stdout);
  r.out = testing::internal::GetCapturedStdout();
  r.err = testing::internal::GetCapturedStderr();
  return r;
}

class PredictCliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One file per process: ctest runs each test in its own process, in parallel, and every
    // process's TearDownTestSuite removes its file.
    trace_ = new std::string(testing::TempDir() + "/surge_predict_cli_trace." +
                             std::to_string(::getpid()) + ".csv");
    CliResult r = run({"synth", "--days", "9", "--step", "60s", "--seed", "3", "--out", *trace_});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    std::remove(trace_->c_str());
    delete trace_;
  }
  static std::string* trace_;
};
std::string* PredictCliTest::trace_ = nullptr;

TEST_F(PredictCliTest, ForecastPrintsReplicasLikeTheSeed) {
  CliResult r = run({"--history", *trace_, "--at", "+10m", "--rps-per-replica", "100"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("History: 12960 samples from 2026-01-05T00:00:00Z"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Recommended replicas for 2026-01-14T00:09:00Z: "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(+10m after the last sample)"), std::string::npos) << r.out;
}

TEST_F(PredictCliTest, JsonIsConsistent) {
  CliResult r = run({"--history", *trace_, "--at", "2026-01-14T14:00:00Z", "--rps-per-replica=50",
               "--min-replicas", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const double forecast = j["forecast_rps"];
  const double sized = j["forecast_quantile_rps"];
  EXPECT_GT(forecast, 300);  // a weekday afternoon of a 500 rps base
  EXPECT_EQ(j["quantile"], 0.9);
  EXPECT_GT(sized, forecast);  // the replicas are sized for the upper quantile
  EXPECT_EQ(j["replicas"], std::max(3, static_cast<int>(std::ceil(sized / 50))));
  EXPECT_EQ(j["at_unix"], 1768399200);
  EXPECT_EQ(j["model"]["kind"], "combination");
  EXPECT_EQ(j["model"]["harmonic_kind"], "seasonal_regression");
  EXPECT_EQ(j["model"]["bands"].size(), 4u);
  // --quantile 0.5 sizes for the point forecast.
  r = run({"--history", *trace_, "--at", "2026-01-14T14:00:00Z", "--rps-per-replica=50",
           "--quantile", "0.5", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["forecast_quantile_rps"].get<double>(), forecast);
  EXPECT_EQ(j["history"]["samples"], 12960);
}

TEST_F(PredictCliTest, EvaluatePrintsBothMapes) {
  CliResult r = run({"evaluate", "--history", *trace_, "--holdout-days", "1", "--horizon", "1h"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("seasonal naive (same time last week)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Scored 1440 held-out samples"), std::string::npos) << r.out;
  CliResult j = run({"evaluate", "--history", *trace_, "--holdout-days", "1", "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_LT(doc["model"]["mape"].get<double>(), doc["seasonal_naive"]["mape"].get<double>());
}

TEST_F(PredictCliTest, EvaluateComparesBaselinesAtFourHorizons) {
  const std::string shaped = *trace_ + ".weekly.csv";
  CliResult s = run({"synth", "--shape", "weekly", "--days", "21", "--step", "5m", "--out", shaped});
  ASSERT_EQ(s.code, 0) << s.err;
  CliResult r = run({"evaluate", "--history", shaped});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("last week"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("combination"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("q90 coverage"), std::string::npos) << r.out;
  for (const char* h : {"\n  10m ", "\n  1h ", "\n  1d ", "\n  7d "}) {
    EXPECT_NE(r.out.find(h), std::string::npos) << h << "\n" << r.out;
  }
  CliResult j = run({"evaluate", "--history", shaped, "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  auto rows = doc["comparison"]["horizons"];
  ASSERT_EQ(rows.size(), 4u) << j.out;
  for (const auto& row : rows) EXPECT_GT(row["combination"]["scored"].get<int>(), 1000) << row;
  const auto& hourly = doc["comparison"]["hourly_from_split"];
  EXPECT_GT(hourly["combination"]["scored"].get<int>(), 160) << hourly;
  rows.push_back(hourly);  // every held-out hour from the split alone: at or below as well
  for (const auto& row : rows) {
    EXPECT_LE(row["combination"]["mape"].get<double>(),
              std::min(row["same_time_last_week"]["mape"].get<double>(),
                       row["same_time_last_day_of_kind"]["mape"].get<double>()))
        << row;
  }
  std::remove(shaped.c_str());
}

TEST_F(PredictCliTest, ClearErrors) {
  CliResult r = run({"--history", "/nonexistent/t.csv", "--at", "+1m", "--rps-per-replica", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent/t.csv"), std::string::npos) << r.err;

  const std::string bad =
      testing::TempDir() + "/surge_predict_cli_bad." + std::to_string(::getpid()) + ".csv";
  {
    std::ofstream out(bad);
    out << "timestamp,rps\n1767571200,10\n1767571215,lots\n";
  }
  r = run({"--history", bad, "--at", "+1m", "--rps-per-replica", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(bad + ":3: rps:"), std::string::npos) << r.err;
  std::remove(bad.c_str());

  r = run({"--history", *trace_, "--at", "+1m", "--rps-per-replca", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--rps-per-replca' (did you mean '--rps-per-replica'?)"),
            std::string::npos)
      << r.err;
  for (const char* v : {"0", "-5", "abc"}) {
    r = run({"--history", *trace_, "--at", "+1m", "--rps-per-replica", v});
    EXPECT_EQ(r.code, 2) << v;
    EXPECT_NE(r.err.find("--rps-per-replica"), std::string::npos) << r.err;
  }
  r = run({"--history", *trace_, "--at", "tomorrow", "--rps-per-replica", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--at:"), std::string::npos) << r.err;
  r = run({"--history", *trace_, "--rps-per-replica", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--at TIME is required"), std::string::npos) << r.err;
  r = run({"synth", "--days", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--days"), std::string::npos) << r.err;
  r = run({"synth", "--shape", "weekley"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean 'weekly'"), std::string::npos) << r.err;
  r = run({"synth", "--holidays", "3,x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--holidays: 'x' is not a day number"), std::string::npos) << r.err;
  r = run({"--history", *trace_, "--at", "+1m", "--rps-per-replica", "1", "--quantile", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--quantile"), std::string::npos) << r.err;
  r = run({"evalute"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean 'evaluate'"), std::string::npos) << r.err;
  r = run({"evaluate", "--history", *trace_, "--holdout-days", "30"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("whole history"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace surge::cli
