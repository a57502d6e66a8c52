// End-to-end tests of the shared prediction cache: a real `redis-server` and the real `surge serve
// --cache redis://...` with a synthetic model. Hits skip inference and answer the same bytes;
// different inputs miss; values expire with --cache-ttl; a corrupt value is a miss; Redis killed in
// the middle of a concurrent load fails no request and opens the breaker, and hits resume once it
// is back; an unreachable Redis at startup does not stop serve from answering; bad flags exit 2.
// Integrity and AUTH: a value stored under another request's key (same bytes, other digest) is a
// miss counted as key_mismatch; a Redis started with --requirepass is used with the password of
// the URL (percent-encoded, default user or an ACL user, SELECT after AUTH, again after Redis
// restarts), a wrong or missing password is a clear auth error and a miss, and the password never
// shows in the log, in error messages or on /metrics.
// Every process is stopped by the fixture; every wait is bounded.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "metrics/promtool_allowlist.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr const char* kRedisCli = "/usr/bin/redis-cli";

const char* kModelConfig =
    "backend: \"synthetic\"\nmax_batch_size: 8\n"
    "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
    "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
    "dynamic_batching { max_queue_delay_microseconds: 500 }\n"
    "parameters { key: \"base_latency_us\" value { string_value: \"2000\" } }\n";

std::string inferBody(float v) {
  json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, 4}}, {"data", {v, 1, 2, 3}}};
  return json({{"id", "r"}, {"inputs", {x}}}).dump();
}

// Sum of every sample whose series starts with `prefix` (a name, or a name and a label prefix).
double metricSum(const std::string& page, const std::string& prefix) {
  double sum = 0;
  bool found = false;
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, prefix.size(), prefix) != 0) continue;
    char next = line.size() > prefix.size() ? line[prefix.size()] : ' ';
    bool has_labels = prefix.find('{') != std::string::npos;
    if (!has_labels && next != ' ' && next != '{') continue;  // another metric's longer name
    size_t sp = line.rfind(' ');
    sum += std::stod(line.substr(sp + 1));
    found = true;
  }
  return found ? sum : 0;
}

const std::string kHits = "nv_cache_num_hits_per_model{model=\"m\",version=\"1\"}";
const std::string kMisses = "nv_cache_num_misses_per_model{model=\"m\",version=\"1\"}";
const std::string kExec = "nv_inference_exec_count{model=\"m\",version=\"1\"}";
const std::string kInferences = "nv_inference_count{model=\"m\",version=\"1\"}";
const std::string kStores = "surge_serve_cache_stores_total";
const std::string kErrors = "surge_serve_cache_errors_total";

class RedisCacheIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kRedisServer, X_OK) != 0) GTEST_SKIP() << "redis-server not installed";
    writeModel(dir_ / "repo", "m", kModelConfig);
  }
  void TearDown() override {
    server_.stop();
    redis_.stop();
  }

  // Starts redis-server on `port` (0 = a free one, retried on a port race); returns false when it
  // does not come up.
  bool startRedis(int port = 0, const std::vector<std::string>& extra = {}) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      int p = port != 0 ? port : freePort();
      std::vector<std::string> argv = {kRedisServer, "--port", std::to_string(p), "--bind",
                                       "127.0.0.1",  "--save", "",   "--appendonly",
                                       "no",         "--dir",  dir_.path().string()};
      argv.insert(argv.end(), extra.begin(), extra.end());
      if (redis_.start(argv, dir_.file("redis.log"), "Ready to accept connections", 5s)) {
        redis_port_ = p;
        return true;
      }
      redis_.stop(500ms);  // port taken meanwhile (or slow start): try again
      // A fixed port was just released by the previous Redis: give the kernel a moment (a retry
      // back-off, not a wait for a condition).
      std::this_thread::sleep_for(port != 0 ? 200ms : 10ms);
    }
    return false;
  }

  void startServe(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--workers", "2"});
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", log(), extra, 15s));
    port_ = server_.port();
  }

  std::string cacheUrl() const { return "redis://127.0.0.1:" + std::to_string(redis_port_); }

  HttpResult infer(float v) {
    return httpRequest(port_, "POST", "/v2/models/m/infer", {{"Content-Type", "application/json"}},
                       inferBody(v), 10000ms);
  }

  std::string metricsPage() { return httpGet(port_, "/metrics").body; }
  double metric(const std::string& series) { return metricSum(metricsPage(), series); }

  // Polls /metrics until `series` reaches `at_least`.
  ::testing::AssertionResult waitMetric(const std::string& series, double at_least,
                                        std::chrono::milliseconds timeout) {
    return waitUntil([&] { return metric(series) >= at_least; }, timeout, 10ms,
                     series + " >= " + std::to_string(at_least));
  }

  // Runs redis-cli against our Redis; returns its stdout.
  std::string redisCli(const std::string& args) {
    std::string auth = redis_password_.empty()
                           ? std::string()
                           : " --no-auth-warning -a '" + redis_password_ + "'";
    std::string cmd = std::string(kRedisCli) + " -h 127.0.0.1 -p " + std::to_string(redis_port_) +
                      auth + " " + args + " 2>&1";
    std::string out;
    if (FILE* f = popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
      pclose(f);
    }
    return out;
  }

  std::string log() const { return dir_.file("serve.log"); }
  std::string logText() const { return readFile(log()); }

  ScratchDir dir_{"redis-it"};
  ServerProcess redis_;
  ServerProcess server_;
  int redis_port_ = 0;
  int port_ = 0;
  std::string redis_password_;  // for redisCli
};

json outputsOf(const HttpResult& r) { return json::parse(r.body).at("outputs"); }

