#include "metrics/registry.h"

#include <algorithm>
#include <set>

#include "common/status.h"
#include "metrics/exposition.h"
#include "metrics/promtool_allowlist.h"

namespace surge::metrics {
namespace {

// A registration mistake is a programming error: say what is wrong, then crash.
[[noreturn]] void fail(const std::string& message) {
  std::string m = "metrics: " + message;
  checkFailed(__FILE__, __LINE__, m.c_str());
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

const char* Registry::kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Registry::CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, Collector fn)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        fn_(std::move(fn)) {}

  void setCollector(Collector fn) {
    std::lock_guard<std::mutex> lock(call_mu_);
    fn_ = std::move(fn);
  }

  size_t renderSamples(std::string& out) const override {
    std::vector<Sample> samples;
    {
      std::lock_guard<std::mutex> lock(call_mu_);
      if (fn_) fn_(samples);
    }
    for (const Sample& s : samples) SURGE_CHECK(s.labels.size() == labelNames().size());
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
    size_t n = 0;
    for (size_t i = 0; i < samples.size(); ++i) {
      if (i > 0 && samples[i].labels == samples[i - 1].labels) continue;  // keep the first
      out += name();
      appendLabels(out, labelNames(), samples[i].labels);
      out += ' ';
      appendValue(out, samples[i].value);
      out += '\n';
      ++n;
    }
    return n;
  }

 private:
  mutable std::mutex call_mu_;  // held while fn_ runs, so removal can wait for it
  Collector fn_;
};

Registry::Registry() = default;
Registry::~Registry() = default;

std::shared_ptr<FamilyBase> Registry::checkAndFind(
    const std::string& name, const std::string& help, MetricType type,
    const std::vector<std::string>& label_names) const {
  if (!validMetricName(name)) fail("invalid metric name '" + name + "'");
  if (std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    fail("metric name '" + name + "' must be snake_case");
  }
  bool total = endsWith(name, "_total");
  // Triton's counter names (promtool_allowlist.h) are the only ones that may go without _total.
  if (type == MetricType::kCounter && !total && !lintAllowed(name, kLintTotalSuffix)) {
    fail("counter '" + name + "' must end in _total");
  }
  if (type != MetricType::kCounter && total) {
    fail(std::string(metricTypeName(type)) + " '" + name + "' must not end in _total");
  }
  if (help.empty()) fail("metric '" + name + "' needs help text");
  std::set<std::string> seen;
  for (const std::string& l : label_names) {
    if (!validLabelName(l)) fail("metric '" + name + "': invalid label name '" + l + "'");
    if (!seen.insert(l).second) fail("metric '" + name + "': duplicate label '" + l + "'");
    if (type == MetricType::kHistogram && l == "le") {
      fail("histogram '" + name + "' cannot have a label 'le'");
    }
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    checkNoSeriesClash(name, type);
    return nullptr;
  }
  const FamilyBase& existing = *it->second;
  if (existing.type() != type || existing.labelNames() != label_names) {
    fail("metric '" + name + "' registered again with a different type or labels");
  }
  return it->second;
}

void Registry::checkNoSeriesClash(const std::string& name, MetricType type) const {
  for (std::string_view suffix : kHistogramSuffixes) {
    if (endsWith(name, suffix)) {
      std::string base = name.substr(0, name.size() - suffix.size());
      auto it = families_.find(base);
      if (it != families_.end() && it->second->type() == MetricType::kHistogram) {
        fail("metric '" + name + "' clashes with the series of histogram '" + base + "'");
      }
    }
    if (type == MetricType::kHistogram && families_.count(name + std::string(suffix)) != 0) {
      fail("histogram '" + name + "' clashes with metric '" + name + std::string(suffix) + "'");
    }
  }
}

void Registry::insert(std::shared_ptr<FamilyBase> family) {
  families_.emplace(family->name(), std::move(family));
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = checkAndFind(name, help, MetricType::kCounter, label_names);
  if (existing) return static_cast<Family<Counter>&>(*existing);
  auto f =
      std::make_shared<Family<Counter>>(name, help, MetricType::kCounter, std::move(label_names));
  insert(f);
  return *f;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = checkAndFind(name, help, MetricType::kGauge, label_names);
  if (existing) {
    auto* g = dynamic_cast<Family<Gauge>*>(existing.get());
    if (g == nullptr) fail("gauge '" + name + "' is already a callback gauge");
    return *g;
  }
  auto f = std::make_shared<Family<Gauge>>(name, help, MetricType::kGauge, std::move(label_names));
  insert(f);
  return *f;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<double> buckets,
                                       std::vector<std::string> label_names) {
  if (!validBuckets(buckets)) {
    fail("histogram '" + name + "' needs finite, strictly increasing buckets");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = checkAndFind(name, help, MetricType::kHistogram, label_names);
  if (existing) {
    auto& h = static_cast<Family<Histogram>&>(*existing);
    if (h.bounds() != buckets) fail("histogram '" + name + "' registered again with other buckets");
    return h;
  }
  auto f = std::make_shared<Family<Histogram>>(name, help, MetricType::kHistogram,
                                               std::move(label_names), std::move(buckets));
  insert(f);
  return *f;
}

void Registry::callback(MetricType type, const std::string& name, const std::string& help,
                        std::vector<std::string> label_names, Collector fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = checkAndFind(name, help, type, label_names);
  if (existing) {
    auto* cb = dynamic_cast<CallbackFamily*>(existing.get());
    if (cb == nullptr)
      fail(std::string(metricTypeName(type)) + " '" + name + "' is already a plain " +
           metricTypeName(type));
    cb->setCollector(std::move(fn));
    return;
  }
  insert(std::make_shared<CallbackFamily>(name, help, type, std::move(label_names), std::move(fn)));
}

void Registry::gaugeCallback(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names, Collector fn) {
  callback(MetricType::kGauge, name, help, std::move(label_names), std::move(fn));
}

void Registry::counterCallback(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names, Collector fn) {
  callback(MetricType::kCounter, name, help, std::move(label_names), std::move(fn));
}

void Registry::removeCallback(const std::string& name) {
  std::shared_ptr<FamilyBase> family;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = families_.find(name);
    if (it == families_.end()) return;
    if (dynamic_cast<CallbackFamily*>(it->second.get()) == nullptr) {
      fail("removeCallback('" + name + "'): not a callback family");
    }
    family = std::move(it->second);
    families_.erase(it);
  }
  // A scrape that copied the family before the erase may still be running the collector: wait for
  // it, and make sure no later call happens.
  static_cast<CallbackFamily&>(*family).setCollector(nullptr);
}

std::string Registry::render() const {
  std::vector<std::shared_ptr<FamilyBase>> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family);
  }
  std::string out;
  std::string samples;
  for (const auto& family : families) {
    samples.clear();
    if (family->renderSamples(samples) == 0) continue;
    out += "# HELP ";
    out += family->name();
    out += ' ';
    appendEscapedHelp(out, family->help());
    out += "\n# TYPE ";
    out += family->name();
    out += ' ';
    out += metricTypeName(family->type());
    out += '\n';
    out += samples;
  }
  return out;
}

}  // namespace surge::metrics
