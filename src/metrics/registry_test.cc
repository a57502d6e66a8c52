#include "metrics/registry.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <thread>

namespace surge::metrics {
namespace {

TEST(Registry, CounterGolden) {
  Registry r;
  auto& req = r.counter("surge_requests_total", "Requests handled.", {"backend", "code"});
  req.labels({"10.0.0.1:80", "2xx"}).inc(3);
  req.labels({"a\\b\"c\nd", "5xx"}).inc();
  req.labels({"10.0.0.1:80", "2xx"}).inc(0.5);
  EXPECT_EQ(r.render(),
            "# HELP surge_requests_total Requests handled.\n"
            "# TYPE surge_requests_total counter\n"
            "surge_requests_total{backend=\"10.0.0.1:80\",code=\"2xx\"} 3.5\n"
            "surge_requests_total{backend=\"a\\\\b\\\"c\\nd\",code=\"5xx\"} 1\n");
}

TEST(Registry, GaugeGoldenAndSpecialValues) {
  Registry r;
  auto& g = r.gauge("surge_backend_weight", "Configured weight\nper backend \\ zone.", {"zone"});
  g.labels({"b"}).set(std::numeric_limits<double>::infinity());
  g.labels({"a"}).set(-2);
  g.labels({"c"}).set(std::nan(""));
  g.labels({"d"}).set(-std::numeric_limits<double>::infinity());
  g.labels({"e"}).set(0.25);
  EXPECT_EQ(r.render(),
            "# HELP surge_backend_weight Configured weight\\nper backend \\\\ zone.\n"
            "# TYPE surge_backend_weight gauge\n"
            "surge_backend_weight{zone=\"a\"} -2\n"
            "surge_backend_weight{zone=\"b\"} +Inf\n"
            "surge_backend_weight{zone=\"c\"} NaN\n"
            "surge_backend_weight{zone=\"d\"} -Inf\n"
            "surge_backend_weight{zone=\"e\"} 0.25\n");
}

TEST(Registry, HistogramGolden) {
  Registry r;
  auto& h =
      r.histogram("surge_request_duration_seconds", "Request latency.", {0.005, 0.1, 1}, {"route"});
  Histogram& api = h.labels({"/v2"});
  for (double v : {0.001, 0.005, 0.05, 0.5, 2.0}) api.observe(v);
  EXPECT_EQ(r.render(),
            "# HELP surge_request_duration_seconds Request latency.\n"
            "# TYPE surge_request_duration_seconds histogram\n"
            "surge_request_duration_seconds_bucket{route=\"/v2\",le=\"0.005\"} 2\n"
            "surge_request_duration_seconds_bucket{route=\"/v2\",le=\"0.1\"} 3\n"
            "surge_request_duration_seconds_bucket{route=\"/v2\",le=\"1\"} 4\n"
            "surge_request_duration_seconds_bucket{route=\"/v2\",le=\"+Inf\"} 5\n"
            "surge_request_duration_seconds_sum{route=\"/v2\"} 2.556\n"
            "surge_request_duration_seconds_count{route=\"/v2\"} 5\n");
}

TEST(Registry, UnlabelledFamiliesShowZeroAndSortByName) {
  Registry r;
  r.gauge("zeta", "Last.");
  r.counter("alpha_total", "First.").get().inc(7);
  r.histogram("mid_seconds", "Middle.", {1});
  r.gauge("labelled", "No series yet.", {"x"});  // nothing to show: left out
  EXPECT_EQ(r.render(),
            "# HELP alpha_total First.\n"
            "# TYPE alpha_total counter\n"
            "alpha_total 7\n"
            "# HELP mid_seconds Middle.\n"
            "# TYPE mid_seconds histogram\n"
            "mid_seconds_bucket{le=\"1\"} 0\n"
            "mid_seconds_bucket{le=\"+Inf\"} 0\n"
            "mid_seconds_sum 0\n"
            "mid_seconds_count 0\n"
            "# HELP zeta Last.\n"
            "# TYPE zeta gauge\n"
            "zeta 0\n");
}

TEST(Registry, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.counter("x_total", "X.", {"l"});
  auto& b = r.counter("x_total", "X.", {"l"});
  EXPECT_EQ(&a, &b);
  auto& h1 = r.histogram("h", "H.", {1, 2});
  auto& h2 = r.histogram("h", "H.", {1, 2});
  EXPECT_EQ(&h1, &h2);
  a.labels({"v"}).inc();
  EXPECT_EQ(&a.labels({"v"}), &b.labels({"v"}));
  EXPECT_EQ(b.labels({"v"}).value(), 1);
}

TEST(Registry, RemoveStopsExportingButKeepsReferencesValid) {
  Registry r;
  auto& f = r.gauge("surge_backend_in_flight", "In flight.", {"backend"});
  Gauge& a = f.labels({"a:1"});
  Gauge& b = f.labels({"b:1"});
  a.set(3);
  b.set(4);
  EXPECT_EQ(f.size(), 2u);
  f.remove({"a:1"});
  f.remove({"never:1"});  // no-op
  EXPECT_EQ(f.size(), 1u);
  a.add(1);  // a cached reference stays usable
  EXPECT_EQ(a.value(), 4);
  EXPECT_EQ(r.render(),
            "# HELP surge_backend_in_flight In flight.\n"
            "# TYPE surge_backend_in_flight gauge\n"
            "surge_backend_in_flight{backend=\"b:1\"} 4\n");
  Gauge& again = f.labels({"a:1"});
  EXPECT_NE(&again, &a);
  EXPECT_EQ(again.value(), 0);
  int visited = 0;
  f.forEach([&](const std::vector<std::string>& labels, const Gauge&) {
    EXPECT_EQ(labels.size(), 1u);
    ++visited;
  });
  EXPECT_EQ(visited, 2);
}

TEST(Registry, CallbackGauges) {
  Registry r;
  int calls = 0;
  r.gaugeCallback("surge_backend_healthy", "1 if the backend passes health checks.", {"backend"},
                  [&calls](std::vector<Sample>& out) {
                    ++calls;
                    out.push_back({{"b:2"}, 0});
                    out.push_back({{"a:1"}, 1});
                    out.push_back({{"b:2"}, 1});  // duplicate: the first wins
                  });
  std::string expected =
      "# HELP surge_backend_healthy 1 if the backend passes health checks.\n"
      "# TYPE surge_backend_healthy gauge\n"
      "surge_backend_healthy{backend=\"a:1\"} 1\n"
      "surge_backend_healthy{backend=\"b:2\"} 0\n";
  EXPECT_EQ(r.render(), expected);
  EXPECT_EQ(r.render(), expected);
  EXPECT_EQ(calls, 2);  // computed at every scrape

  // Registering again replaces the callback.
  r.gaugeCallback("surge_backend_healthy", "1 if the backend passes health checks.", {"backend"},
                  [](std::vector<Sample>& out) {
                    out.push_back({{"c:3"}, 1});
                  });
  EXPECT_NE(r.render().find("surge_backend_healthy{backend=\"c:3\"} 1\n"), std::string::npos);
  EXPECT_EQ(calls, 2);

  // An unlabelled callback, and one that produces nothing (left out of the page).
  r.gaugeCallback("surge_up", "Always 1.", {}, [](std::vector<Sample>& out) {
    out.push_back({{}, 1});
  });
  r.gaugeCallback("surge_empty", "Nothing.", {}, [](std::vector<Sample>&) {});
  std::string page = r.render();
  EXPECT_NE(page.find("# TYPE surge_up gauge\nsurge_up 1\n"), std::string::npos);
  EXPECT_EQ(page.find("surge_empty"), std::string::npos);

  r.removeCallback("surge_backend_healthy");
  r.removeCallback("absent");  // no-op
  EXPECT_EQ(r.render().find("surge_backend_healthy"), std::string::npos);
}

TEST(Registry, RemoveCallbackWaitsForARunningCall) {
  Registry r;
  std::atomic<bool> entered{false}, release{false}, done{false};
  std::atomic<int> after_remove_calls{0};
  r.gaugeCallback("slow", "Slow.", {}, [&](std::vector<Sample>& out) {
    if (done.load()) after_remove_calls.fetch_add(1);
    entered.store(true);
    while (!release.load()) std::this_thread::yield();
    out.push_back({{}, 1});
  });
  std::thread scraper([&] { (void)r.render(); });
  while (!entered.load()) std::this_thread::yield();
  std::thread remover([&] {
    r.removeCallback("slow");
    done.store(true);
  });
  // The remover must be blocked while the callback runs; release it and both finish.
  EXPECT_FALSE(done.load());
  release.store(true);
  scraper.join();
  remover.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(r.render(), "");
  EXPECT_EQ(after_remove_calls.load(), 0);
}

TEST(Registry, ConcurrentLabelsAndIncrements) {
  Registry r;
  auto& f = r.counter("c_total", "C.", {"worker"});
  constexpr int kThreads = 4, kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = f.labels({std::to_string(t % 2)});  // two threads share each series
      for (int i = 0; i < kPerThread; ++i) mine.inc();
      for (int i = 0; i < 100; ++i) f.labels({"shared"}).inc();
      (void)r.render();  // scraping concurrently is safe
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(f.labels({"0"}).value(), 2 * kPerThread);
  EXPECT_EQ(f.labels({"1"}).value(), 2 * kPerThread);
  EXPECT_EQ(f.labels({"shared"}).value(), kThreads * 100);
}

using RegistryDeathTest = ::testing::Test;

TEST(RegistryDeathTest, RegistrationMistakesCrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry r;
  EXPECT_DEATH(r.counter("requests", "h"), "must end in _total");
  EXPECT_DEATH(r.gauge("queue_total", "h"), "must not end in _total");
  EXPECT_DEATH(r.gauge("bad-name", "h"), "invalid metric name");
  EXPECT_DEATH(r.gauge("queueDepth", "h"), "snake_case");
  EXPECT_DEATH(r.gauge("g", ""), "needs help text");
  EXPECT_DEATH(r.gauge("g", "h", {"__x"}), "invalid label name");
  EXPECT_DEATH(r.gauge("g", "h", {"a", "a"}), "duplicate label");
  EXPECT_DEATH(r.histogram("h", "h", {1}, {"le"}), "cannot have a label 'le'");
  EXPECT_DEATH(r.histogram("h", "h", {2, 1}), "strictly increasing");
  r.gauge("g", "h", {"a"});
  EXPECT_DEATH(r.gauge("g", "h", {"b"}), "different type or labels");
  EXPECT_DEATH(r.histogram("g", "h", {1}, {"a"}), "different type or labels");
  EXPECT_DEATH(r.gaugeCallback("g", "h", {"a"}, [](std::vector<Sample>&) {}), "plain gauge");
  EXPECT_DEATH(r.gauge("g", "h", {"a"}).labels({"x", "y"}), "CHECK failed");
  r.histogram("lat", "h", {1});
  EXPECT_DEATH(r.histogram("lat", "h", {2}), "other buckets");
  EXPECT_DEATH(r.gauge("lat_count", "h"), "clashes");
  r.counter("q_count_total", "h");
  r.gauge("z_sum", "h");
  EXPECT_DEATH(r.histogram("z", "h", {1}), "clashes");
  r.gaugeCallback("cb", "h", {"x"}, [](std::vector<Sample>& out) { out.push_back({{}, 1}); });
  EXPECT_DEATH((void)r.render(), "CHECK failed");  // a sample with the wrong arity
}

// Runs `promtool check metrics` on `page`; returns its exit code and output (stdout + stderr).
std::pair<int, std::string> promtool(const std::string& page) {
  std::string path = ::testing::TempDir() + "/surge_metrics_" + std::to_string(getpid()) + ".prom";
  {
    std::ofstream f(path);
    f << page;
  }
  std::string cmd = "/usr/bin/promtool check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string output;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int status = pclose(p);
  std::remove(path.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Registry, PromtoolAcceptsEveryType) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  Registry r;
  auto& req = r.counter("surge_requests_total", "Requests handled, by backend and class.",
                        {"backend", "code"});
  req.labels({"10.0.0.1:80", "2xx"}).inc(41);
  req.labels({"we\"ird\\name\nx", "5xx"}).inc(0.5);
  r.counter("surge_restarts_total", "Restarts.").get().inc();
  auto& g = r.gauge("surge_queue_depth", "Queued requests \\ per model\nsecond line.", {"model"});
  g.labels({"resnet"}).set(3);
  g.labels({"bert"}).set(std::numeric_limits<double>::infinity());
  g.labels({"gpt"}).set(std::nan(""));
  g.labels({"t5"}).set(-1e-9);
  auto& h = r.histogram("surge_request_duration_seconds", "Latency.", defaultLatencyBuckets(),
                        {"backend"});
  for (int i = 0; i < 100; ++i) h.labels({"a:1"}).observe(i * 0.01);
  h.labels({"b:1"});
  r.histogram("surge_batch_size", "Batch sizes.", exponentialBuckets(1, 2, 8)).get().observe(5);
  r.gaugeCallback("surge_backend_in_flight", "In-flight requests.", {"backend"},
                  [](std::vector<Sample>& out) {
                    out.push_back({{"a:1"}, 2});
                    out.push_back({{"b:1"}, 0});
                  });
  std::string page = r.render();
  auto [code, output] = promtool(page);
  EXPECT_EQ(code, 0) << output << "\n--- page ---\n" << page;
  EXPECT_EQ(output, "") << "--- page ---\n" << page;

  // The check is real: promtool rejects what we refuse to produce.
  auto [bad_code, bad_output] = promtool("# TYPE requests counter\nrequests 1\n");
  EXPECT_NE(bad_code, 0);
  EXPECT_NE(bad_output.find("_total"), std::string::npos) << bad_output;
}

}  // namespace
}  // namespace surge::metrics
