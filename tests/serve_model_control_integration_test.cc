// End-to-end tests of model control (--model-control-mode): the real `surge serve` on
// 127.0.0.1:0 with a synthetic repository the test writes and changes. Explicit load / unload /
// index; unload while requests are in flight (they finish, new ones fail clearly, another model
// is unaffected); poll mode applying a new model, a new version, a changed config, a broken config
// and a removed model while steady clients see no error; config overrides; none mode's refusal.
// Every wait is bounded (poll interval 1 s).
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

std::string param(const std::string& key, const std::string& value) {
  return "parameters { key: \"" + key + "\" value { string_value: \"" + value + "\" } }\n";
}

std::string inferBody(float v) {
  json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, 4}}, {"data", {v, 1, 2, 3}}};
  return json({{"inputs", {x}}}).dump();
}

// Replaces a file in one step (rename), so a poll never reads half of it.
void writeAtomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

class ModelControlIntegration : public ::testing::Test {
 protected:
  void TearDown() override { server_.stop(); }

  fs::path repo() const { return dir_ / "repo"; }
  void model(const std::string& name, const std::string& config,
             std::vector<std::string> versions = {"1"}) {
    writeModel(repo(), name, config, versions);
  }

  void startServe(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--workers", "2"});
    ASSERT_TRUE(testing::startServe(server_, repo(), dir_.file("serve.log"), extra, 15s));
    port_ = server_.port();
  }

  HttpResult post(const std::string& target, const std::string& body = "",
                  std::chrono::milliseconds timeout = 15000ms) {
    return httpRequest(port_, "POST", target, {{"Content-Type", "application/json"}}, body,
                       timeout);
  }
  HttpResult infer(const std::string& model, float v = 1) {
    return post("/v2/models/" + model + "/infer", inferBody(v), 10000ms);
  }
  json index(const std::string& body = "") {
    auto r = post("/v2/repository/index", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The index entry of model/version ("" = the entry without version), or null.
  json entry(const std::string& name, const std::string& version) {
    for (const auto& e : index()) {
      if (e["name"] == name && e.value("version", "") == version) return e;
    }
    return nullptr;
  }
  std::string logText() const { return server_.log(); }

  ScratchDir dir_{"serve-mc"};
  ServerProcess server_;
  int port_ = 0;
};

TEST_F(ModelControlIntegration, ExplicitLoadUnloadAndIndex) {
  model("a", syntheticConfig(8));
  model("b", syntheticConfig(8));
  startServe({"--model-control-mode", "explicit", "--load-model", "a"});

  EXPECT_EQ(index(), json::parse(R"([{"name":"a","version":"1","state":"READY"},{"name":"b"}])"));
  EXPECT_EQ(infer("a").status, 200);
  auto r = infer("b");
  EXPECT_EQ(r.status, 404) << r.body;

  r = post("/v2/repository/models/b/load");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(httpGet(port_, "/v2/models/b/ready").status, 200);  // load answers once ready
  r = infer("b", 5);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"][0]["data"], json::array({11, 12}));
  EXPECT_EQ(index(R"({"ready":true})").size(), 2u);

  r = post("/v2/repository/models/b/unload", R"({"parameters":{"unload_dependents":false}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = infer("b");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"], "unknown model 'b'");
  EXPECT_EQ(httpGet(port_, "/v2/models/b/ready").status, 404);
  EXPECT_EQ(entry("b", "1"),
            json::parse(R"({"name":"b","version":"1","state":"UNAVAILABLE","reason":"unloaded"})"));
  EXPECT_EQ(index(R"({"ready":true})"),
            json::parse(R"([{"name":"a","version":"1","state":"READY"}])"));
  EXPECT_EQ(httpGet(port_, "/v2/health/ready").status, 200);  // every loaded model is ready

  r = post("/v2/repository/models/nope/load");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("failed to load 'nope'"),
            std::string::npos);
  EXPECT_EQ(httpRequest(port_, "GET", "/v2/repository/models/a/load").status, 405);
}

