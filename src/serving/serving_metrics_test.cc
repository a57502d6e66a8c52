// The model server's metrics and statistics: Triton's exact names, types, HELP texts and labels on
// /metrics, what recordSuccess/recordFailure/recordBatch add (counts, µs sums, ns sums), the
// statistics extension's compute times and batch_stats after a batched run over real HTTP, and
// `promtool check metrics` accepting the page with only the allowlisted lint messages.
#include "serving/serving_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "metrics/promtool_allowlist.h"
#include "runtime/builtin_backends.h"
#include "serving/model_server.h"
#include "support/socket_client.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace nt = surge::testing;

// Triton's per-model metrics surge serves: name → {type, HELP}, verbatim from
// triton-inference-server/core src/metrics.cc.
const std::map<std::string, std::pair<std::string, std::string>>& tritonMetrics() {
  static const std::map<std::string, std::pair<std::string, std::string>> m = {
      {"nv_inference_request_success",
       {"counter", "Number of successful inference requests, all batch sizes"}},
      {"nv_inference_request_failure",
       {"counter", "Number of failed inference requests, all batch sizes"}},
      {"nv_inference_count",
       {"counter", "Number of inferences performed (does not include cached requests)"}},
      {"nv_inference_exec_count",
       {"counter", "Number of model executions performed (does not include cached requests)"}},
      {"nv_inference_request_duration_us",
       {"counter",
        "Cumulative inference request duration in microseconds (includes cached requests)"}},
      {"nv_inference_queue_duration_us",
       {"counter",
        "Cumulative inference queuing duration in microseconds (includes cached requests)"}},
      {"nv_inference_compute_input_duration_us",
       {"counter",
        "Cumulative compute input duration in microseconds (does not include cached requests)"}},
      {"nv_inference_compute_infer_duration_us",
       {"counter",
        "Cumulative compute inference duration in microseconds (does not include "
        "cached requests)"}},
      {"nv_inference_compute_output_duration_us",
       {"counter",
        "Cumulative inference compute output duration in microseconds (does not "
        "include cached requests)"}},
      {"nv_inference_pending_request_count",
       {"gauge", "Instantaneous number of pending requests awaiting execution per-model."}},
  };
  return m;
}

// "# TYPE"/"# HELP" of every family on a page, and the label sets of every series.
struct Page {
  std::map<std::string, std::string> type, help;
  std::map<std::string, std::vector<std::string>> series;  // name → "{...}" of each series
  std::map<std::string, double> values;                    // "name{...}" → value
};

Page parsePage(const std::string& text) {
  Page p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      p.type[rest.substr(0, sp)] = rest.substr(sp + 1);
    } else if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      p.help[rest.substr(0, sp)] = rest.substr(sp + 1);
    } else if (!line.empty() && line[0] != '#') {
      size_t sp = line.rfind(' ');
      std::string key = line.substr(0, sp);
      size_t brace = key.find('{');
      std::string name = key.substr(0, brace);
      p.series[name].push_back(brace == std::string::npos ? "" : key.substr(brace));
      p.values[key] = std::stod(line.substr(sp + 1));
    }
  }
  return p;
}

class ServingMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::registerBuiltinBackends(backends_);
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-metrics-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    if (server_) {
      server_->requestShutdown();
      if (runner_.joinable()) runner_.join();
      server_.reset();
    }
    std::filesystem::remove_all(dir_);
  }

  void model(const std::string& name, const std::string& config) {
    std::filesystem::create_directories(dir_ / name / "1");
    std::ofstream(dir_ / name / "config.pbtxt") << config;
  }

  void start() {
    auto repo = loadRepository(dir_.string(), backends_);
    ASSERT_TRUE(repo.isOk()) << repo.status().message();
    ModelServerOptions options;
    options.listen = "127.0.0.1:0";
    options.workers = 2;
    server_ = std::make_unique<ModelServer>(options, std::move(repo).value(), backends_, registry_,
                                            SteadyClock::instance());
    Status s = server_->start();
    ASSERT_TRUE(s.isOk()) << s.message();
    port_ = server_->port();
    runner_ = std::thread([this] { server_->run(); });
    ASSERT_TRUE(server_->models().waitLoaded(10s));
  }

  std::pair<int, json> call(const std::string& method, const std::string& target,
                            const std::string& body = "") {
    std::string raw = nt::httpExchange(port_, method, target, body,
                                       body.empty() ? "" : "Content-Type: application/json\r\n");
    return {nt::statusOf(raw), json::parse(nt::bodyOf(raw), nullptr, false)};
  }
  std::string metricsPage() {
    return nt::bodyOf(nt::httpExchange(port_, "GET", "/metrics", "", ""));
  }

  static std::string inferBody(int rows) {
    json data = json::array();
    for (int r = 0; r < rows; ++r) data.push_back({1.0, 2.0, 3.0});
    json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {rows, 3}}, {"data", data}};
    return json({{"inputs", {x}}}).dump();
  }

  runtime::BackendRegistry backends_;
  metrics::Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<ModelServer> server_;
  std::thread runner_;
  uint16_t port_ = 0;
};

