// The Open Inference Protocol over real HTTP: an in-process ModelServer on 127.0.0.1:0 serving a
// synthetic model repository written by the test. Every endpoint and every error status.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <thread>

#include <zlib.h>

#include "runtime/builtin_backends.h"
#include "serving/http_compression.h"
#include "serving/model_server.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace nt = surge::testing;

constexpr const char* kSimple = R"(
backend: "synthetic"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] },
         { name: "n" data_type: TYPE_INT32 dims: [ 1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 100 }
instance_group [ { count: 2 kind: KIND_CPU } ]
)";

struct Reply {
  int status = 0;
  std::string raw;
  std::string body;
  json j;
};

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::registerBuiltinBackends(backends_);
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void model(const std::string& name, const std::string& config,
             std::vector<std::string> versions = {"1"}) {
    std::filesystem::create_directories(dir_ / name);
    std::ofstream(dir_ / name / "config.pbtxt") << config;
    for (const auto& v : versions) std::filesystem::create_directories(dir_ / name / v);
  }

  void start(ModelServerOptions options = {}, bool wait_ready = true) {
    auto repo = loadRepository(dir_.string(), backends_);
    ASSERT_TRUE(repo.isOk()) << repo.status().message();
    options.listen = "127.0.0.1:0";
    options.workers = 2;
    options.server_version = "9.9.9";
    server_ = std::make_unique<ModelServer>(options, std::move(repo).value(), backends_, registry_,
                                            SteadyClock::instance());
    Status s = server_->start();
    ASSERT_TRUE(s.isOk()) << s.message();
    port_ = server_->port();
    runner_ = std::thread([this] { exit_code_ = server_->run(); });
    if (wait_ready) {
      ASSERT_TRUE(server_->models().waitLoaded(10s));
    }
  }

  void stop() {
    if (!server_) return;
    server_->requestShutdown();
    if (runner_.joinable()) runner_.join();
    server_.reset();
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "") {
    Reply r;
    r.raw = nt::httpExchange(port_, method, target, body,
                             body.empty() ? "" : "Content-Type: application/json\r\n");
    r.status = nt::statusOf(r.raw);
    r.body = nt::bodyOf(r.raw);
    r.j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    return r;
  }

  static std::string inferBody(const std::string& id, std::vector<std::vector<float>> rows,
                               const std::string& extra = "") {
    json x = {{"name", "x"},
              {"datatype", "FP32"},
              {"shape", {rows.size(), rows.empty() ? 0 : rows[0].size()}},
              {"data", rows}};
    json j = {{"inputs", {x}}};
    if (!id.empty()) j["id"] = id;
    std::string s = j.dump();
    if (!extra.empty()) s.insert(1, extra + ",");
    return s;
  }

  // Polls a condition on the in-process server (an event, not a decision) for up to 10 s.
  template <class F>
  ::testing::AssertionResult eventually(F f) {
    return nt::waitUntil(f, 10s, 1ms);
  }

  runtime::BackendRegistry backends_;
  metrics::Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<ModelServer> server_;
  std::thread runner_;
  int exit_code_ = -1;
  uint16_t port_ = 0;
};