TEST_F(RedisCacheIntegration, IdenticalRequestIsAHitWithoutInference) {
  ASSERT_TRUE(startRedis());
  // A generous timeout: on a loaded CI machine a 5 ms budget could turn the expected hit into a
  // (correct, but here unwanted) miss.
  startServe({"--cache", cacheUrl(), "--cache-timeout", "250ms"});
  auto first = infer(7);
  ASSERT_EQ(first.status, 200) << first.body;
  // The store is fire and forget: wait until Redis acknowledged it.
  ASSERT_TRUE(waitMetric(kStores, 1, 5s)) << metricsPage();
  // The batch counters are updated by the instance thread after it hands the rows back.
  ASSERT_TRUE(waitMetric(kExec, 1, 5s)) << metricsPage();
  std::string page = metricsPage();
  double exec = metricSum(page, kExec), inferences = metricSum(page, kInferences);
  double hits = metricSum(page, kHits), misses = metricSum(page, kMisses);
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(misses, 1);

  auto second = infer(7);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(outputsOf(second), outputsOf(first));
  page = metricsPage();
  EXPECT_EQ(metricSum(page, kHits), hits + 1);
  EXPECT_EQ(metricSum(page, kMisses), misses);
  EXPECT_EQ(metricSum(page, kExec), exec);  // no inference for a hit
  EXPECT_EQ(metricSum(page, kInferences), inferences);
  EXPECT_EQ(metricSum(page, "nv_inference_request_success{model=\"m\""), 2);
  // Triton's cache durations (µs): the hit's lookup; the miss's lookup and its SET.
  EXPECT_GT(metricSum(page, "nv_cache_hit_duration_per_model{model=\"m\""), 0) << page;
  EXPECT_GT(metricSum(page, "nv_cache_miss_duration_per_model{model=\"m\""), 0) << page;

  // Different inputs: a miss, inferred, with its own answer.
  auto other = infer(8);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_NE(outputsOf(other), outputsOf(first));
  // y[j] = sum(x) + j: 8+1+2+3 = 14.
  EXPECT_EQ(outputsOf(other)[0]["data"], json({14.0, 15.0}));
  EXPECT_TRUE(waitMetric(kExec, exec + 1, 5s));
  page = metricsPage();
  EXPECT_EQ(metricSum(page, kMisses), misses + 1);
  EXPECT_EQ(metricSum(page, kHits), hits + 1);
  EXPECT_EQ(metricSum(page, kExec), exec + 1);
  // The statistics extension reports the same lookups, as Triton's cache_hit / cache_miss.
  json stats = json::parse(httpGet(port_, "/v2/models/m/stats").body);
  const json& is = stats["model_stats"][0]["inference_stats"];
  EXPECT_EQ(is["cache_hit"]["count"], 1) << stats.dump();
  EXPECT_EQ(is["cache_miss"]["count"], 2) << stats.dump();
  EXPECT_GT(is["cache_hit"]["ns"].get<uint64_t>(), 0u) << stats.dump();
  // With the cache on, the page has Triton's nv_cache_* counters too: promtool reports only the
  // lint problems metrics/promtool_allowlist.h allows for Triton's names.
  if (access("/usr/bin/promtool", X_OK) == 0) {
    std::string file = dir_.file("metrics.txt"), out_file = dir_.file("promtool.out");
    std::ofstream(file) << page;
    int rc = std::system(
        ("/usr/bin/promtool check metrics < " + file + " > " + out_file + " 2>&1").c_str());
    std::ifstream in(out_file);
    std::string out((std::istreambuf_iterator<char>(in)), {});
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 3) << out;
    EXPECT_EQ(metrics::disallowedLint(out), std::vector<std::string>{}) << out;
    EXPECT_NE(out.find("nv_cache_hit_duration_per_model "), std::string::npos) << out;
  }

  // The entries are in Redis under surge's prefix, with the default TTL (300 s).
  ASSERT_TRUE(waitMetric(kStores, 2, 5s));
  std::string keys = redisCli("--scan --pattern 'surge:pc:m/1/*'");
  std::istringstream lines(keys);
  std::string key;
  int count = 0;
  while (std::getline(lines, key)) {
    if (key.empty()) continue;
    ++count;
    int ttl_ms = std::stoi(redisCli("PTTL " + key));
    EXPECT_GT(ttl_ms, 250000) << key;
    EXPECT_LE(ttl_ms, 300000) << key;
  }
  EXPECT_EQ(count, 2) << keys;

  // A corrupt value under a key: a miss and an error, never a wrong answer.
  std::istringstream all(keys);
  double errors = metric(kErrors);
  for (std::string k; std::getline(all, k);) {
    if (!k.empty()) redisCli("SET " + k + " garbage");
  }
  auto after = infer(7);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(outputsOf(after), outputsOf(first));
  EXPECT_TRUE(waitMetric(kExec, exec + 2, 5s));
  page = metricsPage();
  EXPECT_EQ(metricSum(page, kErrors + "{kind=\"corrupt\""), 1);
  EXPECT_EQ(metricSum(page, kErrors), errors + 1);
  EXPECT_EQ(metricSum(page, kExec), exec + 2);
  EXPECT_EQ(metricSum(page, "surge_serve_cache_breaker_state"), 0);
}

TEST_F(RedisCacheIntegration, ValuesExpireWithTheTtl) {
  ASSERT_TRUE(startRedis());
  startServe({"--cache", cacheUrl(), "--cache-ttl", "1s", "--cache-timeout", "250ms"});
  ASSERT_EQ(infer(3).status, 200);
  ASSERT_TRUE(waitMetric(kStores, 1, 5s)) << metricsPage();
  ASSERT_TRUE(waitMetric(kExec, 1, 5s)) << metricsPage();
  ASSERT_EQ(infer(3).status, 200);
  EXPECT_EQ(metric(kHits), 1);
  double misses = metric(kMisses), exec = metric(kExec);
  // Wait for Redis to expire the entry (EXISTS expires a key past its TTL), not a fixed time.
  const auto keys = redisCli("--scan --pattern 'surge:pc:m/1/*'");
  const std::string key = keys.substr(0, keys.find('\n'));
  ASSERT_FALSE(key.empty()) << keys;
  EXPECT_TRUE(waitUntil([&] { return redisCli("EXISTS " + key) == "0\n"; }, 5s, 50ms,
                        "the entry expired in Redis"));
  ASSERT_EQ(infer(3).status, 200);
  EXPECT_EQ(metric(kHits), 1);
  EXPECT_EQ(metric(kMisses), misses + 1);
  EXPECT_TRUE(waitMetric(kExec, exec + 1, 5s));
  EXPECT_EQ(metric(kExec), exec + 1);
}

