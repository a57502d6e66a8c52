// Family<M>: one metric name with many label sets (Prometheus "metric family"), e.g.
// surge_upstream_requests_total{backend="10.0.0.1:80",code="2xx"}.
// labels() takes a mutex and a map lookup (O(log n)): call it once and cache the reference; the
// hot path then touches only the metric's atomics. A family without labels holds its single series
// from the start (rendered as 0 before the first inc), reachable with get().
// remove() stops exporting a series; the object itself stays alive (retired) until the family is
// destroyed, so a cached reference never dangles — increments to it are simply no longer shown.
// Asking for removed label values again makes a fresh series starting from zero.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/metric_types.h"

namespace surge::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };
const char* metricTypeName(MetricType type);  // "counter", "gauge", "histogram"

// What every family shares; the registry renders through this.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }

  // Appends the sample lines (no HELP/TYPE) in label-value order; returns how many series.
  virtual size_t renderSamples(std::string& out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

template <class M>
class Family final : public FamilyBase {
 public:
  // For Histogram families `bounds` are the bucket upper bounds; ignored otherwise.
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  // The series for these label values (in label_names order), created on first use.
  // Wrong arity → SURGE_CHECK.
  M& labels(const std::vector<std::string>& values);
  // The only series of a family without labels.
  M& get() { return labels({}); }
  // Stops exporting the series (no-op if absent).
  void remove(const std::vector<std::string>& values);
  // Number of exported series.
  size_t size() const;
  const std::vector<double>& bounds() const { return bounds_; }

  // Calls fn(label_values, metric) for each exported series in label order, under the family lock.
  void forEach(const std::function<void(const std::vector<std::string>&, const M&)>& fn) const;

  size_t renderSamples(std::string& out) const override;

 private:
  std::unique_ptr<M> make() const;

  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> series_;
  std::vector<std::unique_ptr<M>> retired_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace surge::metrics