TEST_F(ModelControlIntegration, ConfigOverride) {
  model("m", syntheticConfig(8));
  startServe({"--model-control-mode", "explicit", "--load-model", "*"});
  // Read the config back, change it, load it as an override (Triton's round trip).
  json config = json::parse(httpGet(port_, "/v2/models/m/config").body);
  config["max_batch_size"] = 2;
  auto r = post("/v2/repository/models/m/load",
                json({{"parameters", {{"config", config.dump()}}}}).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(httpGet(port_, "/v2/models/m/config").body)["max_batch_size"], 2);

  // Not JSON / not a valid config: 400 with a clear error, the model keeps serving.
  r = post("/v2/repository/models/m/load", R"({"parameters":{"config":"{\"max_batch_size\":"}})");
  EXPECT_EQ(r.status, 400);
  json err = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(err.is_object()) << r.body;
  EXPECT_EQ(err["error"].get<std::string>().rfind("Invalid config override: ", 0), 0u) << r.body;
  r = post("/v2/repository/models/m/load",
           R"({"parameters":{"config":"{\"backend\":\"synthetic\",\"max_batch_size\":-3}"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("load failed for model 'm'"), std::string::npos) << r.body;
  r = post("/v2/repository/models/m/load", R"({"parameters":{"file:1/model.pt":"AAAA"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not supported"), std::string::npos) << r.body;
  EXPECT_EQ(post("/v2/repository/models/m/load", "{").status, 400);
  EXPECT_EQ(infer("m").status, 200);

  // A load without override goes back to config.pbtxt.
  ASSERT_EQ(post("/v2/repository/models/m/load").status, 200);
  EXPECT_EQ(json::parse(httpGet(port_, "/v2/models/m/config").body)["max_batch_size"], 8);
}

TEST_F(ModelControlIntegration, UnloadDrainsRequestsInFlightAndSparesOtherModels) {
  // One instance, 4 rows per batch, 250 ms a batch: 12 requests take ~750 ms.
  model("slow", syntheticConfig(4, "dynamic_batching { }\n" + param("base_latency_us", "250000")));
  model("other", syntheticConfig(8));
  startServe({"--model-control-mode", "explicit", "--load-model", "*"});

  constexpr int kInFlight = 12;
  std::atomic<int> slow_ok{0}, slow_bad{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kInFlight; ++i) {
    clients.emplace_back([&, i] {
      auto r = infer("slow", static_cast<float>(i));
      (r.status == 200 ? slow_ok : slow_bad)++;
    });
  }
  std::atomic<bool> stop{false};
  std::atomic<int> other_ok{0}, other_bad{0};
  std::thread other([&] {
    while (!stop.load()) (infer("other").status == 200 ? other_ok : other_bad)++;
  });
  std::this_thread::sleep_for(150ms);  // every slow request has been received and queued

  auto t0 = std::chrono::steady_clock::now();
  HttpResult unloaded;
  std::thread unloader([&] { unloaded = post("/v2/repository/models/slow/unload"); });
  // Out of lookup at once: new requests fail clearly while the old ones drain.
  ASSERT_TRUE(waitUntil([&] { return httpGet(port_, "/v2/models/slow/ready").status == 404; }, 5s,
                        5ms, "slow out of lookup"));
  auto late = infer("slow");
  EXPECT_EQ(late.status, 404);
  EXPECT_EQ(json::parse(late.body)["error"], "unknown model 'slow'");
  json e = entry("slow", "1");
  if (slow_ok.load() < kInFlight) {
    EXPECT_EQ(e["state"], "UNLOADING") << e;
  }
  EXPECT_EQ(httpGet(port_, "/v2/health/ready").status, 200);

  for (auto& t : clients) t.join();
  unloader.join();
  stop = true;
  other.join();
  EXPECT_EQ(slow_ok.load(), kInFlight);
  EXPECT_EQ(slow_bad.load(), 0);
  EXPECT_EQ(unloaded.status, 200) << unloaded.body;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);  // it waited for the drain
  EXPECT_GT(other_ok.load(), 0);
  EXPECT_EQ(other_bad.load(), 0);
  EXPECT_EQ(entry("slow", "1")["reason"], "unloaded");
  EXPECT_EQ(logText().find("still in flight"), std::string::npos) << logText();
}

