// `surge load` as a CI gate and under Ctrl-C: the real binary against `surge serve` (synthetic
// model) and `surge upstream`. SIGINT/SIGTERM mid-run print the summary of what was measured,
// marked interrupted, with rates over the real elapsed time, and exit 130/143 (or 1 when a
// threshold fails); --max-error-rate / --max-p99 exit 0 or 1 with the measured value. Each run is
// stopped by the test or lasts about a second; every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LoadInterrupt : public ::testing::Test {
 protected:
  void TearDown() override {
    load_.stop();
    server_.stop();
  }

  void startServe() {
    writeModel(dir_ / "repo", "m", syntheticConfig(8, "dynamic_batching { }\n"));
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", dir_.file("server.log"), {}, 15s));
    port_ = server_.port();
  }

  // Inferences the server has answered for model m (its statistics extension).
  long inferences() {
    auto r = httpGet(port_, "/v2/models/m/stats", 2000ms);
    if (r.status != 200) return -1;
    try {
      return json::parse(r.body)["model_stats"][0]["inference_count"].get<long>();
    } catch (const std::exception&) {
      return -1;
    }
  }

  // Starts `surge load ARGS` for a long run, waits until the server has answered `n` of its
  // inferences, sends `sig` and returns the exit code; *out gets stdout.
  std::optional<int> interruptAfter(std::vector<std::string> args, long n, int sig,
                                    std::string* out) {
    args.insert(args.begin(), {surgeBinary(), "load"});
    std::string err;
    if (!load_.start(args, &err, dir_.file("load.log"))) {
      ADD_FAILURE() << err;
      return std::nullopt;
    }
    const long before = inferences();
    if (!waitUntil([&] { return inferences() >= before + n; }, 20s, 20ms, "load reached server")) {
      ADD_FAILURE() << readFile(dir_ / "load.log") << server_.log();
      return std::nullopt;
    }
    const auto sent = std::chrono::steady_clock::now();
    load_.signal(sig);
    // stdout to its end (EOF at exit), then the exit status.
    load_.waitForLine("\x01never", 15s);
    auto code = load_.wait(15s);
    stop_latency_ = std::chrono::steady_clock::now() - sent;
    for (const auto& l : load_.lines()) *out += l + "\n";
    return code;
  }

  int load(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {surgeBinary(), "load"});
    return runToExit(args, dir_.file("load.log"), 40s, out);
  }
  std::string loadLog() { return readFile(dir_ / "load.log"); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  ScratchDir dir_{"load-int"};
  ServerProcess server_;
  Process load_;
  int port_ = 0;
  std::chrono::steady_clock::duration stop_latency_{};
};

TEST_F(LoadInterrupt, SigintPrintsThePartialSummaryAndExits130) {
  startServe();
  std::string out;
  auto code =
      interruptAfter({"--url", url(), "--model", "m", "--concurrency", "2", "--duration", "120s"},
                     50, SIGINT, &out);
  ASSERT_EQ(code, std::optional<int>(130)) << out << loadLog();
  EXPECT_LT(stop_latency_, 5s);
  // The usual table, its level marked, and the interruption with the real elapsed time.
  EXPECT_NE(out.find("infer/s"), std::string::npos) << out;
  EXPECT_NE(out.find("(interrupted)"), std::string::npos) << out;
  size_t at = out.find("interrupted by SIGINT after ");
  ASSERT_NE(at, std::string::npos) << out;
  double elapsed = std::stod(out.substr(at + 28));
  EXPECT_GT(elapsed, 0);
  EXPECT_LT(elapsed, 60) << out;
  // infer/s over the real elapsed time: the row's requests/s times the elapsed time is about the
  // inferences the server answered (not the 120 s the run was asked to last).
  size_t row = out.find("\nclosed");
  ASSERT_NE(row, std::string::npos) << out;
  std::vector<std::string> cells;
  std::istringstream is(out.substr(row + 1, out.find('\n', row + 1) - row - 1));
  for (std::string c; is >> c;) cells.push_back(c);
  ASSERT_GE(cells.size(), 8u) << out;
  EXPECT_EQ(cells[1], "2");
  double rps = std::stod(cells[3]);
  EXPECT_GT(rps * elapsed, 40) << out;
  EXPECT_EQ(cells[7], "0") << out;  // no errors: the abandoned requests are not counted
}