TEST_F(RedisCacheIntegration, RedisKilledUnderLoadFailsNothingAndRecovers) {
  ASSERT_TRUE(startRedis());
  startServe({"--cache", cacheUrl(), "--cache-timeout", "20ms", "--cache-breaker-cooldown", "1s"});
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::mutex mu;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop.load(); ++i) {
        auto r = infer(static_cast<float>((c * 7 + i) % 16));  // 16 distinct inputs: many hits
        if (r.status == 200) {
          ok.fetch_add(1);
        } else {
          failed.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty())
            first_failure = std::to_string(r.status) + " " + r.error + r.body;
        }
      }
    });
  }
  // Load with Redis up until some hits have been served, then SIGKILL Redis mid-load.
  EXPECT_TRUE(waitMetric(kHits, 20, 10s)) << metricsPage();
  int before_kill = ok.load();
  redis_.signal(SIGKILL);
  ASSERT_TRUE(redis_.wait(5s).has_value());
  // Keep loading until the breaker has opened and requests have kept flowing meanwhile.
  EXPECT_TRUE(waitMetric("surge_serve_cache_breaker_opens_total", 1, 10s)) << metricsPage();
  EXPECT_TRUE(waitUntil([&] { return ok.load() >= before_kill + 200; }, 10s, 20ms,
                        "200 requests answered after the kill"));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  std::string page = metricsPage();
  EXPECT_GE(metricSum(page, kErrors), 1) << page;
  EXPECT_GE(metricSum(page, "surge_serve_cache_breaker_opens_total"), 1) << page;
  EXPECT_GE(
      metricSum(page, "surge_serve_cache_dropped_total{op=\"lookup\",reason=\"breaker_open\"}"), 1)
      << page;

  // Redis back on the same port (empty): after the cooldown a probe closes the breaker, a miss
  // stores again, and the identical request is a hit.
  ASSERT_TRUE(startRedis(redis_port_)) << "could not restart redis on port " << redis_port_;
  double hits = metric(kHits);
  int not_ok = 0;
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = infer(100);
        if (r.status != 200) ++not_ok;
        return metric(kHits) > hits;
      },
      20s, 100ms, "a cache hit after Redis came back"))
      << metricsPage() << logText();
  EXPECT_EQ(not_ok, 0) << "the cache failed requests while Redis came back";
  EXPECT_EQ(metric("surge_serve_cache_breaker_state"), 0);
}

// Keys of the entries stored so far, in the order redis-cli lists them.
std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

TEST_F(RedisCacheIntegration, ValueOfAnotherKeyIsAMismatchAndAMiss) {
  ASSERT_TRUE(startRedis());
  startServe({"--cache", cacheUrl(), "--cache-timeout", "250ms"});
  auto seven = infer(7);
  ASSERT_EQ(seven.status, 200);
  ASSERT_TRUE(waitMetric(kStores, 1, 5s)) << metricsPage();
  auto keys7 = splitLines(redisCli("--scan --pattern 'surge:pc:m/1/*'"));
  ASSERT_EQ(keys7.size(), 1u);
  // SHA-256 hex after model/version.
  EXPECT_EQ(keys7[0].size(), std::string("surge:pc:m/1/").size() + 64) << keys7[0];
  auto eight = infer(8);
  ASSERT_EQ(eight.status, 200);
  ASSERT_TRUE(waitMetric(kStores, 2, 5s)) << metricsPage();
  std::string key8;
  for (const auto& k : splitLines(redisCli("--scan --pattern 'surge:pc:m/1/*'"))) {
    if (k != keys7[0]) key8 = k;
  }
  ASSERT_FALSE(key8.empty());
  ASSERT_TRUE(waitMetric(kExec, 2, 5s));
  // A well-formed surge value, but computed for request 7, now under request 8's key.
  EXPECT_NE(redisCli("COPY " + keys7[0] + " " + key8 + " REPLACE").find("1"), std::string::npos);
  double hits = metric(kHits), exec = metric(kExec);
  auto again = infer(8);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(outputsOf(again), outputsOf(eight));  // never request 7's answer
  EXPECT_EQ(outputsOf(again)[0]["data"], json({14.0, 15.0}));
  EXPECT_TRUE(waitMetric(kExec, exec + 1, 5s));
  std::string page = metricsPage();
  EXPECT_EQ(metricSum(page, kHits), hits);
  EXPECT_EQ(metricSum(page, kErrors + "{kind=\"key_mismatch\""), 1) << page;
  EXPECT_EQ(metricSum(page, kErrors + "{kind=\"corrupt\""), 0) << page;
}