TEST_F(HttpApiTest, HealthAndServerMetadata) {
  model("simple", kSimple);
  start();
  Reply live = call("GET", "/v2/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.j, json({{"live", true}}));
  Reply ready = call("GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.j, json({{"ready", true}}));
  Reply meta = call("GET", "/v2");
  EXPECT_EQ(meta.status, 200);
  EXPECT_EQ(meta.j["name"], "surge");
  EXPECT_EQ(meta.j["version"], "9.9.9");
  EXPECT_TRUE(meta.j["extensions"].is_array());
  EXPECT_EQ(call("POST", "/v2/health/live").status, 405);
  Reply wrong = call("POST", "/v2/health/ready");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.raw.find("Allow: GET"), std::string::npos);
  EXPECT_TRUE(wrong.j.contains("error"));
}

TEST_F(HttpApiTest, ModelMetadataAndVersions) {
  model("simple", std::string(kSimple) + "version_policy { all {} }", {"1", "2"});
  start();
  Reply m = call("GET", "/v2/models/simple");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.j["name"], "simple");
  EXPECT_EQ(m.j["versions"], json::array({"1", "2"}));
  EXPECT_EQ(m.j["platform"], "synthetic");
  EXPECT_EQ(m.j["inputs"], json::parse(R"([{"name":"x","datatype":"FP32","shape":[-1,3]}])"));
  EXPECT_EQ(m.j["outputs"][1], json::parse(R"({"name":"n","datatype":"INT32","shape":[-1,1]})"));
  EXPECT_EQ(call("GET", "/v2/models/simple/versions/2").status, 200);
  Reply nov = call("GET", "/v2/models/simple/versions/3");
  EXPECT_EQ(nov.status, 404);
  EXPECT_EQ(nov.j["error"], "model 'simple' has no version '3' (serving 1, 2)");
  EXPECT_EQ(call("GET", "/v2/models/simple/versions/x").status, 404);
  Reply unknown = call("GET", "/v2/models/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.j["error"], "unknown model 'nope'");
  EXPECT_EQ(call("POST", "/v2/models/simple").status, 405);
}

TEST_F(HttpApiTest, ModelReadiness) {
  model("simple", kSimple);
  start();
  Reply r = call("GET", "/v2/models/simple/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.j, json({{"name", "simple"}, {"version", "1"}, {"ready", true}}));
  EXPECT_EQ(call("GET", "/v2/models/simple/versions/1/ready").status, 200);
  EXPECT_EQ(call("GET", "/v2/models/nope/ready").status, 404);
  EXPECT_EQ(call("GET", "/v2/models/simple/versions/7/ready").status, 404);
  EXPECT_EQ(call("PUT", "/v2/models/simple/ready").status, 405);
}

TEST_F(HttpApiTest, InferAnswersWithTheRequestsOwnRows) {
  model("simple", kSimple);
  start();
  Reply r = call("POST", "/v2/models/simple/infer", inferBody("abc", {{1, 2, 3}, {10, 20, 30}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j["model_name"], "simple");
  EXPECT_EQ(r.j["model_version"], "1");
  EXPECT_EQ(r.j["id"], "abc");
  ASSERT_EQ(r.j["outputs"].size(), 2u);
  EXPECT_EQ(r.j["outputs"][0]["name"], "y");
  EXPECT_EQ(r.j["outputs"][0]["shape"], json::array({2, 2}));
  EXPECT_EQ(r.j["outputs"][0]["data"], json::array({6, 7, 60, 61}));  // row sum + j
  EXPECT_EQ(r.j["outputs"][1]["data"], json::array({6, 60}));
  Reply v = call("POST", "/v2/models/simple/versions/1/infer",
                 inferBody("", {{1, 1, 1}}, R"("outputs":[{"name":"n"}])"));
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_FALSE(v.j.contains("id"));
  ASSERT_EQ(v.j["outputs"].size(), 1u);
  EXPECT_EQ(v.j["outputs"][0]["data"], json::array({3}));
}

TEST_F(HttpApiTest, BinaryTensorDataRoundTrip) {
  model("simple", kSimple);
  start();
  std::string header =
      R"({"id":"bin","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32",)"
      R"("parameters":{"binary_data_size":24}}],"outputs":[{"name":"y","parameters":)"
      R"({"binary_data":true}},{"name":"n"}]})";
  float x[6] = {1, 2, 3, 10, 20, 30};
  std::string body = header + std::string(reinterpret_cast<const char*>(x), sizeof x);
  Reply r = call("POST", "/v2/models/simple/infer", body);
  EXPECT_EQ(r.status, 400);  // without the header the body is not JSON
  std::string raw = nt::httpExchange(
      port_, "POST", "/v2/models/simple/infer", body,
      "Inference-Header-Content-Length: " + std::to_string(header.size()) + "\r\n");
  ASSERT_EQ(nt::statusOf(raw), 200) << raw;
  size_t h = raw.find("Inference-Header-Content-Length: ");
  ASSERT_NE(h, std::string::npos) << raw;
  size_t json_length = std::stoul(raw.substr(h + 33));
  EXPECT_NE(raw.find("Content-Type: application/octet-stream"), std::string::npos);
  std::string resp = nt::bodyOf(raw);
  ASSERT_EQ(resp.size(), json_length + 16);
  json j = json::parse(resp.substr(0, json_length));
  EXPECT_EQ(j["id"], "bin");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_EQ(j["outputs"][1]["data"], json::array({6, 60}));
  float y[4];
  std::memcpy(y, resp.data() + json_length, sizeof y);
  EXPECT_EQ(y[0], 6);
  EXPECT_EQ(y[1], 7);
  EXPECT_EQ(y[2], 60);
  EXPECT_EQ(y[3], 61);
  std::string bad = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", body,
                                     "Inference-Header-Content-Length: twelve\r\n");
  EXPECT_EQ(nt::statusOf(bad), 400);
  EXPECT_NE(call("GET", "/v2").j["extensions"].dump().find("binary_tensor_data"),
            std::string::npos);
}

TEST_F(HttpApiTest, ConcurrentClientsGetTheirOwnAnswers) {
  model("simple", kSimple);
  start();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, wrong{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        float v = static_cast<float>(t * 100 + i);
        std::string raw =
            nt::httpExchange(port_, "POST", "/v2/models/simple/infer", inferBody("c", {{v, 0, 0}}));
        json j = json::parse(nt::bodyOf(raw), nullptr, false);
        if (nt::statusOf(raw) == 200 && j["outputs"][0]["data"] == json::array({v, v + 1})) {
          ++ok;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(HttpApiTest, InvalidRequestsAre400) {
  model("simple", kSimple);
  start();
  Reply bad = call("POST", "/v2/models/simple/infer", "{\"inputs\": [");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.j["error"].get<std::string>().find("malformed JSON"), std::string::npos);
  Reply dt = call("POST", "/v2/models/simple/infer",
                  R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"INT32","data":[1,2,3]}]})");
  EXPECT_EQ(dt.status, 400);
  EXPECT_NE(dt.j["error"].get<std::string>().find("datatype INT32"), std::string::npos);
  EXPECT_EQ(call("POST", "/v2/models/simple/infer",
                 R"({"inputs":[{"name":"q","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})")
                .status,
            400);
  EXPECT_EQ(call("POST", "/v2/models/simple/infer",
                 inferBody("", {{1, 2, 3}}, R"("outputs":[{"name":"zz"}])"))
                .status,
            400);
  EXPECT_EQ(call("POST", "/v2/models/simple/infer",
                 R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2]}]})")
                .status,
            400);
  EXPECT_EQ(call("POST", "/v2/models/simple/infer",
                 R"({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})")
                .status,
            400);
}