TEST_F(ModelControlIntegration, PollAppliesRepositoryChangesWithoutErrors) {
  model("steady", syntheticConfig(8));
  model("ver", syntheticConfig(8));
  model("gone", syntheticConfig(8));
  startServe({"--model-control-mode", "poll", "--repository-poll-secs", "1"});

  // Steady clients: one on a model that never changes, one on a model that gets a new version.
  std::atomic<bool> stop{false};
  std::atomic<int> steady_ok{0}, steady_bad{0}, ver_ok{0}, ver_bad{0};
  std::string ver_error;
  std::thread steady([&] {
    while (!stop.load()) (infer("steady").status == 200 ? steady_ok : steady_bad)++;
  });
  std::thread ver([&] {
    while (!stop.load()) {
      auto r = infer("ver");
      if (r.status == 200) {
        ++ver_ok;
      } else {
        ++ver_bad;
        ver_error = r.body;
      }
    }
  });

  // Explicit requests are refused in poll mode.
  EXPECT_EQ(post("/v2/repository/models/steady/unload").status, 503);

  // A new model.
  model("fresh", syntheticConfig(8));
  ASSERT_TRUE(waitUntil([&] { return httpGet(port_, "/v2/models/fresh/ready").status == 200; }, 10s,
                        50ms, "fresh loaded"))
      << logText();
  // A new version (latest policy: 2 replaces 1).
  fs::create_directories(repo() / "ver" / "2");
  ASSERT_TRUE(
      waitUntil([&] { return httpGet(port_, "/v2/models/ver/versions/2/ready").status == 200; },
                10s, 50ms, "ver 2 loaded"))
      << logText();
  ASSERT_TRUE(
      waitUntil([&] { return httpGet(port_, "/v2/models/ver/versions/1/ready").status == 404; },
                10s, 50ms, "ver 1 unloaded"));
  // A changed config.
  writeAtomically(repo() / "fresh" / "config.pbtxt", syntheticConfig(4));
  ASSERT_TRUE(waitUntil(
      [&] {
        json c = json::parse(httpGet(port_, "/v2/models/fresh/config").body, nullptr, false);
        return c.is_object() && c["max_batch_size"] == 4;
      },
      10s, 50ms, "fresh reloaded with max_batch_size 4"));
  // A broken config: the old version keeps serving, the index says why.
  writeAtomically(repo() / "fresh" / "config.pbtxt", "max_batch_size: [");
  ASSERT_TRUE(waitUntil(
      [&] {
        json e = entry("fresh", "1");
        return e.is_object() && e.value("reason", "").find("load failed") != std::string::npos;
      },
      10s, 50ms, "the broken config reported"));
  EXPECT_EQ(entry("fresh", "1")["state"], "READY");
  EXPECT_EQ(infer("fresh").status, 200);
  // A removed model.
  fs::remove_all(repo() / "gone");
  ASSERT_TRUE(waitUntil([&] { return httpGet(port_, "/v2/models/gone/ready").status == 404; }, 10s,
                        50ms, "gone unloaded"));
  EXPECT_TRUE(entry("gone", "1").is_null());  // not in the repository any more

  stop = true;
  steady.join();
  ver.join();
  EXPECT_GT(steady_ok.load(), 0);
  EXPECT_EQ(steady_bad.load(), 0);
  EXPECT_GT(ver_ok.load(), 0);
  EXPECT_EQ(ver_bad.load(), 0) << ver_error;
  EXPECT_EQ(httpGet(port_, "/v2/health/ready").status, 200);
}

