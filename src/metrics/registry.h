// Registry: every metric of a process, rendered as one Prometheus text page (format 0.0.4) for
// GET /metrics. Registration is not the hot path (mutex); counting is (atomics, see
// metric_types.h). Names are checked when registered — a bad name is a programming error and
// SURGE_CHECKs, so render() always passes `promtool check metrics` (but for the lint messages
// promtool_allowlist.h allows Triton's names):
//   - names match [a-zA-Z_:][a-zA-Z0-9_:]* and are snake_case (no upper case);
//   - counters end in _total (except Triton's names, metrics/promtool_allowlist.h), other types
//     do not; help text is required;
//   - label names match [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no duplicates, no "le" on
//     histograms;
//   - no two families may produce the same series name (a histogram "x" owns x_bucket, x_sum,
//     x_count).
// Registering the same name again with the same type, labels (and buckets) returns the same
// family; anything else SURGE_CHECKs.
// Callback gauges are computed at scrape time (per-backend in-flight, health state). The callback
// runs on the scraping thread without the registry lock held, so it may read anything
// thread-safe; removeCallback() waits for a running call to finish, so the callback's captures
// may be destroyed right after it returns.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/family.h"
#include "metrics/metric_types.h"

namespace surge::metrics {

// One series produced by a callback: label values in label_names order, and its value.
struct Sample {
  std::vector<std::string> labels;
  double value = 0;
};

class Registry {
 public:
  using Collector = std::function<void(std::vector<Sample>& out)>;

  static const char* kContentType;  // "text/plain; version=0.0.4; charset=utf-8"

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<double> buckets,
                               std::vector<std::string> label_names = {});

  // A gauge family whose series come from `fn` at every scrape. Samples with a wrong number of
  // label values SURGE_CHECK; duplicate label sets keep the first. Registering the same name
  // again with the same labels replaces the callback.
  void gaugeCallback(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names, Collector fn);
  // A counter family read at every scrape from counters kept elsewhere (e.g. ejections counted by
  // the outlier detector). The values must never decrease; the name must end in _total.
  void counterCallback(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names, Collector fn);
  // Drops a callback family; returns after any running call of it has finished. No-op if absent.
  void removeCallback(const std::string& name);

  // The whole page: families sorted by name, each with HELP and TYPE, series sorted by label
  // values. Families with no series are left out.
  std::string render() const;

 private:
  class CallbackFamily;
  void callback(MetricType type, const std::string& name, const std::string& help,
                std::vector<std::string> label_names, Collector fn);

  // Checks name/labels and returns the existing family of that name, or null.
  std::shared_ptr<FamilyBase> checkAndFind(const std::string& name, const std::string& help,
                                           MetricType type,
                                           const std::vector<std::string>& label_names) const;
  void checkNoSeriesClash(const std::string& name, MetricType type) const;
  void insert(std::shared_ptr<FamilyBase> family);

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FamilyBase>> families_;
};

}  // namespace surge::metrics
