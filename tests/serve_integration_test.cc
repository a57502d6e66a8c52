// End-to-end tests of `surge serve`: the real binary on 127.0.0.1:0 serving a synthetic model
// repository the test writes. Lifecycle (not ready before warm-up; SIGTERM under load loses
// nothing), batching under concurrency, several models and versions, config errors at startup,
// and the /metrics page through `promtool check metrics`. Every process is stopped by the fixture;
// every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "metrics/promtool_allowlist.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string param(const std::string& key, const std::string& value) {
  return "parameters { key: \"" + key + "\" value { string_value: \"" + value + "\" } }\n";
}

std::string inferBody(float v) {
  json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, 4}}, {"data", {v, 1, 2, 3}}};
  return json({{"id", std::to_string(v)}, {"inputs", {x}}}).dump();
}

class ServeIntegration : public ::testing::Test {
 protected:
  void TearDown() override { server_.stop(); }

  void model(const std::string& name, const std::string& config,
             std::vector<std::string> versions = {"1"}) {
    writeModel(dir_ / "repo", name, config, versions);
  }

  // Starts `surge serve` and waits for its listening line (not for readiness).
  void startServe(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--workers", "2"});
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", log(), extra, /*ready_timeout=*/0ms));
    port_ = server_.port();
  }

  // Runs `surge serve` expecting it to exit at once; returns its exit code.
  int runToExit() {
    return testing::runToExit({surgeBinary(), "serve", "--model-repository",
                               (dir_ / "repo").string(), "--listen", "127.0.0.1:0",
                               "--grpc-listen", "127.0.0.1:0"},
                              log(), 10s);
  }

  HttpResult infer(const std::string& target, const std::string& body) {
    return httpRequest(port_, "POST", target, {{"Content-Type", "application/json"}}, body,
                       10000ms);
  }

  std::string log() const { return dir_.file("serve.log"); }
  std::string logText() const { return readFile(log()); }

  double metric(const std::string& page, const std::string& series) {
    size_t p = page.find(series + " ");
    if (p == std::string::npos) return -1;
    return std::stod(page.substr(p + series.size() + 1));
  }

  ScratchDir dir_{"serve-it"};
  ServerProcess server_;
  int port_ = 0;
};

TEST_F(ServeIntegration, NotReadyBeforeWarmUp) {
  // Each instance takes 1.5 s to load (a cold start), then warms up: readiness must wait for it.
  model("cold", syntheticConfig(8, "dynamic_batching { preferred_batch_size: [ 4, 8 ] }\n" +
                                       param("load_latency_us", "1500000")));
  startServe();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(httpGet(port_, "/v2/health/live").status, 200);
  auto ready = httpGet(port_, "/v2/health/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(httpGet(port_, "/v2/models/cold/ready").status, 503);
  EXPECT_EQ(infer("/v2/models/cold/infer", inferBody(1)).status, 503);
  ASSERT_TRUE(waitReady(port_, 15s)) << logText();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1000ms);
  auto r = infer("/v2/models/cold/infer", inferBody(1));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"][0]["data"], json::array({7, 8}));
  // Warm-up batches (sizes 1, 4, 8) ran before ready and are not counted as inferences.
  std::string page = httpGet(port_, "/metrics").body;
  EXPECT_EQ(metric(page, "nv_inference_exec_count{model=\"cold\",version=\"1\"}"), 1) << page;
}

TEST_F(ServeIntegration, ConcurrentRequestsAreBatchedAndGetTheirOwnRows) {
  model("batched", syntheticConfig(16, "dynamic_batching { max_queue_delay_microseconds: 2000 }\n" +
                                           param("base_latency_us", "20000") +
                                           param("per_item_latency_us", "500")));
  startServe();
  ASSERT_TRUE(waitReady(port_, 10s)) << logText();
  constexpr int kClients = 24, kEach = 8;
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        float v = static_cast<float>(c * 100 + i);
        auto r = infer("/v2/models/batched/infer", inferBody(v));
        json j = json::parse(r.body, nullptr, false);
        if (r.status == 200 && j["id"] == std::to_string(v) &&
            j["outputs"][0]["data"] == json::array({v + 6, v + 7})) {
          ++ok;
        } else {
          ++bad;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kEach);
  EXPECT_EQ(bad.load(), 0);
  // The batch counters are updated by the instance thread after it hands the rows back, so the
  // last batch may be counted a moment after its clients got their answers: poll briefly.
  std::string page;
  double inferences = 0, batches = 0;
  EXPECT_TRUE(waitUntil(
      [&] {
        page = httpGet(port_, "/metrics").body;
        inferences = metric(page, "nv_inference_count{model=\"batched\",version=\"1\"}");
        batches = metric(page, "nv_inference_exec_count{model=\"batched\",version=\"1\"}");
        return inferences == kClients * kEach;
      },
      2s, 20ms, "every inference counted"));
  EXPECT_EQ(inferences, kClients * kEach) << page;
  EXPECT_GT(batches, 0);
  EXPECT_LT(batches, inferences / 3) << "average batch size " << inferences / batches;
}