TEST_F(HttpApiTest, UnknownModelVersionAndRoutes) {
  model("simple", kSimple);
  start();
  EXPECT_EQ(call("POST", "/v2/models/nope/infer", inferBody("", {{1, 2, 3}})).status, 404);
  EXPECT_EQ(call("POST", "/v2/models/simple/versions/2/infer", inferBody("", {{1, 2, 3}})).status,
            404);
  Reply get_infer = call("GET", "/v2/models/simple/infer");
  EXPECT_EQ(get_infer.status, 405);
  EXPECT_NE(get_infer.raw.find("Allow: POST"), std::string::npos);
  EXPECT_EQ(call("GET", "/v3").status, 404);
  EXPECT_EQ(call("GET", "/v2/models").status, 404);
  EXPECT_EQ(call("GET", "/v2/models/simple/explain").status, 404);
  EXPECT_EQ(call("GET", "/v2/models/simple/versions").status, 404);
  Reply r = call("GET", "/v2/models/simple/ready/more");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.j.contains("error"));
}

TEST_F(HttpApiTest, ErrorBodiesAreValidUtf8JsonWhateverTheUrlHolds) {
  model("simple", kSimple);
  start();
  for (const char* target : {"/v2/models/%ff%fe%0a/infer", "/v2/models/%ff%fe%0a",
                             "/v2/models/%c3%28%00x/ready", "/v2/%ed%a0%80/nothing"}) {
    Reply r = call(std::string(target).ends_with("infer") ? "POST" : "GET", target,
                   inferBody("", {{1, 2, 3}}));
    EXPECT_EQ(r.status, 404) << target;
    // nlohmann's parser rejects invalid UTF-8 and raw control characters.
    ASSERT_FALSE(r.j.is_discarded()) << target << ": " << r.body;
    EXPECT_NE(r.j["error"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << r.body;
  }
}

TEST_F(HttpApiTest, HostileShapesAre400AndTheServerStaysUp) {
  model("var", R"(
backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
)");
  start();
  for (const char* shape : {"1000000000000", "500000000", "9223372036854775807"}) {
    Reply r = call("POST", "/v2/models/var/infer",
                   std::string(R"({"inputs":[{"name":"x","shape":[)") + shape +
                       R"(],"datatype":"FP32","data":[1]}]})");
    EXPECT_EQ(r.status, 400) << shape;
    EXPECT_NE(r.j.value("error", "").find("data has 1"), std::string::npos) << r.body;
  }
  Reply ok = call("POST", "/v2/models/var/infer",
                  R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(RequestBoundary, AllocationFailuresBecomeThisRequestsError) {
  Status s = guarded([]() -> Status { throw std::bad_alloc(); });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(httpStatusFor(s), 503);
  s = guarded([]() -> Status { throw std::length_error("vector"); });
  EXPECT_EQ(httpStatusFor(s), 503);
  s = guarded([]() -> Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(httpStatusFor(s), 500);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  // A tensor whose byte size cannot be expressed throws length_error (caught as above).
  EXPECT_THROW(runtime::Tensor(runtime::DataType::kFp64, {int64_t{1} << 62, 4}), std::length_error);
  EXPECT_THROW(runtime::Tensor(runtime::DataType::kFp32, {int64_t{1} << 40, int64_t{1} << 40}),
               std::length_error);
}

TEST_F(HttpApiTest, BodyTooLargeIs413) {
  model("simple", kSimple);
  ModelServerOptions o;
  o.max_request_bytes = 1024;
  start(o);
  std::string big = inferBody("", {{1, 2, 3}}) + std::string(2000, ' ');
  Reply r = call("POST", "/v2/models/simple/infer", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.j.contains("error"));
  EXPECT_EQ(call("POST", "/v2/models/simple/infer", inferBody("", {{1, 2, 3}})).status, 200);
}

TEST_F(HttpApiTest, QueueFullAndQueueTimeoutAre503) {
  model("slow", R"(
backend: "synthetic"
max_batch_size: 1
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
dynamic_batching { default_queue_policy { max_queue_size: 1 default_timeout_microseconds: 50000 } }
parameters { key: "base_latency_us" value { string_value: "300000" } }
)");
  start();
  std::shared_ptr<ServedModel> m = *server_->models().find("slow", "");
  std::string body = inferBody("", {{1, 2, 3}});
  std::string req = "POST /v2/models/slow/infer HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  int a = nt::connectTo(port_);
  ASSERT_GE(a, 0);
  ASSERT_TRUE(nt::sendAll(a, req));
  ASSERT_TRUE(eventually([&] { return m->batcher().executing() == 1; }));
  int b = nt::connectTo(port_);
  ASSERT_TRUE(nt::sendAll(b, req));
  ASSERT_TRUE(eventually([&] { return m->batcher().queueLength() == 1; }));
  Reply full = call("POST", "/v2/models/slow/infer", body);
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.j["error"], "Exceeds maximum queue size");
  std::string ra = nt::readResponse(a, 10s), rb = nt::readResponse(b, 10s);
  ::close(a);
  ::close(b);
  EXPECT_EQ(nt::statusOf(ra), 200) << ra;
  // B waited behind A's 300 ms batch, past its 50 ms queue timeout (A was dispatched at once).
  EXPECT_EQ(nt::statusOf(rb), 503) << rb;
  EXPECT_NE(rb.find("Request timeout expired"), std::string::npos) << rb;
}

TEST_F(HttpApiTest, NotReadyWhileLoadingIs503) {
  model("cold", std::string(kSimple) +
                    R"(parameters { key: "load_latency_us" value { string_value: "800000" } })");
  start({}, /*wait_ready=*/false);
  Reply ready = call("GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.j["ready"], false);
  EXPECT_EQ(call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(call("GET", "/v2/models/cold/ready").status, 503);
  Reply infer = call("POST", "/v2/models/cold/infer", inferBody("", {{1, 2, 3}}));
  EXPECT_EQ(infer.status, 503);
  EXPECT_NE(infer.j["error"].get<std::string>().find("not ready"), std::string::npos);
  ASSERT_TRUE(server_->models().waitLoaded(10s));
  EXPECT_EQ(call("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(call("POST", "/v2/models/cold/infer", inferBody("", {{1, 2, 3}})).status, 200);
}

TEST_F(HttpApiTest, MetricsStatisticsAndRepositoryIndex) {
  model("simple", kSimple);
  start();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(call("POST", "/v2/models/simple/infer", inferBody("", {{1, 2, 3}, {4, 5, 6}})).status,
              200);
  }
  EXPECT_EQ(call("POST", "/v2/models/simple/infer", "{").status, 400);
  Reply m = call("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.raw.find("text/plain; version=0.0.4"), std::string::npos);
  const std::string& page = m.body;
  EXPECT_NE(page.find("nv_inference_request_success{model=\"simple\",version=\"1\"} 3"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("nv_inference_count{model=\"simple\",version=\"1\"} 6"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("nv_inference_request_failure{model=\"simple\",version=\"1\","
                      "reason=\"OTHER\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("model_request_queue_length{model=\"simple\",version=\"1\"} 0"),
            std::string::npos);
  EXPECT_NE(page.find("model_latency_count{model=\"simple\",version=\"1\"} 3"), std::string::npos);
  EXPECT_NE(page.find("surge_serve_model_ready{model=\"simple\",version=\"1\"} 1"),
            std::string::npos);
  EXPECT_NE(page.find("surge_serve_batch_size_bucket"), std::string::npos);

  Reply st = call("GET", "/v2/models/simple/stats");
  ASSERT_EQ(st.status, 200) << st.body;
  const json& s = st.j["model_stats"][0];
  EXPECT_EQ(s["name"], "simple");
  EXPECT_EQ(s["version"], "1");
  EXPECT_EQ(s["inference_count"], 6);
  EXPECT_EQ(s["inference_stats"]["success"]["count"], 3);
  EXPECT_EQ(s["inference_stats"]["fail"]["count"], 1);
  EXPECT_GT(s["last_inference"].get<uint64_t>(), 0u);
  EXPECT_EQ(call("GET", "/v2/models/stats").j["model_stats"].size(), 1u);
  EXPECT_EQ(call("GET", "/v2/models/nope/stats").status, 404);

  Reply idx = call("POST", "/v2/repository/index");
  ASSERT_EQ(idx.status, 200);
  EXPECT_EQ(idx.j, json::parse(R"([{"name":"simple","version":"1","state":"READY"}])"));
}

TEST_F(HttpApiTest, ShutdownTurnsReadinessOffAndFinishesRequests) {
  model("slow", R"(
backend: "synthetic"
max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 10000000 }
parameters { key: "base_latency_us" value { string_value: "100000" } }
)");
  ModelServerOptions o;
  o.shutdown_delay = 300ms;
  start(o);
  std::shared_ptr<ServedModel> m = *server_->models().find("slow", "");
  std::string body = inferBody("", {{1, 2, 3}});
  std::string req = "POST /v2/models/slow/infer HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  int a = nt::connectTo(port_);
  ASSERT_TRUE(nt::sendAll(a, req));
  // Queued, waiting for a 10 s batch delay that draining must cut short.
  ASSERT_TRUE(eventually([&] { return m->batcher().queueLength() == 1; }));
  server_->requestShutdown();
  Reply ready = call("GET", "/v2/health/ready");  // during the shutdown delay: still listening
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.j["ready"], false);
  std::string ra = nt::readResponse(a, 5s);
  ::close(a);
  EXPECT_EQ(nt::statusOf(ra), 200) << ra;
  EXPECT_NE(ra.find("Connection: close"), std::string::npos);
  runner_.join();
  EXPECT_EQ(exit_code_, 0);
  EXPECT_LT(nt::connectTo(port_), 0);  // the listener is gone
}

// --- GET .../config (Triton's model configuration) ---

TEST_F(HttpApiTest, ModelConfigIsTritonsJson) {
  model("simple", kSimple, {"1", "2"});
  start();
  Reply r = call("GET", "/v2/models/simple/config");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_NE(r.raw.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(r.j["name"], "simple");
  EXPECT_EQ(r.j["backend"], "synthetic");
  EXPECT_EQ(r.j["max_batch_size"], 8);
  EXPECT_EQ(r.j["version_policy"], json({{"latest", {{"num_versions", 1}}}}));
  EXPECT_EQ(r.j["input"][0]["dims"], json::array({3}));
  EXPECT_EQ(r.j["input"][0]["data_type"], "TYPE_FP32");
  EXPECT_EQ(r.j["output"][1]["data_type"], "TYPE_INT32");
  EXPECT_EQ(r.j["dynamic_batching"]["max_queue_delay_microseconds"], 100);
  EXPECT_EQ(r.j["dynamic_batching"]["preferred_batch_size"], json::array({8}));
  EXPECT_EQ(r.j["instance_group"][0]["name"], "simple_0");
  EXPECT_EQ(r.j["instance_group"][0]["kind"], "KIND_CPU");
  EXPECT_EQ(r.j["instance_group"][0]["count"], 2);
  // The configuration is the model's: the same for every served version.
  Reply v = call("GET", "/v2/models/simple/versions/2/config");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.j, r.j);
  Reply old = call("GET", "/v2/models/simple/versions/1/config");
  EXPECT_EQ(old.status, 404);  // latest 1: version 1 is not served
  EXPECT_TRUE(old.j["error"].is_string());
  Reply unknown = call("GET", "/v2/models/nope/config");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(unknown.j["error"].is_string());
  Reply post = call("POST", "/v2/models/simple/config", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.raw.find("Allow: GET"), std::string::npos);
  EXPECT_TRUE(post.j["error"].is_string());
  EXPECT_EQ(call("GET", "/v2/models/simple/config/x").status, 404);
}

// --- Content-Encoding / Accept-Encoding (Triton's HTTP compression) ---

// zlib, independently of the server's codec: 15+16 gzip (gzip.compress), 15 zlib (zlib.compress).
std::string zpack(std::string_view data, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Inflates gzip or zlib data (automatic header detection); empty on error.
std::string zunpack(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 32), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = inflate(&zs, Z_FINISH);
  out.resize(ret == Z_STREAM_END ? zs.total_out : 0);
  inflateEnd(&zs);
  return out;
}

// The value of a response header (exact name), or "".
std::string headerValue(const std::string& raw, const std::string& name) {
  size_t he = raw.find("\r\n\r\n");
  size_t p = raw.find("\r\n" + name + ": ");
  if (p == std::string::npos || p > he) return "";
  p += name.size() + 4;
  return raw.substr(p, raw.find("\r\n", p) - p);
}

constexpr const char* kWide = R"(
backend: "synthetic"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 600 ] } ]
)";

TEST_F(HttpApiTest, CompressedRequestBodiesAnswerLikePlainOnes) {
  model("simple", kSimple);
  start();
  std::string body = inferBody("c", {{1, 2, 3}, {4, 5, 6}});
  Reply plain = call("POST", "/v2/models/simple/infer", body);
  ASSERT_EQ(plain.status, 200) << plain.raw;
  for (auto [coding, bits] : {std::pair{"gzip", 31}, std::pair{"deflate", 15},
                              std::pair{"deflate", -15}, std::pair{"GZIP", 31}}) {
    std::string raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer",
                                       zpack(body, bits),
                                       std::string("Content-Encoding: ") + coding + "\r\n");
    ASSERT_EQ(nt::statusOf(raw), 200) << coding << " " << bits << ": " << raw;
    EXPECT_EQ(json::parse(nt::bodyOf(raw)), plain.j) << coding;
    EXPECT_EQ(headerValue(raw, "Vary"), "Accept-Encoding");
    EXPECT_EQ(headerValue(raw, "Content-Encoding"), "");  // small answer: sent as it is
  }
  std::string id = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", body,
                                    "Content-Encoding: identity\r\n");
  EXPECT_EQ(nt::statusOf(id), 200) << id;
}

TEST_F(HttpApiTest, CompressedBinaryTensorRequest) {
  model("simple", kSimple);
  start();
  std::string header =
      R"({"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32",)"
      R"("parameters":{"binary_data_size":24}}],"outputs":[{"name":"y"},{"name":"n"}]})";
  float x[6] = {1, 2, 3, 10, 20, 30};
  std::string body = header + std::string(reinterpret_cast<const char*>(x), sizeof x);
  // tritonclient: Inference-Header-Content-Length is the JSON length in the uncompressed body.
  std::string raw = nt::httpExchange(
      port_, "POST", "/v2/models/simple/infer", zpack(body, 31),
      "Content-Encoding: gzip\r\nInference-Header-Content-Length: " +
          std::to_string(header.size()) + "\r\n");
  ASSERT_EQ(nt::statusOf(raw), 200) << raw;
  json j = json::parse(nt::bodyOf(raw));
  EXPECT_EQ(j["outputs"][0]["data"], json::array({6, 7, 60, 61}));
  EXPECT_EQ(j["outputs"][1]["data"], json::array({6, 60}));
}

TEST_F(HttpApiTest, CompressionBombIs413AndTheServerStillServes) {
  model("simple", kSimple);
  ModelServerOptions o;
  o.max_request_bytes = 1 << 20;
  start(o);
  std::string bomb = zpack(std::string(size_t{16} << 20, ' '), 31);  // 16 MiB of spaces
  ASSERT_LT(bomb.size(), 64u << 10);
  std::string raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", bomb,
                                     "Content-Encoding: gzip\r\n");
  ASSERT_EQ(nt::statusOf(raw), 413) << raw;
  EXPECT_EQ(json::parse(nt::bodyOf(raw)),
            json({{"error", "decompressed body exceeds --max-request-size (1048576 bytes)"}}));
  std::string cut = zpack(inferBody("", {{1, 2, 3}}), 31);
  raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", cut.substr(0, cut.size() - 3),
                         "Content-Encoding: gzip\r\n");
  EXPECT_EQ(nt::statusOf(raw), 400) << raw;
  EXPECT_NE(raw.find("truncated gzip body"), std::string::npos) << raw;
  raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", inferBody("", {{1, 2, 3}}),
                         "Content-Encoding: gzip\r\n");
  EXPECT_EQ(nt::statusOf(raw), 400) << raw;
  EXPECT_EQ(call("POST", "/v2/models/simple/infer", inferBody("", {{1, 2, 3}})).status, 200);
}

