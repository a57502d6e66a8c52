// End-to-end tests of `surge load`: the real binary against `surge upstream` (any POST answers
// 200) and `surge serve` with a synthetic model repository, closed loop, open loop, a small sweep,
// and the exit codes for bad flags and an unreachable server. Each run lasts about a second; every
// process is stopped by the fixture; every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fixtures.h"
#include "support/http_client.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LoadIntegration : public ::testing::Test {
 protected:
  void TearDown() override { server_.stop(); }

  void startUpstream() {
    ASSERT_TRUE(testing::startUpstream(server_, dir_, "server"));
    port_ = server_.port();
  }

  // `extra` is appended to config.pbtxt (e.g. synthetic latency parameters).
  void startServe(const std::string& extra = "dynamic_batching { }\n", int max_batch = 8) {
    writeModel(dir_ / "repo", "m", syntheticConfig(max_batch, extra));
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", dir_.file("server.log"), {}, 15s));
    port_ = server_.port();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string writeInput() {
    return dir_.write("body.json", R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32",)"
                                   R"("data":[1,2,3,4]}]})");
  }

  // Runs `surge load args...`; returns the exit code and fills *out with stdout.
  int load(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {surgeBinary(), "load"});
    return runToExit(args, dir_.file("load.log"), 40s, out);
  }

  std::string loadLog() { return readFile(dir_ / "load.log"); }

  ScratchDir dir_{"load-it"};
  ServerProcess server_;
  int port_ = 0;
};

TEST_F(LoadIntegration, ClosedLoopAgainstUpstream) {
  startUpstream();
  std::string out;
  ASSERT_EQ(load({"--url", url(), "--input", writeInput(), "--path", "/v2/models/m/infer",
                  "--concurrency", "4", "--duration", "1s", "--json"},
                 &out),
            0)
      << loadLog();
  json j = json::parse(out);
  EXPECT_EQ(j["schema"], "surge.load/v1");
  EXPECT_EQ(j["config"]["mode"], "closed");
  ASSERT_EQ(j["levels"].size(), 1u);
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["concurrency"], 4);
  EXPECT_GT(l["requests"].get<int>(), 50);
  EXPECT_EQ(l["errors"], 0) << l.dump();
  EXPECT_EQ(l["ok"], l["requests"]);
  EXPECT_GT(l["latency_s"]["p50"].get<double>(), 0);
  EXPECT_LE(l["latency_s"]["p50"].get<double>(), l["latency_s"]["p99"].get<double>());
}

TEST_F(LoadIntegration, OpenLoopAchievesTargetRate) {
  startUpstream();
  std::string out;
  ASSERT_EQ(load({"--url", url(), "--input", writeInput(), "--path", "/v2/models/m/infer",
                  "--rate", "200", "--duration", "1s", "--json"},
                 &out),
            0)
      << loadLog();
  json j = json::parse(out);
  EXPECT_EQ(j["config"]["mode"], "open");
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["requests"], 200);
  EXPECT_EQ(l["errors"], 0) << l.dump();
  EXPECT_EQ(l["dropped"], 0);
  EXPECT_DOUBLE_EQ(l["target_rps"].get<double>(), 200);
  EXPECT_NEAR(l["rps"].get<double>(), 200, 20) << l.dump();
}

TEST_F(LoadIntegration, ModelMetadataShapesInputsAndSweepReadsBatchSize) {
  startServe();
  std::string out;
  ASSERT_EQ(load({"--url", url(), "--model", "m", "--batch", "2", "--sweep", "1,2", "--window",
                  "300ms", "--max-windows", "4", "--json"},
                 &out),
            0)
      << loadLog();
  json j = json::parse(out);
  EXPECT_EQ(j["config"]["mode"], "sweep");
  ASSERT_EQ(j["levels"].size(), 2u);
  for (const auto& l : j["levels"]) {
    EXPECT_GT(l["requests"].get<int>(), 0);
    EXPECT_EQ(l["errors"], 0) << l.dump();
    EXPECT_GE(l["windows"].get<int>(), 3);
    EXPECT_LE(l["windows"].get<int>(), 4);
    ASSERT_TRUE(l["avg_batch"].is_number()) << l.dump();
    EXPECT_GE(l["avg_batch"].get<double>(), 2.0);  // every request carries 2 rows
  }
  EXPECT_EQ(j["levels"][1]["concurrency"], 2);
}