// The gateway probing each replica's per-model readiness: a replica that unloads the model leaves
// rotation (404 fails the probe), and comes back once the model is loaded again.
TEST_F(ModelControlIntegration, GatewayFollowsPerModelReadiness) {
  model("m", syntheticConfig(8));
  ServerProcess second;
  ScratchDir second_dir("serve-mc-b");
  ASSERT_TRUE(testing::startServe(second, repo(), second_dir.file("serve.log"),
                                  {"--model-control-mode", "explicit", "--load-model", "m"}, 15s));
  startServe({"--model-control-mode", "explicit", "--load-model", "m"});
  ServerProcess gateway;
  ASSERT_TRUE(startGateway(
      gateway, dir_,
      // round_robin: a replica back in rotation gets the next request whatever the latency
      // history says (this test is about the health check, not the algorithm).
      std::string(kLocalGateway) + "algorithm: round_robin\n" +
          "health_check: {path: /v2/models/m/ready, interval: 100ms, timeout: 1s, "
          "unhealthy_threshold: 1, healthy_threshold: 1}\n" +
          backendsYaml({port_, second.port()})));
  auto through = [&] {
    return httpRequest(gateway.port(), "POST", "/v2/models/m/infer",
                       {{"Content-Type", "application/json"}}, inferBody(1), 10000ms)
        .status;
  };
  auto successes = [](int port) {
    auto r = httpGet(port, "/v2/models/m/stats");
    json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) return -1;
    return j["model_stats"][0]["inference_stats"]["success"]["count"].get<int>();
  };
  for (int i = 0; i < 10; ++i) ASSERT_EQ(through(), 200);

  ASSERT_EQ(post("/v2/repository/models/m/unload").status, 200);
  std::this_thread::sleep_for(500ms);  // a few probe intervals
  int before = successes(second.port());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(through(), 200) << "routed to the replica without m";
  EXPECT_EQ(successes(second.port()), before + 20);

  ASSERT_EQ(post("/v2/repository/models/m/load").status, 200);
  ASSERT_TRUE(waitUntil(
      [&] {
        through();
        return successes(port_) > 0;
      },
      20s, 50ms, "the first replica back in rotation"));
}

TEST_F(ModelControlIntegration, NoneModeRefusesLoadAndUnload) {
  model("m", syntheticConfig(8));
  startServe({});
  for (const char* action : {"load", "unload"}) {
    auto r = post(std::string("/v2/repository/models/m/") + action);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"],
              "explicit model load / unload is not allowed if polling is enabled");
  }
  EXPECT_EQ(infer("m").status, 200);
  EXPECT_EQ(index(), json::parse(R"([{"name":"m","version":"1","state":"READY"}])"));
}

TEST_F(ModelControlIntegration, BadNamesAndRepositoryNames) {
  model("steady", syntheticConfig(8));
  startServe({"--model-control-mode", "explicit", "--load-model", "steady", "--load-model",
              "steady"});
  // --load-model named twice serves the model once.
  EXPECT_EQ(index(), json::parse(R"([{"name":"steady","version":"1","state":"READY"}])"));
  const json override_config = {
      {"backend", "synthetic"},
      {"max_batch_size", 2},
      {"input", {{{"name", "x"}, {"data_type", "TYPE_FP32"}, {"dims", {4}}}}},
      {"output", {{{"name", "y"}, {"data_type", "TYPE_FP32"}, {"dims", {2}}}}}};
  const std::string override_body =
      json({{"parameters", {{"config", override_config.dump()}}}}).dump();
  // The NUL would have cut the name to "steady" on the file system: a copy under this name.
  for (const std::string& name : {std::string("steady%00%FF%0Ainjected"), std::string("..")}) {
    auto r = post("/v2/repository/models/" + name + "/load", override_body);
    EXPECT_EQ(r.status, 400) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << r.body;
    EXPECT_EQ(body["error"].get<std::string>().rfind("invalid model name '", 0), 0u) << r.body;
    EXPECT_EQ(post("/v2/repository/models/" + name + "/unload").status, 400);
  }
  EXPECT_EQ(index().size(), 1u);
  auto metrics = httpGet(port_, "/metrics");
  EXPECT_EQ(metrics.body.find("injected"), std::string::npos);
  EXPECT_EQ(logText().find("injected"), std::string::npos);
  // Unknown names: 400 for load, 200 for unload, no state (the index stays as it was).
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(post("/v2/repository/models/nope" + std::to_string(i) + "/load").status, 400);
    EXPECT_EQ(post("/v2/repository/models/nope" + std::to_string(i) + "/unload").status, 200);
  }
  EXPECT_EQ(index().size(), 1u);
  // A named repository: Triton's UNSUPPORTED text.
  auto r = post("/v2/repository/other/models/steady/load");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"], "'repository_name' specification is not supported");
}

