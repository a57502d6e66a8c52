// `surge sim` end to end: --compare runs its configurations in parallel with the same numbers as
// a serial run (--jobs 1), in the same order; progress goes to stderr only (stdout stays clean
// JSON) and a short run prints none. Uses the example configurations (examples/sim/), shortened
// with --duration.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/process.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string example(const std::string& name) {
  return std::string(SURGE_TEST_SOURCE_DIR) + "/examples/sim/" + name;
}

class SimCompare : public ::testing::Test {
 protected:
  int sim(std::vector<std::string> args, std::string* out, const std::string& log = "sim.log") {
    args.insert(args.begin(), {surgeBinary(), "sim"});
    return runToExit(args, dir_.file(log), 120s, out);
  }
  // The summary without the run's own timings (wall and CPU time differ between any two runs).
  static json numbers(const std::string& text) {
    json j = json::parse(text);
    for (auto& r : j["runs"]) {
      r.erase("wall_seconds");
      r.erase("cpu_seconds");
      r.erase("simulated_requests_per_wall_second");
      r.erase("simulated_requests_per_cpu_second");
    }
    return j;
  }
  ScratchDir dir_{"sim-compare"};
};

TEST_F(SimCompare, ParallelRunsMatchTheSerialRun) {
  const std::vector<std::string> files = {example("hpa-defaults.yaml"), example("predictive.yaml"),
                                          example("least-connections.yaml")};
  auto args = [&](const std::string& jobs, const std::string& out_dir) {
    std::vector<std::string> a = {"--compare"};
    a.insert(a.end(), files.begin(), files.end());
    a.insert(a.end(), {"--duration", "60m", "--seed", "7", "--json", "--progress", "never",
                       "--jobs", jobs, "--out", (dir_ / out_dir).string()});
    return a;
  };
  std::string serial, parallel;
  ASSERT_EQ(sim(args("1", "serial"), &serial), 0) << readFile(dir_ / "sim.log");
  ASSERT_EQ(sim(args("3", "parallel"), &parallel), 0) << readFile(dir_ / "sim.log");
  json a = numbers(serial), b = numbers(parallel);
  ASSERT_EQ(a["runs"].size(), 3u);
  EXPECT_EQ(a["runs"][0]["name"], "hpa-defaults");  // the order of the command line
  EXPECT_EQ(a["runs"][1]["name"], "predictive");
  EXPECT_GT(a["runs"][0]["requests"].get<double>(), 100000);
  EXPECT_EQ(a, b);
  // The time series, byte for byte.
  int csvs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "serial")) {
    if (e.path().extension() != ".csv") continue;
    ++csvs;
    std::string other = readFile(dir_ / "parallel" / e.path().filename());
    EXPECT_FALSE(other.empty()) << e.path();
    EXPECT_EQ(readFile(e.path()), other) << e.path().filename();
  }
  EXPECT_EQ(csvs, 3);
  EXPECT_EQ(readFile(dir_ / "serial" / "chart.svg"), readFile(dir_ / "parallel" / "chart.svg"));
}

TEST_F(SimCompare, ProgressGoesToStderrOnlyAndNotForShortRuns) {
  std::string out;
  ASSERT_EQ(sim({"--config", example("hpa-defaults.yaml"), "--duration", "30m", "--json",
                 "--progress", "always"},
                &out, "always.log"),
            0);
  EXPECT_NO_THROW(json::parse(out)) << out;
  std::string err = readFile(dir_ / "always.log");
  EXPECT_NE(err.find("surge sim: simulated 30m00s of 30m00s (100%)"), std::string::npos) << err;
  EXPECT_NE(err.find("M req/s simulated, ETA 0s"), std::string::npos) << err;
  // auto: a run of well under two seconds prints nothing.
  ASSERT_EQ(sim({"--config", example("hpa-defaults.yaml"), "--duration", "5m"}, &out, "auto.log"),
            0);
  EXPECT_EQ(readFile(dir_ / "auto.log"), "");
  EXPECT_NE(out.find("latency p99"), std::string::npos) << out;
  // --jobs is checked like every integer flag.
  EXPECT_EQ(sim({"--config", example("hpa-defaults.yaml"), "--jobs", "-1"}, &out, "bad.log"), 2);
  EXPECT_NE(readFile(dir_ / "bad.log").find("--jobs"), std::string::npos);
}

}  // namespace
}  // namespace surge::testing