TEST_F(HttpApiTest, UnsupportedContentEncodingIs415) {
  model("simple", kSimple);
  start();
  std::string raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", "xxxx",
                                     "Content-Encoding: br\r\n");
  ASSERT_EQ(nt::statusOf(raw), 415) << raw;
  EXPECT_EQ(json::parse(nt::bodyOf(raw)),
            json({{"error", "unsupported Content-Encoding 'br' (supported: gzip, deflate, "
                            "identity)"}}));
  EXPECT_EQ(headerValue(raw, "Accept-Encoding"), "gzip, deflate");
  std::string body = inferBody("", {{1, 2, 3}});
  raw = nt::httpExchange(port_, "POST", "/v2/models/simple/infer", zpack(zpack(body, 31), 31),
                         "Content-Encoding: gzip, gzip\r\n");
  EXPECT_EQ(nt::statusOf(raw), 415) << raw;
  EXPECT_TRUE(json::parse(nt::bodyOf(raw))["error"].is_string());
}

TEST_F(HttpApiTest, AcceptEncodingCompressesLargeAnswers) {
  model("wide", kWide);
  start();
  std::string body = inferBody("w", {{1, 2, 3}, {4, 5, 6}});
  Reply plain = call("POST", "/v2/models/wide/infer", body);
  ASSERT_EQ(plain.status, 200) << plain.raw;
  ASSERT_GT(plain.body.size(), kMinCompressBytes);
  for (std::string coding : {"gzip", "deflate"}) {
    std::string raw = nt::httpExchange(port_, "POST", "/v2/models/wide/infer", body,
                                       "Accept-Encoding: " + coding + "\r\n");
    ASSERT_EQ(nt::statusOf(raw), 200) << raw;
    EXPECT_EQ(headerValue(raw, "Content-Encoding"), coding);
    EXPECT_EQ(headerValue(raw, "Vary"), "Accept-Encoding");
    std::string packed = nt::bodyOf(raw);
    EXPECT_LT(packed.size(), plain.body.size());
    EXPECT_EQ(std::stoul(headerValue(raw, "Content-Length")), packed.size());
    EXPECT_EQ(zunpack(packed), plain.body) << coding;
  }
  // q-values; identity preferred or nothing acceptable: the answer goes out as it is.
  std::string raw = nt::httpExchange(port_, "POST", "/v2/models/wide/infer", body,
                                     "Accept-Encoding: gzip;q=0.2, deflate;q=0.9\r\n");
  EXPECT_EQ(headerValue(raw, "Content-Encoding"), "deflate");
  for (std::string accept : {"identity", "gzip;q=0", "identity;q=0", "br"}) {
    raw = nt::httpExchange(port_, "POST", "/v2/models/wide/infer", body,
                           "Accept-Encoding: " + accept + "\r\n");
    ASSERT_EQ(nt::statusOf(raw), 200) << raw;
    EXPECT_EQ(headerValue(raw, "Content-Encoding"), "") << accept;
    EXPECT_EQ(nt::bodyOf(raw), plain.body) << accept;
  }
  // Errors are never compressed.
  raw = nt::httpExchange(port_, "POST", "/v2/models/wide/infer", "{\"inputs\": 5" +
                         std::string(4000, ' ') + "}", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(nt::statusOf(raw), 400);
  EXPECT_EQ(headerValue(raw, "Content-Encoding"), "");
}

TEST_F(HttpApiTest, CompressedBinaryAnswerKeepsTheUncompressedJsonLength) {
  model("wide", kWide);
  start();
  std::string body = R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],)"
                     R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  std::string raw = nt::httpExchange(port_, "POST", "/v2/models/wide/infer", zpack(body, 15),
                                     "Content-Encoding: deflate\r\nAccept-Encoding: gzip\r\n");
  ASSERT_EQ(nt::statusOf(raw), 200) << raw;
  EXPECT_EQ(headerValue(raw, "Content-Encoding"), "gzip");
  EXPECT_EQ(headerValue(raw, "Content-Type"), "application/octet-stream");
  size_t json_length = std::stoul(headerValue(raw, "Inference-Header-Content-Length"));
  std::string whole = zunpack(nt::bodyOf(raw));
  ASSERT_EQ(whole.size(), json_length + 600 * sizeof(float));
  json j = json::parse(whole.substr(0, json_length));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 2400);
  float y[2];
  std::memcpy(y, whole.data() + json_length, sizeof y);
  EXPECT_EQ(y[0], 6);
  EXPECT_EQ(y[1], 7);
}