TEST_F(LoadInterrupt, SigtermJsonAndGrpcStopCleanly) {
  startServe();
  auto line = server_.process().waitForLine("gRPC listening on", 5s);
  ASSERT_TRUE(line.has_value()) << server_.log();
  const int grpc_port = portFromLine(*line, "listening on");
  std::string out;
  auto code = interruptAfter(
      {"--protocol", "grpc", "--url", "127.0.0.1:" + std::to_string(grpc_port), "--model", "m",
       "--concurrency", "2", "--duration", "120s", "--json", "--max-error-rate", "1%"},
      50, SIGTERM, &out);
  ASSERT_EQ(code, std::optional<int>(143)) << out << loadLog();
  json j = json::parse(out);
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["signal"], "SIGTERM");
  ASSERT_EQ(j["levels"].size(), 1u);
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["interrupted"], true);
  EXPECT_GE(l["requests"].get<long>(), 50);
  const double d = l["duration_s"].get<double>();
  EXPECT_GT(d, 0);
  EXPECT_LT(d, 60);
  EXPECT_NEAR(l["rps"].get<double>() * d, l["requests"].get<double>(),
              1e-6 * l["rps"].get<double>() * d + 1e-9);
  ASSERT_EQ(j["thresholds"].size(), 1u);
  EXPECT_EQ(j["thresholds"][0]["ok"], true);
  EXPECT_DOUBLE_EQ(j["thresholds"][0]["measured"].get<double>(), 0);
}

TEST_F(LoadInterrupt, OpenLoopSigintCountsWhatWasAnswered) {
  startServe();
  std::string out;
  auto code = interruptAfter(
      {"--url", url(), "--model", "m", "--rate", "200", "--duration", "120s", "--json"}, 50, SIGINT,
      &out);
  ASSERT_EQ(code, std::optional<int>(130)) << out << loadLog();
  json j = json::parse(out);
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["signal"], "SIGINT");
  ASSERT_EQ(j["levels"].size(), 1u);
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["mode"], "open");
  EXPECT_EQ(l["interrupted"], true);
  EXPECT_EQ(l["dropped"], 0);  // abandoned sends are not the server's drops
  EXPECT_EQ(l["errors"], 0);
  EXPECT_GE(l["requests"].get<long>(), 50);
  const double d = l["duration_s"].get<double>();
  EXPECT_LT(d, 60);
  // The rate over the real elapsed time is about the schedule's 200/s, not 50 over 120 s.
  EXPECT_NEAR(l["rps"].get<double>(), 200, 60) << l.dump();
}

TEST_F(LoadInterrupt, SecondSigintExitsAtOnce) {
  // A model that answers after 1.5 s: after the first SIGINT the gRPC run waits for its calls in
  // flight; the second SIGINT does not wait (exit 130, no summary).
  writeModel(dir_ / "repo", "m",
             syntheticConfig(0,
                             "parameters { key: \"base_latency_us\" value { string_value: "
                             "\"1500000\" } }\n"));
  ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", dir_.file("server.log"), {}, 15s));
  port_ = server_.port();
  auto line = server_.process().waitForLine("gRPC listening on", 5s);
  ASSERT_TRUE(line.has_value()) << server_.log();
  std::string err;
  ASSERT_TRUE(load_.start({surgeBinary(), "load", "--protocol", "grpc", "--url",
                           "127.0.0.1:" + std::to_string(portFromLine(*line, "listening on")),
                           "--model", "m", "--concurrency", "2", "--duration", "120s"},
                          &err, dir_.file("load.log")))
      << err;
  // An answer: its call is resent at once, so calls are in flight.
  ASSERT_TRUE(waitUntil([&] { return inferences() >= 1; }, 20s, 20ms, "a first answer"))
      << loadLog();
  load_.signal(SIGINT);
  ASSERT_TRUE(waitUntil([&] { return loadLog().find("Ctrl-C again") != std::string::npos; }, 5s,
                        5ms, "first SIGINT handled"))
      << loadLog();
  load_.signal(SIGINT);
  auto code = load_.wait(10s);
  ASSERT_EQ(code, std::optional<int>(130)) << loadLog();
  EXPECT_NE(loadLog().find("interrupted again"), std::string::npos) << loadLog();
  load_.waitForLine("\x01never", 2s);
  std::string out;
  for (const auto& l : load_.lines()) out += l + "\n";
  EXPECT_EQ(out.find("infer/s"), std::string::npos) << out;
}

