// planner/sizing: evaluate a queueing model at a replica count, and find the smallest replica
// count whose response-time percentile (wait + the request's own service) meets a target.
//   exponential   → M/M/c, Erlang C (erlang.h)                 exact
//   deterministic → M/D/c, Crommelin/Wiener–Hopf (mdc.h)       exact
//   general       → G/G/c, Allen–Cunneen (allen_cunneen.h)     mean approximate, percentile
//   heuristic
// c replicas of k slots each are N = c·k servers behind ONE shared queue (an ideal central
// dispatcher: least-outstanding-requests with a gateway queue approaches it). Random routing to
// per-replica queues is far worse: sizeRandomRouting() gives that count for comparison.
//
// Sizing scans up from the fewest strictly stable replicas, floor(A/k) + 1, by galloping then
// bisection (the percentile falls as replicas are added, so this equals a linear scan). It is
// infeasible, with a reason, when no count can meet the target: the service time alone already
// reaches it (exponential: target ≤ S·ln(1/(1−p)); deterministic: target < D; general: target ≤
// the gamma service percentile), or more than kMaxServers servers would be needed. Deterministic
// candidates above the exact solver's utilisation limit (0.9999) count as not meeting the target
// (their waits are thousands of service times).
// Complexity: O(log c*) evaluations; one evaluation is O(N) for M/M/c, O(M log M + √A) for M/D/c.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace surge::planner {

enum class ServiceDistribution { kExponential, kDeterministic, kGeneral };

// "exponential" | "deterministic" | "general"; parse returns nullopt for anything else.
std::string_view serviceDistributionName(ServiceDistribution d);
std::optional<ServiceDistribution> parseServiceDistribution(std::string_view name);
// "M/M/c" | "M/D/c" | "G/G/c (Allen-Cunneen)".
std::string_view modelName(ServiceDistribution d);

inline constexpr int64_t kMaxServers = 10'000'000;

struct QueueSpec {
  double arrival_rate = 0;  // requests/s reaching the shared queue (the design rate)
  double service_time = 0;  // mean seconds a request holds one slot
  int64_t slots = 1;        // parallel requests per replica
  ServiceDistribution distribution = ServiceDistribution::kExponential;
  double ca2 = 1;  // general only: squared CV of inter-arrival times
  double cs2 = 1;  // general only: squared CV of service times
  double percentile = 0.99;
};

struct QueueMetrics {
  std::string model;
  int64_t replicas = 0;
  int64_t servers = 0;
  double offered_load = 0;  // A = λS Erlangs
  double utilization = 0;   // A / servers
  bool stable = false;      // utilisation < 1; when false the times below are +inf, p_wait 1
  double p_wait = 0;
  double mean_wait = 0;
  double mean_response = 0;
  double wait_percentile = 0;
  double response_percentile = 0;
  bool percentile_is_heuristic = false;  // true for the general (Allen–Cunneen) model
};

// InvalidArgument naming the bad field; OutOfRange when the model cannot be solved at this size
// (M/D/c above its utilisation limit).
Status validateQueueSpec(const QueueSpec& spec);
StatusOr<QueueMetrics> evaluateQueue(const QueueSpec& spec, int64_t replicas);

struct SizingResult {
  bool feasible = false;
  std::string reason;  // why not, when infeasible
  double offered_load = 0;
  std::optional<QueueMetrics> metrics;  // at the recommended count (empty when infeasible)
};

// The lowest response percentile reachable with unlimited replicas: the service time's own
// p-percentile (S·ln(1/(1−p)), D, or the gamma percentile).
double serviceOnlyPercentile(const QueueSpec& spec);

StatusOr<SizingResult> sizeForLatency(const QueueSpec& spec, double latency_target);

// For comparison: replicas needed when each request goes to a uniformly random replica with its
// own queue (each replica an independent queue of `slots` servers at rate λ/c). nullopt when
// infeasible.
StatusOr<std::optional<int64_t>> sizeRandomRouting(const QueueSpec& spec, double latency_target);

// "p99", "p99.9", "p50".
std::string percentileLabel(double p);
// "23.03 ms", "1.5 s", "850 µs".
std::string formatSeconds(double seconds);

}  // namespace surge::planner