// Inference-Header-Content-Length edge cases, as Triton (server src/http_server.cc): 0 = the whole
// body is JSON; beyond the (decoded) body, or negative, 400 "inference header size should be in
// range (0, N), got: X"; not a number, 400 "Unable to parse ...". 2^64-1 is not "absent".
TEST_F(HttpApiTest, InferenceHeaderContentLengthEdgeCases) {
  model("simple", kSimple);
  start();
  const std::string body =
      R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})";
  auto send = [&](const std::string& value, const std::string& payload,
                  const std::string& extra = "") {
    return nt::httpExchange(port_, "POST", "/v2/models/simple/infer", payload,
                            extra + "Inference-Header-Content-Length: " + value + "\r\n");
  };
  auto errorOf = [](const std::string& raw) {
    json j = json::parse(nt::bodyOf(raw), nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : raw;
  };
  const std::string size = std::to_string(body.size());

  for (const std::string& ok : {std::string("0"), size}) {
    std::string raw = send(ok, body);
    ASSERT_EQ(nt::statusOf(raw), 200) << ok << "\n" << raw;
    EXPECT_EQ(json::parse(nt::bodyOf(raw))["outputs"][0]["data"], json::array({6, 7})) << ok;
  }
  for (const std::string& big :
       {std::to_string(body.size() + 1), std::string("18446744073709551615"),
        std::string("99999999999999999999999"), std::string("-5")}) {
    std::string raw = send(big, body);
    ASSERT_EQ(nt::statusOf(raw), 400) << big << "\n" << raw;
    EXPECT_EQ(errorOf(raw),
              "inference header size should be in range (0, " + size + "), got: " + big);
  }
  for (std::string bad : {"twelve", "12abc", "0x10"}) {
    std::string raw = send(bad, body);
    ASSERT_EQ(nt::statusOf(raw), 400) << "'" << bad << "'\n" << raw;
    EXPECT_EQ(errorOf(raw).rfind("Unable to parse Inference-Header-Content-Length, got: ", 0), 0u)
        << errorOf(raw);
  }

  // Compressed: the range is the decoded body's.
  std::string packed = zpack(body, 31);
  ASSERT_NE(packed.size(), body.size());
  std::string raw = send(std::to_string(body.size() + 1), packed, "Content-Encoding: gzip\r\n");
  ASSERT_EQ(nt::statusOf(raw), 400) << raw;
  EXPECT_EQ(errorOf(raw), "inference header size should be in range (0, " + size +
                              "), got: " + std::to_string(body.size() + 1));
  raw = send("18446744073709551615", packed, "Content-Encoding: gzip\r\n");
  ASSERT_EQ(nt::statusOf(raw), 400) << raw;
  for (const std::string& ok : {std::string("0"), size}) {
    raw = send(ok, packed, "Content-Encoding: gzip\r\n");
    ASSERT_EQ(nt::statusOf(raw), 200) << ok << "\n" << raw;
  }
  EXPECT_EQ(call("POST", "/v2/models/simple/infer", body).status, 200);
}

}  // namespace
}  // namespace surge::serving
