#include "autoscale/sources/replica_stats.h"

#include <gtest/gtest.h>

#include "support/fake_http_server.h"

namespace surge::autoscale {
namespace {

metrics::ParsedPage page(const std::string& text) {
  auto p = metrics::parseText(text);
  EXPECT_TRUE(p.isOk()) << p.status().message();
  return p.isOk() ? *p : metrics::ParsedPage{};
}

// A `surge serve` page: `ok` successes, latencies in buckets 5 ms / 10 ms / 50 ms, a queue,
// batches.
std::string servePage(double ok, double le5, double le10, double le50, double queue, double rows,
                      double batches) {
  std::string s;
  s += "nv_inference_request_success{model=\"m\",version=\"1\"} " + std::to_string(ok) + "\n";
  s += "nv_inference_request_failure{model=\"m\",version=\"1\",reason=\"BACKEND\"} 0\n";
  s += "# TYPE model_latency histogram\n";
  s += "model_latency_bucket{model=\"m\",version=\"1\",le=\"0.005\"} " + std::to_string(le5) + "\n";
  s += "model_latency_bucket{model=\"m\",version=\"1\",le=\"0.01\"} " + std::to_string(le10) + "\n";
  s += "model_latency_bucket{model=\"m\",version=\"1\",le=\"0.05\"} " + std::to_string(le50) + "\n";
  s += "model_latency_bucket{model=\"m\",version=\"1\",le=\"+Inf\"} " + std::to_string(le50) + "\n";
  s += "model_latency_sum{model=\"m\",version=\"1\"} "
       "1\nmodel_latency_count{model=\"m\",version=\"1\"} " +
       std::to_string(le50) + "\n";
  s += "model_request_queue_length{model=\"m\",version=\"1\"} " + std::to_string(queue) + "\n";
  s += "surge_serve_batch_size_sum{model=\"m\",version=\"1\"} " + std::to_string(rows) + "\n";
  s += "surge_serve_batch_size_count{model=\"m\",version=\"1\"} " + std::to_string(batches) + "\n";
  return s;
}

TEST(ReplicaNumbers, RatesQuantilesAndBatchAreOverTheWindow) {
  // Before: 100 requests all under 5 ms. After 10 s: 200 more, all between 10 and 50 ms.
  auto before = page(servePage(100, 100, 100, 100, 0, 400, 100));
  auto after = page(servePage(300, 100, 100, 300, 7, 1400, 200));
  ReplicaNumbers n = replicaNumbers(&before, 10, after, 20);
  ASSERT_TRUE(n.rps);
  EXPECT_DOUBLE_EQ(*n.rps, 20.0);
  ASSERT_TRUE(n.p50_ms && n.p99_ms);
  // Every windowed observation is in (10, 50] ms: the lifetime p50 (which would be < 10) is not.
  EXPECT_GT(*n.p50_ms, 10.0);
  EXPECT_LE(*n.p99_ms, 50.0);
  EXPECT_GT(*n.p99_ms, *n.p50_ms);
  ASSERT_TRUE(n.queue);
  EXPECT_DOUBLE_EQ(*n.queue, 7.0);
  ASSERT_TRUE(n.batch_size);
  EXPECT_DOUBLE_EQ(*n.batch_size, 10.0);  // 1000 rows in 100 batches
}

TEST(ReplicaNumbers, FirstScrapeHasOnlyTheQueue) {
  // Lifetime totals are no "last ~10 s": no rate, no quantile, no mean batch yet.
  auto only = page(servePage(100, 100, 100, 100, 2, 400, 100));
  ReplicaNumbers n = replicaNumbers(nullptr, 0, only, 5);
  EXPECT_FALSE(n.rps);
  EXPECT_FALSE(n.p50_ms);
  EXPECT_FALSE(n.p99_ms);
  EXPECT_FALSE(n.batch_size);
  ASSERT_TRUE(n.queue);
  EXPECT_DOUBLE_EQ(*n.queue, 2.0);
}

TEST(ReplicaNumbers, IdleWindowAndRestartedReplica) {
  auto a = page(servePage(100, 100, 100, 100, 0, 400, 100));
  ReplicaNumbers idle = replicaNumbers(&a, 0, a, 10);
  ASSERT_TRUE(idle.rps);
  EXPECT_DOUBLE_EQ(*idle.rps, 0.0);
  EXPECT_FALSE(idle.p50_ms);  // no request in the window: no latency, not a stale one
  EXPECT_FALSE(idle.batch_size);
  auto restarted = page(servePage(5, 5, 5, 5, 1, 5, 5));
  ReplicaNumbers r = replicaNumbers(&a, 0, restarted, 10);
  EXPECT_FALSE(r.rps);  // counters went down: no rate against the old process
  EXPECT_FALSE(r.p50_ms);  // ... nor the new process's lifetime numbers
  EXPECT_FALSE(r.p99_ms);
  EXPECT_FALSE(r.batch_size);
  EXPECT_DOUBLE_EQ(r.queue.value_or(-1), 1.0);
  // Requests alone may not show it (the restarted process already served as many): the
  // histogram and batch counters do.
  auto same_requests = page(servePage(100, 10, 10, 10, 0, 10, 10));
  EXPECT_TRUE(replicaRestarted(a, same_requests));
  EXPECT_FALSE(replicaNumbers(&a, 0, same_requests, 10).p50_ms);
  EXPECT_FALSE(replicaRestarted(a, a));
}

TEST(ReplicaNumbers, PageWithoutServingFamiliesGivesNothing) {
  auto empty = page("# nothing\nother_metric 1\n");
  ReplicaNumbers n = replicaNumbers(&empty, 0, empty, 10);
  EXPECT_DOUBLE_EQ(n.rps.value_or(-1), 0.0);
  EXPECT_FALSE(n.p50_ms);
  EXPECT_FALSE(n.queue);
  EXPECT_FALSE(n.batch_size);
}

TEST(ReplicaStatsScraper, UnreachableReplicaIsAnErrorNotACrash) {
  ReplicaStatsScraper s(net::ClientOptions::withTimeout(std::chrono::milliseconds(300)));
  auto out = s.scrape({"127.0.0.1:1"}, TimePoint{} + std::chrono::seconds(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out["127.0.0.1:1"].error.empty());
  EXPECT_FALSE(out["127.0.0.1:1"].rps);
}

TEST(ReplicaStatsScraper, ScrapesEachReplicaAndRatesAgainstTheOldestKeptScrape) {
  testing::FakeHttpServer replica;
  ASSERT_TRUE(replica.ok());
  ReplicaStatsScraper s(net::ClientOptions::withTimeout(std::chrono::seconds(2)),
                        std::chrono::seconds(10));
  const TimePoint t0 = TimePoint{} + std::chrono::seconds(100);
  replica.setPage(servePage(100, 100, 100, 100, 0, 100, 100));
  auto first = s.scrape({replica.address()}, t0);
  EXPECT_TRUE(first[replica.address()].error.empty()) << first[replica.address()].error;
  EXPECT_FALSE(first[replica.address()].rps);
  replica.setPage(servePage(150, 150, 150, 150, 3, 150, 150));
  auto second = s.scrape({replica.address()}, t0 + std::chrono::seconds(5));
  ASSERT_TRUE(second[replica.address()].rps);
  EXPECT_DOUBLE_EQ(*second[replica.address()].rps, 10.0);  // 50 in 5 s
  replica.setPage(servePage(250, 250, 250, 250, 3, 250, 250));
  auto third = s.scrape({replica.address()}, t0 + std::chrono::seconds(10));
  ASSERT_TRUE(third[replica.address()].rps);
  EXPECT_DOUBLE_EQ(*third[replica.address()].rps, 15.0);  // against t0: 150 in 10 s
  // Past the window, t0 is dropped: against t0 + 5 s.
  auto fourth = s.scrape({replica.address()}, t0 + std::chrono::seconds(15));
  ASSERT_TRUE(fourth[replica.address()].rps);
  EXPECT_DOUBLE_EQ(*fourth[replica.address()].rps, 10.0);  // 100 in 10 s
  EXPECT_EQ(replica.requests(), 4);
  EXPECT_EQ(replica.lastTarget(), "/metrics");
}

TEST(ReplicaStatsScraper, FirstScrapeAndRestartShowNoWindowNumbers) {
  testing::FakeHttpServer replica;
  ASSERT_TRUE(replica.ok());
  ReplicaStatsScraper s(net::ClientOptions::withTimeout(std::chrono::seconds(2)),
                        std::chrono::seconds(10));
  const TimePoint t0 = TimePoint{} + std::chrono::seconds(100);
  replica.setPage(servePage(100, 100, 100, 100, 0, 400, 100));
  auto first = s.scrape({replica.address()}, t0)[replica.address()];
  EXPECT_TRUE(first.error.empty()) << first.error;
  EXPECT_FALSE(first.rps);
  EXPECT_FALSE(first.p50_ms);
  EXPECT_FALSE(first.p99_ms);
  EXPECT_FALSE(first.batch_size);
  replica.setPage(servePage(150, 150, 150, 150, 0, 600, 150));
  auto second = s.scrape({replica.address()}, t0 + std::chrono::seconds(5))[replica.address()];
  ASSERT_TRUE(second.p50_ms && second.batch_size);
  EXPECT_DOUBLE_EQ(*second.batch_size, 4.0);
  // Restarted on the same address: the first scrape of the new process has no window numbers.
  replica.setPage(servePage(10, 0, 0, 10, 0, 20, 10));
  auto restarted = s.scrape({replica.address()}, t0 + std::chrono::seconds(6))[replica.address()];
  EXPECT_FALSE(restarted.rps);
  EXPECT_FALSE(restarted.p50_ms);
  EXPECT_FALSE(restarted.batch_size);
  // The next one rates against the new process's first scrape, not against the old process.
  replica.setPage(servePage(30, 0, 0, 30, 0, 80, 30));
  auto next = s.scrape({replica.address()}, t0 + std::chrono::seconds(8))[replica.address()];
  ASSERT_TRUE(next.rps);
  EXPECT_DOUBLE_EQ(*next.rps, 10.0);  // 20 in 2 s
  ASSERT_TRUE(next.batch_size);
  EXPECT_DOUBLE_EQ(*next.batch_size, 3.0);  // 60 rows in 20 batches
  ASSERT_TRUE(next.p50_ms);
  EXPECT_GT(*next.p50_ms, 10.0);
}

}  // namespace
}  // namespace surge::autoscale