TEST_F(RedisCacheIntegration, RequirePassUsesTheUrlPasswordAndNeverShowsIt) {
  // A password with characters that must be percent-encoded in a URL.
  const std::string password = "Pa55@w:rd/x";
  const std::string encoded = "Pa55%40w%3Ard%2Fx";
  ASSERT_TRUE(startRedis(0, {"--requirepass", password}));
  redis_password_ = password;
  const std::string base = "127.0.0.1:" + std::to_string(redis_port_);
  // Default user, database 3 (SELECT after AUTH).
  startServe({"--cache", "redis://:" + encoded + "@" + base + "/3", "--cache-timeout", "250ms"});
  auto first = infer(5);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_TRUE(waitMetric(kStores, 1, 5s)) << metricsPage() << logText();
  ASSERT_TRUE(waitMetric(kExec, 1, 5s));
  auto second = infer(5);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(metric(kHits), 1);
  EXPECT_EQ(splitLines(redisCli("-n 3 --scan --pattern 'surge:pc:*'")).size(), 1u);
  EXPECT_EQ(splitLines(redisCli("-n 0 --scan --pattern 'surge:pc:*'")).size(), 0u);

  // Redis restarts on the same port: the workers reconnect, AUTH and SELECT again, hits resume.
  redis_.stop(2000ms);
  ASSERT_TRUE(startRedis(redis_port_, {"--requirepass", password}));
  double stores = metric(kStores);
  bool stored = false;
  for (int i = 0; i < 200 && !stored; ++i) {  // the breaker may be open for a while: retry
    ASSERT_EQ(infer(6).status, 200);
    stored = static_cast<bool>(waitMetric(kStores, stores + 1, 50ms));
  }
  ASSERT_TRUE(stored) << metricsPage() << logText();
  double hits = metric(kHits);
  ASSERT_EQ(infer(6).status, 200);
  EXPECT_EQ(metric(kHits), hits + 1) << metricsPage();

  std::string page = metricsPage();
  std::string log = logText();
  EXPECT_NE(log.find("redis://:***@" + base + "/3"), std::string::npos) << log;
  for (const std::string& secret : {password, encoded, std::string("Pa55")}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
    EXPECT_EQ(page.find(secret), std::string::npos);
  }

  // An ACL user: redis://USER:PASSWORD@.
  redisCli("ACL SETUSER alice on '>al1ce-pw' '~*' '+@all'");
  server_.stop();
  startServe({"--cache", "redis://alice:al1ce-pw@" + base, "--cache-timeout", "250ms"});
  ASSERT_EQ(infer(9).status, 200);
  ASSERT_TRUE(waitMetric(kStores, 1, 5s)) << metricsPage() << logText();
  ASSERT_TRUE(waitMetric(kExec, 1, 5s));
  ASSERT_EQ(infer(9).status, 200);
  EXPECT_EQ(metric(kHits), 1);
  EXPECT_EQ(logText().find("al1ce-pw"), std::string::npos);
}

