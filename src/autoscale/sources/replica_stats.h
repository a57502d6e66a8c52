// ReplicaStats: per-replica serving numbers for the autoscaler's dashboard (docs/design/
// dashboard.md), read from each replica's own /metrics page as `surge serve` exports it:
//   rps        (nv_inference_request_success + nv_inference_request_failure) per second
//   p50/p99    histogram_quantile of model_latency (seconds → ms), successful requests
//   queue      model_request_queue_length (requests waiting for a batch, now)
//   batch      mean rows per executed batch (surge_serve_batch_size sum / count)
// Rates, quantiles and the mean batch are over the window between the oldest kept scrape of that
// replica (at most `window` old) and the newest one; with a single scrape (a replica's first, or
// its first after a restart) there is no rate, no quantile and no mean batch — never lifetime
// totals passed off as the window's — only the queue. Every family is summed over models.
// Not a metric source of the HPA: nothing here feeds a decision.
// Thread-safety: ReplicaStatsScraper::scrape from one thread at a time (the dashboard sampler);
// replicaNumbers is pure.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "metrics/text_parser.h"
#include "net/http_client.h"

namespace surge::autoscale {

struct ReplicaNumbers {
  std::optional<double> rps;
  std::optional<double> p50_ms;
  std::optional<double> p99_ms;
  std::optional<double> queue;
  std::optional<double> batch_size;
  std::string error;  // why the page could not be read ("" when it was)
};

// Numbers from the page `cur` scraped at `cur_s`, against `prev` scraped at `prev_s` (null: no
// earlier scrape). A counter that went down (replica restarted on the same address) counts as
// no earlier scrape. Without an earlier scrape only `queue` (a gauge) is set.
ReplicaNumbers replicaNumbers(const metrics::ParsedPage* prev, double prev_s,
                              const metrics::ParsedPage& cur, double cur_s);

// True when a counter of `cur` (requests, latency observations, batches) is below `prev`'s: the
// replica restarted between the two scrapes.
bool replicaRestarted(const metrics::ParsedPage& prev, const metrics::ParsedPage& cur);

class ReplicaStatsScraper {
 public:
  explicit ReplicaStatsScraper(
      net::ClientOptions http = net::ClientOptions::withTimeout(std::chrono::milliseconds(500)),
      Duration window = std::chrono::seconds(10), std::string metrics_path = "/metrics");

  // Scrapes http://<address><metrics_path> of each address (sequentially, each bounded by the
  // client's timeout) and returns the numbers by address. Forgets addresses not passed.
  std::map<std::string, ReplicaNumbers> scrape(const std::vector<std::string>& addresses,
                                               TimePoint now);

 private:
  struct Scrape {
    TimePoint at;
    metrics::ParsedPage page;
  };
  net::ClientOptions http_;
  Duration window_;
  std::string path_;
  std::map<std::string, std::deque<Scrape>> history_;
};

}  // namespace surge::autoscale