std::string config(int max_batch_size, const std::string& batching, int instances = 1,
                   int base_latency_us = 200) {
  return "backend: \"synthetic\"\nmax_batch_size: " + std::to_string(max_batch_size) +
         "\ninput [ { name: \"x\" data_type: TYPE_FP32 dims: [ 3 ] } ]\n"
         "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n" +
         batching + "instance_group [ { count: " + std::to_string(instances) +
         " kind: KIND_CPU } ]\n"
         "parameters { key: \"base_latency_us\" value { string_value: \"" +
         std::to_string(base_latency_us) + "\" } }\n";
}

TEST_F(ServingMetricsTest, TritonsNamesTypesHelpAndLabels) {
  model("m", config(8, "dynamic_batching { }\n"));
  start();
  ASSERT_EQ(call("POST", "/v2/models/m/infer", inferBody(2)).first, 200);
  Page page = parsePage(metricsPage());
  std::set<std::string> nv;
  for (const auto& [name, type] : page.type) {
    // The machine-wide nv_cpu_* gauges (system_metrics.h) have no model labels: checked below.
    if (name.rfind("nv_", 0) == 0 && name.rfind("nv_cpu_", 0) != 0) nv.insert(name);
  }
  for (const char* name :
       {"nv_cpu_utilization", "nv_cpu_memory_total_bytes", "nv_cpu_memory_used_bytes"}) {
    EXPECT_EQ(page.type[name], "gauge") << name;
    EXPECT_EQ(page.series[name], std::vector<std::string>{""}) << name;
  }
  std::set<std::string> want;
  for (const auto& [name, th] : tritonMetrics()) want.insert(name);
  EXPECT_EQ(nv, want);  // exactly Triton's names (no cache: the nv_cache_* need --cache)
  for (const auto& [name, th] : tritonMetrics()) {
    EXPECT_EQ(page.type[name], th.first) << name;
    EXPECT_EQ(page.help[name], th.second) << name;
    if (name == "nv_inference_request_failure") {
      std::set<std::string> got(page.series[name].begin(), page.series[name].end());
      std::set<std::string> reasons;
      for (const char* r : {"BACKEND", "CANCELED", "OTHER", "REJECTED"}) {
        reasons.insert(std::string("{model=\"m\",version=\"1\",reason=\"") + r + "\"}");
      }
      EXPECT_EQ(got, reasons);
    } else {
      EXPECT_EQ(page.series[name], std::vector<std::string>{"{model=\"m\",version=\"1\"}"}) << name;
    }
  }
  // surge's own, kept.
  for (const char* name :
       {"model_latency", "surge_serve_queue_duration_seconds", "surge_serve_batch_size",
        "surge_serve_model_ready", "model_request_queue_length"}) {
    EXPECT_EQ(page.type.count(name), 1u) << name;
  }
  // Every Triton name that breaks promtool's lint is in the one allowlist, and nothing else is.
  for (const auto& a : metrics::kLintAllowlist) {
    bool triton = tritonMetrics().count(std::string(a.name)) != 0 ||
                  std::string_view(a.name).rfind("nv_cache_", 0) == 0;
    EXPECT_TRUE(triton) << a.name;
  }
}