TEST_F(ServeIntegration, SigtermUnderLoadLosesNothing) {
  model("busy", syntheticConfig(8,
                                "dynamic_batching { max_queue_delay_microseconds: 1000 }\n"
                                "instance_group [ { count: 2 kind: KIND_CPU } ]\n" +
                                    param("base_latency_us", "30000")));
  startServe({"--shutdown-delay", "1s"});
  ASSERT_TRUE(waitReady(port_, 10s)) << logText();
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::mutex mu;
  std::map<int, int> statuses;  // status → count
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop.load(); ++i) {
        auto r = infer("/v2/models/busy/infer", inferBody(static_cast<float>(c * 1000 + i)));
        std::lock_guard<std::mutex> l(mu);
        ++statuses[r.status];
        ++done;
      }
    });
  }
  EXPECT_TRUE(waitUntil([&] { return done.load() >= 64; }, 10s, 5ms, "64 requests answered"));
  server_.signal(SIGTERM);  // 16 requests are in flight now
  // "At once": within 200 ms of the signal (delivery and handling take a moment on a busy machine).
  HttpResult ready;
  EXPECT_TRUE(waitUntil(
      [&] {
        ready = httpGet(port_, "/v2/health/ready");
        return ready.status != 200;
      },
      200ms, 10ms, "readiness false after SIGTERM"));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ready.status, 503) << "readiness must turn false at once";
  auto rc = server_.wait(15s);
  ASSERT_TRUE(rc.has_value()) << "surge serve did not exit; log:\n" << logText();
  EXPECT_EQ(*rc, 0) << logText();
  int total = 0;
  for (auto& [status, n] : statuses) total += n;
  EXPECT_EQ(statuses[200], total) << "lost requests; log:\n" << logText();
  EXPECT_GE(total, 64);
}

TEST_F(ServeIntegration, SeveralModelsNewestVersionServed) {
  model("a", syntheticConfig(4, ""), {"1", "2", "10"});
  model("b", syntheticConfig(0, ""), {"3"});
  startServe();
  ASSERT_TRUE(waitReady(port_, 10s)) << logText();
  auto meta = httpGet(port_, "/v2/models/a");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(json::parse(meta.body)["versions"], json::array({"10"}));
  auto r = infer("/v2/models/a/infer", inferBody(2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model_version"], "10");
  EXPECT_EQ(infer("/v2/models/a/versions/1/infer", inferBody(2)).status, 404);
  // b does not batch: shapes carry no batch dimension.
  json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {4}}, {"data", {1, 1, 1, 1}}};
  auto rb = infer("/v2/models/b/infer", json({{"inputs", {x}}}).dump());
  ASSERT_EQ(rb.status, 200) << rb.body;
  EXPECT_EQ(json::parse(rb.body)["outputs"][0]["shape"], json::array({2}));
  EXPECT_EQ(json::parse(httpGet(port_, "/v2/models/b").body)["inputs"][0]["shape"],
            json::array({4}));
}

TEST_F(ServeIntegration, MetricsPassPromtool) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  model("m", syntheticConfig(8, "dynamic_batching { }\n"));
  startServe({"--metrics-port", "0"});
  ASSERT_TRUE(waitReady(port_, 10s)) << logText();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(infer("/v2/models/m/infer", inferBody(1)).status, 200);
  EXPECT_EQ(infer("/v2/models/m/infer", "{oops").status, 400);
  auto m = httpGet(port_, "/metrics");
  ASSERT_EQ(m.status, 200);
  for (const char* name :
       {"nv_inference_request_success{", "nv_inference_request_failure{", "nv_inference_count{",
        "nv_inference_exec_count{", "nv_inference_request_duration_us{",
        "nv_inference_queue_duration_us{", "nv_inference_compute_input_duration_us{",
        "nv_inference_compute_infer_duration_us{", "nv_inference_compute_output_duration_us{",
        "nv_inference_pending_request_count{", "model_request_queue_length{",
        "model_latency_bucket{", "surge_serve_batch_size_bucket{"}) {
    EXPECT_NE(m.body.find(name), std::string::npos) << name;
  }
  std::string file = dir_.file("metrics.txt");
  std::ofstream(file) << m.body;
  std::string out_file = dir_.file("promtool.out");
  int rc = std::system(
      ("/usr/bin/promtool check metrics < " + file + " > " + out_file + " 2>&1").c_str());
  std::ifstream in(out_file);
  std::string out((std::istreambuf_iterator<char>(in)), {});
  // Triton's names break promtool's lint rules (exit status 3, lint problems only): exactly the
  // messages metrics/promtool_allowlist.h allows for them, nothing else.
  ASSERT_TRUE(WIFEXITED(rc)) << out;
  EXPECT_EQ(WEXITSTATUS(rc), 3) << out;
  EXPECT_EQ(metrics::disallowedLint(out), std::vector<std::string>{}) << out;
}

TEST_F(ServeIntegration, ConfigErrorsStopStartupWithLineAndColumn) {
  model(
      "bad",
      "backend: \"synthetic\"\nmax_batch_size: 4\ninput [ { name: \"x\" data_typ: TYPE_FP32 } ]\n");
  EXPECT_EQ(runToExit(), 2);
  std::string log = logText();
  EXPECT_NE(log.find("bad/config.pbtxt:3:"), std::string::npos) << log;
  EXPECT_NE(log.find("data_typ"), std::string::npos) << log;
}

TEST_F(ServeIntegration, SeedSnippetOnKindGpuIsAClearStartupError) {
  model("seed", syntheticConfig(64, R"(
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
)"));
  EXPECT_EQ(runToExit(), 2);
  std::string log = logText();
  EXPECT_NE(log.find("seed/config.pbtxt:14:5: instance_group KIND_GPU: no GPU available"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace surge::testing
