#include "loadgen/thresholds.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loadgen/report.h"

namespace surge::loadgen {
namespace {

TEST(Thresholds, ParseErrorRateFractionsAndPercentages) {
  EXPECT_DOUBLE_EQ(*parseErrorRate("0.01"), 0.01);
  EXPECT_DOUBLE_EQ(*parseErrorRate("0"), 0);
  EXPECT_DOUBLE_EQ(*parseErrorRate("1"), 1);
  EXPECT_DOUBLE_EQ(*parseErrorRate("1%"), 0.01);
  EXPECT_DOUBLE_EQ(*parseErrorRate("0.5%"), 0.005);
  EXPECT_DOUBLE_EQ(*parseErrorRate("100%"), 1);
  for (const char* bad : {"", "%", "-0.1", "abc", "1.5", "5", "101%", "nan", "inf", "1e-2", "0x1",
                          " 0.1", "0.1 ", "+0.1", "1%%"}) {
    auto r = parseErrorRate(bad);
    EXPECT_FALSE(r.isOk()) << bad;
    if (!r.isOk()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << bad;
    }
  }
  EXPECT_NE(parseErrorRate("5").status().message().find("5%"), std::string::npos);
}

LevelResult level(uint64_t ok, uint64_t errors, double p99_s, uint64_t dropped = 0) {
  LevelResult l;
  l.mode = "closed";
  l.concurrency = 4;
  l.ok = ok;
  if (errors) l.errors[503] = errors;
  l.requests = ok + errors;
  l.dropped = dropped;
  l.p99_s = p99_s;
  return l;
}

TEST(Thresholds, ErrorRatePassesAtTheLimitAndFailsAbove) {
  Thresholds t;
  t.max_error_rate = 0.01;
  t.max_error_rate_text = "1%";
  auto at = evaluateThresholds(t, {level(99, 1, 0.01)});
  ASSERT_EQ(at.size(), 1u);
  EXPECT_TRUE(at[0].ok) << at[0].message;
  auto above = evaluateThresholds(t, {level(98, 2, 0.01)});
  ASSERT_EQ(above.size(), 1u);
  EXPECT_FALSE(above[0].ok);
  EXPECT_DOUBLE_EQ(above[0].measured, 0.02);
  EXPECT_EQ(above[0].message, "max-error-rate 1%: FAILED, measured 2.00% (2 of 100 failed)");
  // Open-loop drops count as failures.
  auto dropped = evaluateThresholds(t, {level(99, 0, 0.01, 1)});
  EXPECT_TRUE(dropped[0].ok);
  dropped = evaluateThresholds(t, {level(98, 0, 0.01, 2)});
  EXPECT_FALSE(dropped[0].ok);
}

TEST(Thresholds, P99AndNoDataAndPerLevel) {
  Thresholds t;
  t.max_p99_s = 0.25;
  t.max_p99_text = "250ms";
  auto r = evaluateThresholds(t, {level(10, 0, 0.1), level(10, 0, 0.3)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].message, "max-p99 250ms (closed c=4): FAILED, measured p99 300.0ms");
  // Nothing answered: a gate does not pass on no data.
  auto none = evaluateThresholds(t, {level(0, 0, 0)});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_FALSE(none[0].ok);
  EXPECT_NE(none[0].message.find("no request was answered"), std::string::npos);
  EXPECT_TRUE(evaluateThresholds(Thresholds{}, {level(1, 1, 1)}).empty());
}

TEST(Thresholds, ReportShowsInterruptionAndVerdicts) {
  Thresholds t;
  t.max_p99_s = 0.25;
  t.max_p99_text = "250ms";
  LevelResult l = level(10, 0, 0.3);
  l.interrupted = true;
  RunOutcome outcome;
  outcome.interrupted = true;
  outcome.signal = "SIGINT";
  outcome.elapsed_s = 3.25;
  outcome.thresholds = evaluateThresholds(t, {l});
  std::string table = formatTable({l}, outcome);
  EXPECT_NE(table.find("(interrupted)\n"), std::string::npos) << table;
  EXPECT_NE(table.find("interrupted by SIGINT after 3.2 s: partial results"), std::string::npos)
      << table;
  EXPECT_NE(table.find("threshold max-p99 250ms: FAILED, measured p99 300.0ms"), std::string::npos)
      << table;
  auto j = nlohmann::json::parse(toJson(RunConfig{}, {l}, outcome));
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["signal"], "SIGINT");
  EXPECT_DOUBLE_EQ(j["elapsed_s"].get<double>(), 3.25);
  EXPECT_EQ(j["levels"][0]["interrupted"], true);
  ASSERT_EQ(j["thresholds"].size(), 1u);
  EXPECT_EQ(j["thresholds"][0]["ok"], false);
  EXPECT_DOUBLE_EQ(j["thresholds"][0]["measured"].get<double>(), 0.3);
}

}  // namespace
}  // namespace surge::loadgen