TEST_F(RedisCacheIntegration, WrongOrMissingPasswordIsAnAuthErrorAndAMiss) {
  ASSERT_TRUE(startRedis(0, {"--requirepass", "R1ght-pw"}));
  redis_password_ = "R1ght-pw";
  const std::string base = "127.0.0.1:" + std::to_string(redis_port_);
  for (const std::string& url : {"redis://:Wr0ng-pw@" + base, "redis://" + base}) {
    server_.stop();
    startServe({"--cache", url, "--cache-timeout", "250ms", "--cache-breaker-errors", "2",
                "--log-level", "debug"});
    for (int i = 0; i < 5; ++i) {
      auto r = infer(1);
      ASSERT_EQ(r.status, 200) << r.body;  // the cache never fails a request
    }
    std::string page = metricsPage();
    EXPECT_EQ(metricSum(page, kHits), 0) << url;
    // Failed lookups are neither hits nor misses (Triton counts lookups that ran).
    EXPECT_EQ(metricSum(page, kMisses), 0) << url;
    EXPECT_GE(metricSum(page, kErrors + "{kind=\"auth\""), 1) << url << "\n" << page;
    EXPECT_EQ(metricSum(page, kStores), 0);
    EXPECT_GE(metricSum(page, "surge_serve_cache_breaker_opens_total"), 1) << page;
    std::string log = logText();
    // A clear reason, without the password.
    EXPECT_NE(log.find(url.find('@') != std::string::npos ? "WRONGPASS" : "NOAUTH"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("Wr0ng-pw"), std::string::npos) << log;
    EXPECT_EQ(page.find("Wr0ng-pw"), std::string::npos);
  }
  EXPECT_EQ(splitLines(redisCli("--scan --pattern 'surge:pc:*'")).size(), 0u);
}

TEST_F(RedisCacheIntegration, UnreachableRedisAtStartupStillServes) {
  redis_port_ = freePort();  // nothing listens there
  startServe({"--cache", cacheUrl()});
  for (int i = 0; i < 10; ++i) {
    auto r = infer(static_cast<float>(i % 2));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string page = metricsPage();
  EXPECT_EQ(metricSum(page, kHits), 0);
  EXPECT_EQ(metricSum(page, kMisses), 0);  // failed lookups: neither hits nor misses
  EXPECT_GE(metricSum(page, kErrors + "{kind=\"connection\""), 1) << page;
  EXPECT_GE(metricSum(page, "surge_serve_cache_breaker_opens_total"), 1) << page;
  EXPECT_EQ(metricSum(page, "nv_inference_request_success{model=\"m\""), 10);
}

TEST_F(RedisCacheIntegration, BadFlagsExitTwo) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  } cases[] = {
      {{"--cache", "http://127.0.0.1:6379"}, "scheme must be redis://"},
      {{"--cache", "redis://127.0.0.1:99999"}, "not in 1..65535"},
      {{"--cache", "redis://127.0.0.1:6379", "--cache-ttl", "0s"}, "--cache-ttl must be at least"},
      {{"--cache", "redis://127.0.0.1:6379", "--cache-ttl", "5 minutes"}, "--cache-ttl"},
      {{"--cache", "redis://127.0.0.1:6379", "--cache-timeout", "0ms"}, "--cache-timeout"},
      {{"--cache", "redis://:S3cr3t-pw@127.0.0.1:99999"}, "redis://:***@127.0.0.1:99999"},
      {{"--cache", "redis://S3cr3t-pw@127.0.0.1"}, "credentials must be"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {surgeBinary(),        "serve",
                                     "--model-repository", (dir_ / "repo").string(),
                                     "--listen",           "127.0.0.1:0",
                                     "--grpc-listen",      "127.0.0.1:0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    EXPECT_EQ(runToExit(argv, log(), 10s), 2) << c.flags.back();
    std::string text = logText();
    EXPECT_NE(text.find(c.message), std::string::npos) << c.flags.back() << ": " << text;
    EXPECT_EQ(text.find("S3cr3t"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace surge::testing
