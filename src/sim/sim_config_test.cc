#include "sim/sim_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "common/random.h"

#include "sim/test_util.h"

namespace surge::sim {
namespace {

using testing::configError;
using testing::configFromYaml;

TEST(SimConfig, FullConfigParses) {
  SimConfig c = configFromYaml(R"(
name: demo
seed: 9
duration: 2h
start: 2026-01-06T00:00:00Z
traffic:
  arrivals: poisson
  noise: 0.05
  components:
    - constant: 100
    - diurnal: {trough: 50, peak: 400, peak_at: 14h}
    - spike: {at: 1h, duration: 5m, rps: 300, rise: 30s}
    - ramp: {start: 10m, end: 20m, from: 0, to: 50}
    - step: {at: 30m, rps: -20}
service: {distribution: batch_curve, base: 2ms, per_item: 0.5ms, jitter: 0.1ms}
batching: {max_batch_size: 8, preferred_batch_sizes: [4, 8], max_queue_delay: 1ms}
replicas: {count: 3, slots: 2, queue_limit: 50, cold_start: 20s}
gateway: {algorithm: power_of_two}
slo: {percentile: 0.95, target: 50ms}
price_per_hour: 0.5
output: {interval: 30s}
)");
  EXPECT_EQ(c.name, "demo");
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(c.duration, std::chrono::hours(2));
  EXPECT_EQ(c.start_unix, 1767571200 + 86400);
  EXPECT_EQ(c.traffic.components.size(), 5u);
  EXPECT_EQ(c.replica.service.kind, ServiceModel::Kind::kBatchCurve);
  EXPECT_DOUBLE_EQ(c.replica.service.per_item, 0.0005);
  EXPECT_TRUE(c.replica.batching.dynamic);
  EXPECT_EQ(c.replica.batching.preferred_batch_sizes, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(c.replica.batching.max_queue_delay, std::chrono::milliseconds(1));
  EXPECT_EQ(c.replicas, 3);
  EXPECT_EQ(c.replica.slots, 2);
  EXPECT_EQ(c.replica.queue_limit, 50);
  EXPECT_EQ(c.replica.cold_start, std::chrono::seconds(20));
  EXPECT_EQ(c.gateway.balancer.algorithm, "power_of_two");
  EXPECT_DOUBLE_EQ(c.slo.percentile, 0.95);
  EXPECT_DOUBLE_EQ(c.price_per_hour, 0.5);
  EXPECT_EQ(c.interval, std::chrono::seconds(30));
  EXPECT_FALSE(c.autoscaler.enabled);
}

TEST(SimConfig, PercentilesAndColdStartLists) {
  SimConfig c = configFromYaml(R"(
traffic: {rps: 10}
service: {distribution: percentiles, p0: 16ms, p50: 17ms, p90: 18ms, p99: 22ms, p100: 30ms}
replicas: {count: 2, cold_start: [2s, 4s]}
)");
  const ServiceModel& m = c.replica.service;
  EXPECT_EQ(m.kind, ServiceModel::Kind::kPercentiles);
  ASSERT_EQ(m.quantiles.size(), 5u);
  // Trapezoids: .5 × 16.5 + .4 × 17.5 + .09 × 20 + .01 × 26 = 17.31 ms.
  EXPECT_NEAR(m.meanSeconds(1), 0.01731, 1e-9);
  // Sampled by linear interpolation: every draw within [p0, p100], the quantiles where given.
  Random random(3);
  std::vector<double> draws;
  for (int i = 0; i < 200000; ++i) draws.push_back(static_cast<double>(m.sampleNanos(1, random)) / 1e6);
  std::sort(draws.begin(), draws.end());
  EXPECT_GE(draws.front(), 16);
  EXPECT_LE(draws.back(), 30);
  EXPECT_NEAR(draws[100000], 17, 0.05);
  EXPECT_NEAR(draws[180000], 18, 0.05);
  EXPECT_NEAR(draws[198000], 22, 0.2);
  double sum = 0;
  for (double d : draws) sum += d;
  EXPECT_NEAR(sum / static_cast<double>(draws.size()), 17.31, 0.03);
  EXPECT_EQ(c.replica.cold_starts,
            (std::vector<Duration>{std::chrono::seconds(2), std::chrono::seconds(4)}));
  EXPECT_EQ(c.replica.cold_start, std::chrono::seconds(3));

  const std::string base = "traffic: {rps: 10}\nreplicas: {count: 1}\nservice: ";
  std::string e = configError(base + "{distribution: percentiles, p50: 1ms, p100: 2ms}\n");
  EXPECT_NE(e.find("needs p0"), std::string::npos) << e;
  e = configError(base + "{distribution: percentiles, p0: 1ms, p90: 3ms, p99: 2ms, p100: 4ms}\n");
  EXPECT_NE(e.find("p99 is below p90"), std::string::npos) << e;
  e = configError(base + "{distribution: percentiles, p0: 1ms, mean: 3ms, p100: 4ms}\n");
  EXPECT_NE(e.find("unknown key 'mean'"), std::string::npos) << e;
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;
  e = configError(base + "{distribution: percentiles, p0: 1ms, p101: 3ms, p100: 4ms}\n");
  EXPECT_NE(e.find("unknown key 'p101'"), std::string::npos) << e;
  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nreplicas: {cold_start: [1s, soon]}\n");
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;
  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nreplicas: {cold_start: []}\n");
  EXPECT_NE(e.find("empty list"), std::string::npos) << e;
}

TEST(SimConfig, ErrorsNameFileLineAndField) {
  std::string e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nreplicas: {cuont: 3}\n");
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown field 'cuont'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'count'"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\ngateway: {algorithm: round_robbin}\n");
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'round_robin'"), std::string::npos) << e;

  e = configError("traffic:\n  components:\n    - diurnl: {peak: 5}\nservice: {mean: 5ms}\n");
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'diurnal'"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {distribution: exponential}\n");
  EXPECT_NE(e.find("service.mean: missing required field"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms, base: 1ms}\n");
  EXPECT_NE(e.find("service.base: only for distribution batch_curve"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nbatching: {max_batch_size: 4}\n"
                  "gateway: {mode: shared_queue}\n");
  EXPECT_NE(e.find("needs per-replica queues"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nreplicas: {count: 0}\n");
  EXPECT_NE(e.find("replicas.count: must be at least 1"), std::string::npos) << e;

  e = configError("traffic: {rps: 10}\nservice: {mean: 5ms}\nduration: forever\n");
  EXPECT_NE(e.find("sim.yaml:3:"), std::string::npos) << e;

  e = configError("traffic:\n  components:\n    - trace: {file: /nonexistent/x.csv}\n"
                  "service: {mean: 5ms}\n");
  EXPECT_NE(e.find("cannot open trace"), std::string::npos) << e;

  e = configError("traffic:\n  components: []\nservice: {mean: 5ms}\n");
  EXPECT_NE(e.find("no traffic"), std::string::npos) << e;
}

}  // namespace
}  // namespace surge::sim
