// Runs the real `surge plan` binary (SURGE_BIN, set by ctest) and checks its JSON, table and
// errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/process.h"

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string tempDir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/surge-plan-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `surge plan ARGS...` to its exit (bounded: killed and failed after 60 s).
Outcome runPlan(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {surge::testing::surgeBinary(), "plan"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string err = tempDir() + "/err";
  Outcome r;
  r.exit_code = surge::testing::runToExit(argv, err, std::chrono::seconds(60), &r.out);
  r.err = slurp(err);
  return r;
}

std::set<std::string> keysOf(const nlohmann::json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

TEST(PlanCli, WorkedExampleJson) {
  Outcome r = runPlan({"--peak-rps", "5000", "--instance-rps", "200", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(keysOf(j), (std::set<std::string>{"classic_formula", "cost"}));
  const auto& s = j["classic_formula"];
  EXPECT_EQ(keysOf(s),
            (std::set<std::string>{"base_replicas", "spike_headroom_replicas",
                                   "redundancy_replicas", "failure_buffer_replicas",
                                   "total_replicas", "monthly_cost", "cost_per_million_requests"}));
  EXPECT_EQ(s["total_replicas"], 32);
  EXPECT_EQ(s["monthly_cost"], 2304.0);
}

TEST(PlanCli, AllSectionsWithExactKeys) {
  Outcome r = runPlan({"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "5ms",
                       "--latency-target", "50ms", "--replica-availability", "0.99", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(keysOf(j), (std::set<std::string>{"classic_formula", "littles_law", "queueing",
                                              "availability", "cost"}));
  EXPECT_EQ(keysOf(j["littles_law"]),
            (std::set<std::string>{"concurrency", "min_stable_replicas"}));
  EXPECT_EQ(j["littles_law"]["concurrency"], 250.0);
  EXPECT_EQ(keysOf(j["queueing"]),
            (std::set<std::string>{"model", "replicas", "servers", "offered_load", "utilization",
                                   "p_wait", "mean_wait_s", "mean_response_s", "wait_percentile_s",
                                   "response_percentile_s", "feasible", "reason"}));
  EXPECT_EQ(j["queueing"]["model"], "M/M/c");
  EXPECT_EQ(j["queueing"]["feasible"], true);
  EXPECT_LE(j["queueing"]["response_percentile_s"].get<double>(), 0.05);
  EXPECT_EQ(keysOf(j["availability"]),
            (std::set<std::string>{"total_replicas", "spares", "p_at_least_required_up"}));
  EXPECT_EQ(keysOf(j["cost"]),
            (std::set<std::string>{"monthly_cost", "cost_per_million_requests"}));
  EXPECT_EQ(j["cost"]["monthly_cost"].get<double>(),
            j["availability"]["total_replicas"].get<double>() * 72.0);
}

TEST(PlanCli, PooledWorkedExampleAndDeterministicModel) {
  Outcome r = runPlan({"--peak-rps", "5000", "--instance-rps", "200", "--spike-headroom", "0",
                       "--service-time", "0.005", "--latency-target", "0.05", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["queueing"]["replicas"], 26);
  r = runPlan({"--peak-rps=5000", "--instance-rps=200", "--service-time=10ms",
               "--latency-target=40ms", "--service-distribution=deterministic", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto q = nlohmann::json::parse(r.out)["queueing"];
  EXPECT_EQ(q["model"], "M/D/c");
  EXPECT_EQ(q["feasible"], true);
}

TEST(PlanCli, InfeasibleHasReasonAndNulls) {
  Outcome r = runPlan({"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "10ms",
                       "--latency-target", "40ms", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto q = nlohmann::json::parse(r.out)["queueing"];
  EXPECT_EQ(q["feasible"], false);
  EXPECT_TRUE(q["replicas"].is_null());
  EXPECT_NE(q["reason"].get<std::string>().find("exponential"), std::string::npos);
}

TEST(PlanCli, TableByDefault) {
  Outcome r = runPlan({"--peak-rps", "1880", "--instance-rps", "50", "--failure-rate", "0.05",
                       "--service-time", "20ms", "--latency-target", "0.1",
                       "--service-distribution", "general", "--cs2", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("total replicas"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 48\n"), std::string::npos) << r.out;  // exact ceiling
  EXPECT_NE(r.out.find("G/G/c (Allen-Cunneen)"), std::string::npos);
  EXPECT_NE(r.out.find("(heuristic)"), std::string::npos);
}

TEST(PlanCli, Help) {
  Outcome r = runPlan({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--latency-target"), std::string::npos);
}

TEST(PlanCli, BadInputNamesTheFlagAndExits2) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--peak-rps", "lots", "--instance-rps", "200"}, "--peak-rps"},
      {{"--peak-rps", "-5", "--instance-rps", "200"}, "--peak-rps"},
      {{"--instance-rps", "200"}, "--peak-rps is required"},
      {{"--peak-rps", "5000"}, "--instance-rps is required"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--failure-rate", "2"}, "--failure-rate"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--percentile", "99", "--service-time",
        "5ms", "--latency-target", "50ms"},
       "0.99"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "5 parsecs",
        "--latency-target", "1s"},
       "--service-time"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "5ms"},
       "--latency-target"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "5ms", "--latency-target",
        "1s", "--cs2", "2"},
       "general"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--service-time", "5ms", "--latency-target",
        "1s", "--service-distribution", "determinstic"},
       "did you mean 'deterministic'"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--slots", "0", "--service-time", "5ms",
        "--replicas", "3"},
       "--slots"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--availability-target", "0.999"},
       "--replica-availability"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--replicas", "3"}, "service time"},
      {{"--peak-rps", "5000", "--instance-rps", "200", "--latency-taget", "1s"},
       "did you mean '--latency-target'"},
      {{"--peak-rps"}, "needs a value"},
      {{"--peak-rps", "1e300", "--instance-rps", "1"}, "--peak-rps"},
      {{"--peak-rps", "1e11", "--instance-rps", "1"}, "replicas"},
      {{"--peak-rps", "4999.9", "--instance-rps", "200", "--spike-headroom", "0", "--service-time",
        "5ms", "--replicas", "25", "--service-distribution", "deterministic"},
       "--replicas: utilization"},
  };
  for (const Case& c : cases) {
    Outcome r = runPlan(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.expect << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.expect << "\nstderr: " << r.err;
  }
}

TEST(PlanCli, ConfigFileAndFlagOverride) {
  const std::string path = tempDir() + "/plan.yaml";
  {
    std::ofstream f(path);
    f << "peak_rps: 5000\ninstance_rps: 200\nservice_time: 5ms\nlatency_target: 50ms\n"
         "spike_headroom: 0\n";
  }
  Outcome r = runPlan({"--config", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["queueing"]["replicas"], 26);
  r = runPlan({"--config", path, "--json", "--spike-headroom", "0.2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["littles_law"]["min_stable_replicas"], 31);
}

TEST(PlanCli, ConfigErrorsHaveFileLine) {
  const std::string path = tempDir() + "/bad.yaml";
  {
    std::ofstream f(path);
    f << "peak_rps: 5000\ninstance_rps: 200\nfailure_rate: 1.5\n";
  }
  Outcome r = runPlan({"--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("failure_rate"), std::string::npos) << r.err;
  {
    std::ofstream f(path);
    f << "peak_rps: 5000\ninstance_rps: 200\nlatency_taget: 1s\n";
  }
  r = runPlan({"--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("latency_target"), std::string::npos) << r.err;
  r = runPlan({"--config", tempDir() + "/missing.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.yaml"), std::string::npos) << r.err;
}

TEST(PlanCli, ProfileFromLoadJson) {
  const std::string path = tempDir() + "/load.json";
  {
    std::ofstream f(path);
    f << R"({"schema": "surge.load/v1", "config": {"mode": "sweep"}, "levels": [
      {"mode": "closed", "concurrency": 1, "requests": 1000, "ok": 1000, "errors": 0,
       "ok_rps": 99, "latency_s": {"mean": 0.0101, "p99": 0.012}, "stable": true},
      {"mode": "closed", "concurrency": 8, "requests": 4000, "ok": 4000, "errors": 0,
       "ok_rps": 398, "latency_s": {"mean": 0.02, "p99": 0.03}, "stable": true},
      {"mode": "closed", "concurrency": 64, "requests": 4000, "ok": 3000, "errors": 1000,
       "ok_rps": 420, "latency_s": {"mean": 0.15, "p99": 0.3}, "stable": true}]})";
  }
  Outcome r = runPlan({"--profile", path, "--peak-rps", "2000", "--latency-target", "100ms",
                       "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["profile"]["instance_rps"].get<double>(), 398);
  EXPECT_DOUBLE_EQ(j["profile"]["service_time_s"].get<double>(), 0.0101);
  EXPECT_EQ(j["profile"]["slots"], 4);
  // The classic formula's base is peak / instance_rps.
  EXPECT_NEAR(j["classic_formula"]["base_replicas"].get<double>(), 2000.0 / 398, 1e-9);
  EXPECT_EQ(j["queueing"]["servers"].get<int>(), 4 * j["queueing"]["replicas"].get<int>());
  // Flags win over the profile.
  r = runPlan({"--profile", path, "--peak-rps", "2000", "--latency-target", "100ms",
               "--instance-rps", "100", "--slots", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["queueing"]["servers"], j["queueing"]["replicas"]);
  // Bad profiles name the file and the field.
  {
    std::ofstream f(path);
    f << R"({"schema": "surge.load/v1", "levels": [{"mode": "closed", "concurrency": 1}]})";
  }
  r = runPlan({"--profile", path, "--peak-rps", "2000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ": levels[0].requests"), std::string::npos) << r.err;
  {
    std::ofstream f(path);
    f << "{\"schema\": \"other\"}";
  }
  r = runPlan({"--profile", path, "--peak-rps", "2000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("surge.load/v1"), std::string::npos) << r.err;
  r = runPlan({"--profile", tempDir() + "/nope.json", "--peak-rps", "2000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.json"), std::string::npos) << r.err;
}

}  // namespace
