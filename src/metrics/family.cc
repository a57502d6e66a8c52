#include "metrics/family.h"

#include <type_traits>

#include "common/status.h"
#include "metrics/exposition.h"

namespace surge::metrics {

const char* metricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

template <class M>
Family<M>::Family(std::string name, std::string help, MetricType type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)) {
  if constexpr (std::is_same_v<M, Histogram>) SURGE_CHECK(validBuckets(bounds_));
  // A family without labels exports its one series from the start.
  if (labelNames().empty()) series_.emplace(std::vector<std::string>{}, make());
}

template <class M>
std::unique_ptr<M> Family<M>::make() const {
  if constexpr (std::is_same_v<M, Histogram>) {
    return std::make_unique<Histogram>(bounds_);
  } else {
    return std::make_unique<M>();
  }
}

template <class M>
M& Family<M>::labels(const std::vector<std::string>& values) {
  SURGE_CHECK(values.size() == labelNames().size());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) it = series_.emplace(values, make()).first;
  return *it->second;
}

template <class M>
void Family<M>::remove(const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) return;
  retired_.push_back(std::move(it->second));
  series_.erase(it);
}

template <class M>
size_t Family<M>::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return series_.size();
}

template <class M>
void Family<M>::forEach(
    const std::function<void(const std::vector<std::string>&, const M&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, metric] : series_) fn(values, *metric);
}

template <class M>
size_t Family<M>::renderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, metric] : series_) {
    if constexpr (std::is_same_v<M, Histogram>) {
      Histogram::Snapshot s = metric->snapshot();
      std::string le;
      for (size_t i = 0; i <= s.bounds.size(); ++i) {
        le = i < s.bounds.size() ? formatValue(s.bounds[i]) : "+Inf";
        out += name();
        out += "_bucket";
        appendLabels(out, labelNames(), values, le);
        out += ' ';
        out += std::to_string(s.cumulative[i]);
        out += '\n';
      }
      out += name();
      out += "_sum";
      appendLabels(out, labelNames(), values);
      out += ' ';
      appendValue(out, s.sum);
      out += '\n';
      out += name();
      out += "_count";
      appendLabels(out, labelNames(), values);
      out += ' ';
      out += std::to_string(s.count);
      out += '\n';
    } else {
      out += name();
      appendLabels(out, labelNames(), values);
      out += ' ';
      appendValue(out, metric->value());
      out += '\n';
    }
  }
  return series_.size();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace surge::metrics
