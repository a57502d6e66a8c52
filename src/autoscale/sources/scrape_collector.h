// ScrapeCollector: the embedded metric source (no Prometheus, no metrics-server). For one HPA
// sync it fetches every Resource and Pods metric of the spec for every pod:
//  - Resource/ContainerResource cpu: local pods (PodInfo::pid) from /proc/PID/stat utime+stime;
//    millicores = CPU seconds used between this sync's read and the previous one / elapsed time;
//    sample timestamp = now, window = time since the previous read (metrics-server's meaning).
//  - Resource/ContainerResource memory: /proc/PID/status VmRSS, bytes → milli-units.
//  - Pods `requests_per_second` (ScrapeCollectorOptions::requests_metric): the per-second rate of
//    the gateway's surge_gateway_backend_requests_total{backend=<pod address>} between syncs.
//  - any other Pods metric: read from each pod's http://<address>/metrics; a gauge (or untyped)
//    is summed over the label sets that match metric.selector.matchLabels; a counter's value is
//    its per-second rate between this scrape and the previous one.
// A rate needs two points: a pod's first sync yields no sample ("missing" for the HPA core), and
// so does an unreachable pod or a page without the metric. When no pod yields a sample the metric
// lands in snapshot.failed with the reason (everything unreachable, metric absent, warming up).
// Object and External metrics are not served here (snapshot.failed says so; the composite
// collector sends External metrics to KEDA triggers).
// Each pod's page is fetched at most once per collect(); fetches are sequential, each bounded by
// options.http (net/http_client.h; 1 s to connect, 2 s in all by default).
// Thread-safety: one collect() at a time (the controller's sync thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autoscale/metrics_collector.h"
#include "autoscale/counter_rate.h"
#include "net/http_client.h"

namespace surge::autoscale {

struct ScrapeCollectorOptions {
  // The gateway's metrics page, e.g. "http://127.0.0.1:9901/metrics". Empty: the
  // requests_per_second metric fails with "no gateway metrics URL configured".
  std::string gateway_metrics_url;
  // The Pods metric name served from the gateway's per-backend request counter.
  std::string requests_metric = "requests_per_second";
  std::string gateway_counter = "surge_gateway_backend_requests_total";
  std::string metrics_path = "/metrics";  // appended to a pod's address
  std::string proc_root = "/proc";
  net::ClientOptions http;
};

class ScrapeCollector : public MetricsCollector {
 public:
  explicit ScrapeCollector(ScrapeCollectorOptions options = {});
  MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                          TimePoint now) override;

 private:
  void collectResource(const std::string& resource, const std::vector<const PodInfo*>& pods,
                       TimePoint now, MetricsSnapshot& out);
  void collectGatewayRate(const std::string& metric, const std::vector<const PodInfo*>& pods,
                          TimePoint now, MetricsSnapshot& out);
  void collectPodMetric(const MetricSpec& metric, const std::vector<const PodInfo*>& pods,
                        TimePoint now, MetricsSnapshot& out);

  ScrapeCollectorOptions options_;
  std::map<std::string, CounterRates> rates_;  // per metric key ("cpu", "pods:<name>", ...)
  // Pages fetched in the current collect(), by pod address (error text when unreachable).
  struct Page;
  std::map<std::string, std::shared_ptr<Page>> pages_;
};

}  // namespace surge::autoscale