TEST_F(ServingMetricsTest, CountsAndMicrosecondSumsMatchTheStatistics) {
  model("m", config(8, "dynamic_batching { }\n", 1, 2000));
  start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(call("POST", "/v2/models/m/infer", inferBody(3)).first, 200);
  }
  EXPECT_EQ(call("POST", "/v2/models/m/infer", "{").first, 400);
  EXPECT_EQ(call("POST", "/v2/models/m/infer", inferBody(9)).first, 400);  // > max_batch_size
  Page page = parsePage(metricsPage());
  const std::string l = "{model=\"m\",version=\"1\"}";
  EXPECT_EQ(page.values["nv_inference_request_success" + l], 4);
  EXPECT_EQ(page.values["nv_inference_request_failure{model=\"m\",version=\"1\",reason=\"OTHER\"}"],
            2);
  EXPECT_EQ(
      page.values["nv_inference_request_failure{model=\"m\",version=\"1\",reason=\"REJECTED\"}"],
      0);
  EXPECT_EQ(page.values["nv_inference_count" + l], 12);
  EXPECT_EQ(page.values["nv_inference_exec_count" + l], 4);  // one client at a time: 4 batches
  EXPECT_EQ(page.values["nv_inference_pending_request_count" + l], 0);

  auto [status, st] = call("GET", "/v2/models/m/stats");
  ASSERT_EQ(status, 200);
  const json& s = st["model_stats"][0];
  const json& is = s["inference_stats"];
  EXPECT_EQ(s["inference_count"], 12);
  EXPECT_EQ(s["execution_count"], 4);
  EXPECT_EQ(is["success"]["count"], 4);
  EXPECT_EQ(is["fail"]["count"], 2);
  for (const char* k : {"queue", "compute_input", "compute_infer", "compute_output"}) {
    EXPECT_EQ(is[k]["count"], 4) << k;
  }
  // The µs counters are the statistics' ns sums in whole µs (integral, as Triton's).
  auto us = [&](const char* stat) { return is[stat]["ns"].get<double>() / 1000.0; };
  auto whole_us = [&](const char* stat) {
    return static_cast<double>(is[stat]["ns"].get<uint64_t>() / 1000);
  };
  EXPECT_EQ(page.values["nv_inference_request_duration_us" + l], whole_us("success"));
  EXPECT_EQ(page.values["nv_inference_queue_duration_us" + l], whole_us("queue"));
  EXPECT_EQ(page.values["nv_inference_compute_input_duration_us" + l], whole_us("compute_input"));
  EXPECT_EQ(page.values["nv_inference_compute_infer_duration_us" + l], whole_us("compute_infer"));
  EXPECT_EQ(page.values["nv_inference_compute_output_duration_us" + l], whole_us("compute_output"));
  // The synthetic model takes 2 ms a batch: that is compute infer, not input or output.
  EXPECT_GE(us("compute_infer"), 4 * 2000.0);
  EXPECT_LT(us("compute_input") + us("compute_output"), us("compute_infer"));
  EXPECT_GE(us("success"),
            us("queue") + us("compute_input") + us("compute_infer") + us("compute_output"));
  // Single-request batches: one batch_stats entry, size 3, 4 executions.
  ASSERT_EQ(s["batch_stats"].size(), 1u) << s.dump();
  EXPECT_EQ(s["batch_stats"][0]["batch_size"], 3);
  EXPECT_EQ(s["batch_stats"][0]["compute_infer"]["count"], 4);
  EXPECT_EQ(s["batch_stats"][0]["compute_infer"]["ns"], is["compute_infer"]["ns"]);
}