TEST_F(LoadInterrupt, FailedThresholdWinsOverTheInterrupt) {
  startServe();
  std::string out;
  auto code = interruptAfter(
      {"--url", url(), "--model", "m", "--duration", "120s", "--max-p99", "1us"}, 20, SIGINT, &out);
  ASSERT_EQ(code, std::optional<int>(1)) << out << loadLog();
  EXPECT_NE(out.find("interrupted by SIGINT"), std::string::npos) << out;
  EXPECT_NE(out.find("threshold max-p99 1us: FAILED, measured p99 "), std::string::npos) << out;
}

TEST_F(LoadInterrupt, ThresholdsDecideTheExitCode) {
  ASSERT_TRUE(testing::startUpstream(server_, dir_, "upstream"));
  port_ = server_.port();
  const std::string body = dir_.write(
      "body.json", R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]})");
  std::string out;
  // Every answer 200 and fast: both thresholds pass.
  ASSERT_EQ(load({"--url", url(), "--input", body, "--path", "/v2/models/m/infer", "--duration",
                  "1s", "--max-error-rate", "0.01", "--max-p99", "5s"},
                 &out),
            0)
      << out << loadLog();
  EXPECT_NE(out.find("threshold max-error-rate 0.01: ok, measured 0.00% (0 of "), std::string::npos)
      << out;
  EXPECT_NE(out.find("threshold max-p99 5s: ok, measured p99 "), std::string::npos) << out;
  // Every answer 500: the error rate fails.
  ASSERT_EQ(load({"--url", url(), "--input", body, "--path", "/status/500", "--duration", "1s",
                  "--max-error-rate", "1%"},
                 &out),
            1)
      << out << loadLog();
  EXPECT_NE(out.find("threshold max-error-rate 1%: FAILED, measured 100.00%"), std::string::npos)
      << out;
  // Answers after 30 ms: p99 above 10 ms fails; with --json the verdict is in the JSON and on
  // stderr.
  ASSERT_EQ(load({"--url", url(), "--input", body, "--path", "/delay/30", "--duration", "1s",
                  "--concurrency", "2", "--max-p99", "10ms", "--json"},
                 &out),
            1)
      << out << loadLog();
  json j = json::parse(out);
  ASSERT_EQ(j["thresholds"].size(), 1u);
  EXPECT_EQ(j["thresholds"][0]["name"], "max-p99");
  EXPECT_EQ(j["thresholds"][0]["ok"], false);
  EXPECT_GE(j["thresholds"][0]["measured"].get<double>(), 0.030);
  EXPECT_NE(loadLog().find("surge load: threshold max-p99 10ms: FAILED, measured p99 "),
            std::string::npos)
      << loadLog();
}

TEST_F(LoadInterrupt, BadThresholdValuesAreUsageErrors) {
  std::string out;
  for (const char* v : {"5", "-1%", "101%"}) {
    EXPECT_EQ(load({"--model", "m", "--max-error-rate", v}, &out), 2) << v;
    EXPECT_NE(loadLog().find("--max-error-rate"), std::string::npos) << v << loadLog();
  }
  EXPECT_EQ(load({"--model", "m", "--max-p99", "fast"}, &out), 2);
  EXPECT_NE(loadLog().find("--max-p99"), std::string::npos) << loadLog();
}

}  // namespace
}  // namespace surge::testing