TEST_F(ModelControlIntegration, ShutdownDoesNotWaitForASlowLoad) {
  model("steady", syntheticConfig(8));
  model("slow", syntheticConfig(8, param("load_latency_us", "30000000")));  // 30 s
  startServe({"--model-control-mode", "explicit", "--load-model", "steady", "--drain-timeout",
              "2s"});
  std::thread loader([&] { (void)post("/v2/repository/models/slow/load", "", 60000ms); });
  ASSERT_TRUE(waitUntil(
      [&] {
        json e = entry("slow", "1");
        return e.is_object() && e["state"] == "LOADING";
      },
      10s, 10ms, "slow is loading"));
  auto t0 = std::chrono::steady_clock::now();
  server_.signal(SIGTERM);
  auto code = server_.wait(10s);
  EXPECT_TRUE(code.has_value()) << logText();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << logText();
  loader.join();
}

TEST_F(ModelControlIntegration, ShutdownDoesNotWaitForAStartupModelStillLoading) {
  model("slow", syntheticConfig(8, param("load_latency_us", "30000000")));  // 30 s
  ASSERT_TRUE(testing::startServe(server_, repo(), dir_.file("serve.log"),
                                  {"--drain-timeout", "1s"}, 0ms));
  std::this_thread::sleep_for(300ms);  // inside the backend's load
  auto t0 = std::chrono::steady_clock::now();
  server_.signal(SIGTERM);
  EXPECT_TRUE(server_.wait(10s).has_value()) << logText();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s) << logText();
}

TEST_F(ModelControlIntegration, PollModeStartsWithAnEmptyOrUnfinishedRepository) {
  fs::create_directories(repo());
  startServe({"--model-control-mode", "poll", "--repository-poll-secs", "1"});
  EXPECT_EQ(index(), json::array());
  fs::create_directories(repo() / "half" / "1");  // no config.pbtxt yet
  model("m", syntheticConfig(8));
  ASSERT_TRUE(waitUntil([&] { return infer("m").status == 200; }, 10s, 50ms, "m loaded"));
  json half = entry("half", "");
  ASSERT_TRUE(half.is_object()) << index();
  EXPECT_EQ(half["state"], "UNAVAILABLE");
  EXPECT_NE(half["reason"].get<std::string>().find("half: missing config.pbtxt"),
            std::string::npos)
      << half;
  server_.stop();
  // A restart with the unfinished folder still there serves the rest.
  startServe({"--model-control-mode", "poll", "--repository-poll-secs", "1"});
  EXPECT_EQ(infer("m").status, 200);
  ASSERT_TRUE(waitUntil([&] { return entry("half", "").is_object(); }, 5s, 20ms, "half listed"));
  EXPECT_EQ(entry("half", "")["state"], "UNAVAILABLE");
}

TEST_F(ModelControlIntegration, UsageErrors) {
  model("m", syntheticConfig(8));
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {surgeBinary(),   "serve",      "--model-repository",
                                     repo().string(), "--listen",   "127.0.0.1:0",
                                     "--grpc-listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runToExit(argv, dir_.file("usage.log"), 10s);
  };
  EXPECT_EQ(run({"--load-model", "m"}), 2);  // needs explicit mode
  EXPECT_EQ(run({"--model-control-mode", "explicit", "--load-model", "*", "--load-model", "m"}), 2);
  EXPECT_EQ(run({"--model-control-mode", "sometimes"}), 2);
  EXPECT_EQ(run({"--model-control-mode", "poll", "--repository-poll-secs", "0"}), 2);
  EXPECT_EQ(run({"--model-control-mode", "explicit", "--load-model", "nope"}), 2);
}

}  // namespace
}  // namespace surge::testing