// The measured-inputs path of the planner: a replica that serves one request at a time in 20 ms
// (50 req/s), swept by `surge load --json`, sized by `surge plan --profile`.
TEST_F(LoadIntegration, PlanProfileFromSweep) {
  startServe(
      "parameters { key: \"base_latency_us\" value { string_value: \"20000\" } }\n"
      "instance_group [ { count: 1 kind: KIND_CPU } ]\n",
      /*max_batch=*/0);
  std::string out;
  ASSERT_EQ(load({"--url", url(), "--model", "m", "--sweep", "1,4", "--window", "400ms",
                  "--max-windows", "4", "--json"},
                 &out),
            0)
      << loadLog();
  const auto report = dir_ / "sweep.json";
  std::ofstream(report) << out;
  std::string text;
  ASSERT_EQ(runToExit({surgeBinary(), "plan", "--profile", report.string(), "--peak-rps", "400",
                       "--latency-target", "200ms", "--json"},
                      dir_.file("plan.log"), 40s, &text),
            0)
      << readFile(dir_ / "plan.log");
  json j = json::parse(text);
  // One request at a time for 20 ms: ~50 req/s (less under a loaded machine), service ≈ 20 ms.
  EXPECT_GT(j["profile"]["instance_rps"].get<double>(), 25) << text;
  EXPECT_LE(j["profile"]["instance_rps"].get<double>(), 51) << text;
  EXPECT_GE(j["profile"]["service_time_s"].get<double>(), 0.0195) << text;
  EXPECT_LT(j["profile"]["service_time_s"].get<double>(), 0.04) << text;
  EXPECT_EQ(j["profile"]["slots"], 1) << text;
  EXPECT_TRUE(j["queueing"]["feasible"].get<bool>()) << text;
  EXPECT_GE(j["queueing"]["replicas"].get<int>(), 10) << text;  // 480 req/s design rate
}

TEST_F(LoadIntegration, OpenLoopAgainstModelServer) {
  startServe();
  std::string out;
  ASSERT_EQ(load({"--url", url(), "--model", "m", "--rate-profile", "step:100,200@500ms",
                  "--json"},
                 &out),
            0)
      << loadLog();
  json j = json::parse(out);
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["requests"], 150);
  EXPECT_EQ(l["errors"], 0) << l.dump();
  EXPECT_NEAR(l["rps"].get<double>(), 150, 15) << l.dump();
}

TEST_F(LoadIntegration, BadFlagsExit2AndUnreachableExit1) {
  std::string out;
  EXPECT_EQ(load({"--rate", "abc", "--model", "m"}, &out), 2);
  EXPECT_NE(loadLog().find("--rate"), std::string::npos) << loadLog();
  EXPECT_EQ(load({"--rate-profile", "step:1,x@1s", "--model", "m"}, &out), 2);
  EXPECT_NE(loadLog().find("--rate-profile"), std::string::npos) << loadLog();
  auto trace = dir_ / "t.csv";
  std::ofstream(trace) << "0,10\n1,oops\n";
  EXPECT_EQ(load({"--trace", trace.string(), "--model", "m"}, &out), 2);
  EXPECT_NE(loadLog().find("t.csv:2:"), std::string::npos) << loadLog();
  EXPECT_EQ(load({"--concurrency", "0", "--model", "m"}, &out), 2);
  // A port nobody listens on: take one from a listener we then stop.
  startUpstream();
  int dead = port_;
  server_.stop();
  EXPECT_EQ(load({"--url", "http://127.0.0.1:" + std::to_string(dead), "--model", "m",
                  "--duration", "1s"},
                 &out),
            1);
  EXPECT_NE(loadLog().find("cannot reach"), std::string::npos) << loadLog();
}

}  // namespace
}  // namespace surge::testing