TEST_F(ServingMetricsTest, BatchStatsHaveOneEntryPerExecutedBatchSize) {
  // One instance, 5 ms a batch, preferred sizes 4 and 8 with a long delay: concurrent clients
  // form batches of several requests.
  model("b", config(8,
                    "dynamic_batching { preferred_batch_size: [ 4, 8 ] "
                    "max_queue_delay_microseconds: 20000 }\n",
                    1, 5000));
  start();
  constexpr int kClients = 12, kEach = 4;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (call("POST", "/v2/models/b/infer", inferBody(1)).first == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(ok.load(), kClients * kEach);
  auto [status, st] = call("GET", "/v2/models/b/stats");
  ASSERT_EQ(status, 200);
  const json& s = st["model_stats"][0];
  const json& batches = s["batch_stats"];
  ASSERT_TRUE(batches.is_array()) << s.dump();
  ASSERT_GE(batches.size(), 1u);
  uint64_t executions = 0, rows = 0, previous = 0;
  bool batched = false;
  for (const json& b : batches) {
    // Triton's InferBatchStatistics, as its HTTP endpoint renders it.
    std::set<std::string> keys;
    for (const auto& [k, v] : b.items()) keys.insert(k);
    EXPECT_EQ(keys, (std::set<std::string>{"batch_size", "compute_input", "compute_infer",
                                           "compute_output"}));
    uint64_t size = b["batch_size"];
    EXPECT_GT(size, previous);  // ascending, one entry per size
    EXPECT_LE(size, 8u);
    previous = size;
    uint64_t count = b["compute_infer"]["count"];
    EXPECT_GT(count, 0u);
    EXPECT_EQ(b["compute_input"]["count"], count);
    EXPECT_EQ(b["compute_output"]["count"], count);
    EXPECT_GE(b["compute_infer"]["ns"].get<uint64_t>(), count * 5000000);  // 5 ms each
    if (size > 1) {
      batched = true;
      EXPECT_GT(b["compute_input"]["ns"].get<uint64_t>(), 0u);   // stacking took time
      EXPECT_GT(b["compute_output"]["ns"].get<uint64_t>(), 0u);  // slicing too
    }
    executions += count;
    rows += size * count;
  }
  EXPECT_TRUE(batched) << batches.dump();
  EXPECT_EQ(executions, s["execution_count"].get<uint64_t>());
  EXPECT_EQ(rows, s["inference_count"].get<uint64_t>());
  EXPECT_EQ(rows, static_cast<uint64_t>(kClients * kEach));
  // The metrics agree.
  Page page = parsePage(metricsPage());
  EXPECT_EQ(page.values["nv_inference_exec_count{model=\"b\",version=\"1\"}"],
            static_cast<double>(executions));
}

TEST_F(ServingMetricsTest, PromtoolAcceptsThePageWithOnlyTheAllowedLint) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  model("m", config(8, "dynamic_batching { }\n"));
  start();
  ASSERT_EQ(call("POST", "/v2/models/m/infer", inferBody(1)).first, 200);
  EXPECT_EQ(call("POST", "/v2/models/m/infer", "{").first, 400);
  auto check = [&](const std::string& page) {
    std::filesystem::create_directories(dir_);
    std::string in = (dir_ / "metrics.txt").string(), out = (dir_ / "promtool.out").string();
    std::ofstream(in) << page;
    int rc =
        std::system(("/usr/bin/promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
    std::ifstream f(out);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    return std::pair<int, std::string>{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text};
  };
  auto [rc, out] = check(metricsPage());
  EXPECT_EQ(rc, 3) << out;  // lint problems only
  EXPECT_EQ(metrics::disallowedLint(out), std::vector<std::string>{}) << out;
  // Every Triton name shows up in the lint (the check really ran over them).
  for (const auto& [name, th] : tritonMetrics()) {
    EXPECT_NE(out.find(name + " "), std::string::npos) << name << "\n" << out;
  }
  // The allowlist is exact: the same problems on another name, or another problem on a Triton
  // name, are not allowed.
  auto [rc2, out2] = check(
      "# HELP other_duration_us x\n# TYPE other_duration_us counter\nother_duration_us 1\n"
      "# HELP nv_inference_request_success_seconds x\n"
      "# TYPE nv_inference_request_success_seconds counter\n"
      "nv_inference_request_success_seconds 1\n");
  EXPECT_EQ(rc2, 3) << out2;
  EXPECT_EQ(metrics::disallowedLint(out2).size(), 3u) << out2;
  EXPECT_EQ(metrics::disallowedLint("garbage\n").size(), 1u);
}

// The recording functions alone: exact sums for known durations.
TEST(ServingMetricsRecording, RecordsTritonsCountersAndTheStatistics) {
  metrics::Registry registry;
  ModelMetrics mm = registerModelMetrics(registry, "m", "1");
  ModelStats st;
  WorkResult r;
  r.queue_time = 3us;
  r.compute_input_time = 5us;
  r.compute_time = 7us;
  r.compute_output_time = 11us;
  recordSuccess(mm, st, 100us, r, /*from_cache=*/false);
  recordSuccess(mm, st, 100us, r, /*from_cache=*/false);
  recordSuccess(mm, st, 40us, r, /*from_cache=*/true);  // a hit: no queue or compute
  recordFailure(mm, st, FailureReason::kRejected, 2us);
  recordFailure(mm, st, FailureReason::kCanceled, 0us);
  BatchStats b;
  b.rows = 4;
  b.requests = 2;
  b.compute_input_time = 5us;
  b.compute_time = 7us;
  b.compute_output_time = 11us;
  recordBatch(mm, st, b);
  recordBatch(mm, st, b);
  b.rows = 1;
  recordBatch(mm, st, b);
  b.ok = false;
  recordBatch(mm, st, b);  // failed batches are not executions
  // Sub-microsecond times add up: 3 × 400 ns of compute input make 1 whole µs.
  WorkResult small;
  small.compute_input_time = 400ns;
  ModelStats st2;
  ModelMetrics mm2 = registerModelMetrics(registry, "m2", "1");
  for (int i = 0; i < 3; ++i) recordSuccess(mm2, st2, 0ns, small, false);
  EXPECT_EQ(st2.compute_input_ns.load(), 1200u);
  EXPECT_EQ(mm2.compute_input_us->value(), 1);

  EXPECT_EQ(mm.success->value(), 3);
  EXPECT_EQ(mm.request_us->value(), 240);
  EXPECT_EQ(mm.queue_us->value(), 6);
  EXPECT_EQ(mm.compute_input_us->value(), 10);
  EXPECT_EQ(mm.compute_infer_us->value(), 14);
  EXPECT_EQ(mm.compute_output_us->value(), 22);
  EXPECT_EQ(mm.fail_rejected->value(), 1);
  EXPECT_EQ(mm.fail_canceled->value(), 1);
  EXPECT_EQ(mm.fail_backend->value(), 0);
  EXPECT_EQ(mm.exec_count->value(), 3);
  EXPECT_EQ(mm.inference_count->value(), 9);

  EXPECT_EQ(st.success_count.load(), 3u);
  EXPECT_EQ(st.success_ns.load(), 240000u);
  EXPECT_EQ(st.queue_count.load(), 3u);  // Triton: every success, a hit waited 0
  EXPECT_EQ(st.queue_ns.load(), 6000u);
  EXPECT_EQ(st.compute_count.load(), 2u);
  EXPECT_EQ(st.compute_input_ns.load(), 10000u);
  EXPECT_EQ(st.compute_ns.load(), 14000u);
  EXPECT_EQ(st.compute_output_ns.load(), 22000u);
  EXPECT_EQ(st.fail_count.load(), 2u);
  EXPECT_EQ(st.fail_ns.load(), 2000u);
  EXPECT_EQ(st.execution_count.load(), 3u);
  EXPECT_EQ(st.inference_count.load(), 9u);
  std::vector<BatchSizeStats> bs = st.batchStats();
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(bs[0].batch_size, 1u);
  EXPECT_EQ(bs[0].count, 1u);
  EXPECT_EQ(bs[1].batch_size, 4u);
  EXPECT_EQ(bs[1].count, 2u);
  EXPECT_EQ(bs[1].compute_input_ns, 10000u);
  EXPECT_EQ(bs[1].compute_infer_ns, 14000u);
  EXPECT_EQ(bs[1].compute_output_ns, 22000u);
}

TEST(ServingMetricsRegistry, OnlyAllowlistedCountersMayGoWithoutTotal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  metrics::Registry registry;
  registry.counter("nv_inference_request_success", "x", {"model"});  // Triton's: allowed
  EXPECT_DEATH(registry.counter("requests", "x"), "must end in _total");
  EXPECT_DEATH(registry.counter("nv_inference_request_success_us", "x"), "must end in _total");
}

}  // namespace
}  // namespace surge::serving
