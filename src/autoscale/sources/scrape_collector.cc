#include "autoscale/sources/scrape_collector.h"

#include <set>
#include <utility>

#include "autoscale/sources/proc_stats.h"
#include "metrics/text_parser.h"

namespace surge::autoscale {

struct ScrapeCollector::Page {
  StatusOr<metrics::ParsedPage> page = Status(StatusCode::kUnavailable, "not fetched");
};

namespace {

// Why no pod yielded a sample, from the per-pod reasons.
struct Tally {
  int samples = 0;
  int unreachable = 0;
  int absent = 0;
  int warming = 0;
  int no_source = 0;
  std::string first_unreachable, first_absent, first_no_source;

  void fail(int& count, std::string& first, std::string why) {
    if (count++ == 0) first = std::move(why);
  }
  // The snapshot.failed reason, or "" when some pod has a sample (or there are no pods).
  std::string reason(const std::string& metric, size_t pods) const {
    if (samples > 0 || pods == 0) return "";
    if (unreachable > 0 && unreachable == static_cast<int>(pods)) {
      return "no replica could be read (" + std::to_string(unreachable) +
             " unreachable): " + first_unreachable;
    }
    if (warming > 0) {
      return "'" + metric + "' is a rate: the first scrape of " + std::to_string(warming) +
             " pod(s) has no previous point yet";
    }
    if (absent > 0) return first_absent;
    if (no_source > 0) return first_no_source;
    return "no pod reported '" + metric + "': " + first_unreachable;
  }
};

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

// The family type of series `name` ("counter", "gauge", ...; "" when the page has no TYPE line).
std::string familyType(const metrics::ParsedPage& page, const std::string& name) {
  if (auto it = page.types.find(name); it != page.types.end()) return it->second;
  if (endsWith(name, "_total")) {
    auto it = page.types.find(name.substr(0, name.size() - 6));
    if (it != page.types.end()) return it->second;
  }
  return "";
}

}  // namespace

ScrapeCollector::ScrapeCollector(ScrapeCollectorOptions options) : options_(std::move(options)) {}

MetricsSnapshot ScrapeCollector::collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                                         TimePoint now) {
  MetricsSnapshot out;
  std::vector<const PodInfo*> live;
  for (const auto& p : pods) {
    if (p.deleted || p.phase == "Failed" || p.phase == "Succeeded") continue;
    live.push_back(&p);
  }
  pages_.clear();
  std::set<std::string> used_rates;
  for (const auto& m : spec.metrics) {
    switch (m.type) {
      case MetricSourceType::kResource:
      case MetricSourceType::kContainerResource:
        if (m.name == "cpu" || m.name == "memory") {
          collectResource(m.name, live, now, out);
          used_rates.insert(m.name);
        } else {
          out.failed[m.name] =
              "resource '" + m.name + "' is not measured by the scrape collector (cpu, memory)";
        }
        break;
      case MetricSourceType::kPods:
        if (m.name == options_.requests_metric) {
          collectGatewayRate(m.name, live, now, out);
          used_rates.insert("gateway:" + m.name);
        } else {
          collectPodMetric(m, live, now, out);
          used_rates.insert("pods:" + m.name);
        }
        break;
      case MetricSourceType::kObject:
        out.failed[m.name] = "Object metric '" + m.name +
                             "' has no source in the scrape collector (use a Pods metric or a "
                             "KEDA trigger)";
        break;
      case MetricSourceType::kExternal:
        out.failed[m.name] = "External metric '" + m.name +
                             "' has no source (External metrics come from KEDA triggers)";
        break;
    }
  }
  for (auto it = rates_.begin(); it != rates_.end();) {
    it = used_rates.count(it->first) ? std::next(it) : rates_.erase(it);
  }
  pages_.clear();
  return out;
}

void ScrapeCollector::collectResource(const std::string& resource,
                                      const std::vector<const PodInfo*>& pods, TimePoint now,
                                      MetricsSnapshot& out) {
  auto& samples = out.pod_metrics[resource];
  CounterRates& rates = rates_[resource];
  std::set<std::string> keep;
  Tally t;
  for (const PodInfo* p : pods) {
    if (p->pid <= 0) {
      t.fail(t.no_source, t.first_no_source,
             resource + ": no local process for pod '" + p->name + "' (pid unknown)");
      continue;
    }
    if (resource == "memory") {
      auto rss = readProcRssBytes(p->pid, options_.proc_root);
      if (!rss.isOk()) {
        t.fail(t.unreachable, t.first_unreachable, rss.status().message());
        continue;
      }
      PodSample s;
      s.value_milli = *rss * 1000;
      s.timestamp = now;
      samples[p->name] = s;
      ++t.samples;
      continue;
    }
    auto ticks = readProcCpuTicks(p->pid, options_.proc_root);
    if (!ticks.isOk()) {
      t.fail(t.unreachable, t.first_unreachable, ticks.status().message());
      continue;
    }
    std::string key = p->name + "|" + std::to_string(p->pid);
    keep.insert(key);
    double seconds = static_cast<double>(*ticks) / static_cast<double>(clockTicksPerSecond());
    if (auto s = rates.observe(key, seconds, now)) {
      samples[p->name] = *s;
      ++t.samples;
    } else {
      ++t.warming;
    }
  }
  if (resource == "cpu") rates.retain(keep);
  std::string why = t.reason(resource, pods.size());
  if (!why.empty()) out.failed[resource] = why;
}

void ScrapeCollector::collectGatewayRate(const std::string& metric,
                                         const std::vector<const PodInfo*>& pods, TimePoint now,
                                         MetricsSnapshot& out) {
  if (options_.gateway_metrics_url.empty()) {
    out.failed[metric] = "'" + metric +
                         "' comes from the gateway: no gateway metrics URL "
                         "configured";
    return;
  }
  auto fetched = net::httpGet(options_.gateway_metrics_url, options_.http);
  if (fetched.isOk() && fetched->status != 200) {
    fetched = unavailable("GET " + options_.gateway_metrics_url + ": HTTP " +
                          std::to_string(fetched->status));
  }
  if (!fetched.isOk()) {
    out.failed[metric] = "gateway metrics unavailable: " + fetched.status().message();
    return;
  }
  auto page = metrics::parseText(fetched->body);
  if (!page.isOk()) {
    out.failed[metric] =
        "gateway metrics page " + options_.gateway_metrics_url + ": " + page.status().message();
    return;
  }
  auto& samples = out.pod_metrics[metric];
  CounterRates& rates = rates_["gateway:" + metric];
  std::set<std::string> keep;
  Tally t;
  for (const PodInfo* p : pods) {
    if (p->address.empty()) {
      t.fail(t.no_source, t.first_no_source, metric + ": pod '" + p->name + "' has no address");
      continue;
    }
    auto v = page->value(options_.gateway_counter, {{"backend", p->address}});
    if (!v) {
      t.fail(t.absent, t.first_absent,
             "the gateway has no " + options_.gateway_counter + "{backend=\"" + p->address +
                 "\"} (pod '" + p->name + "' not in the gateway)");
      continue;
    }
    keep.insert(p->address);
    if (auto s = rates.observe(p->address, *v, now)) {
      samples[p->name] = *s;
      ++t.samples;
    } else {
      ++t.warming;
    }
  }
  rates.retain(keep);
  std::string why = t.reason(metric, pods.size());
  if (!why.empty()) out.failed[metric] = why;
}

void ScrapeCollector::collectPodMetric(const MetricSpec& metric,
                                       const std::vector<const PodInfo*>& pods, TimePoint now,
                                       MetricsSnapshot& out) {
  auto& samples = out.pod_metrics[metric.name];
  CounterRates& rates = rates_["pods:" + metric.name];
  metrics::LabelPairs filter(metric.match_labels.begin(), metric.match_labels.end());
  std::set<std::string> keep;
  Tally t;
  for (const PodInfo* p : pods) {
    if (p->address.empty()) {
      t.fail(t.no_source, t.first_no_source,
             metric.name + ": pod '" + p->name + "' has no address to scrape");
      continue;
    }
    auto& slot = pages_[p->address];
    if (!slot) {
      slot = std::make_shared<Page>();
      std::string url = "http://" + p->address + options_.metrics_path;
      auto fetched = net::httpGet(url, options_.http);
      if (fetched.isOk() && fetched->status != 200) {
        fetched = unavailable("GET " + url + ": HTTP " + std::to_string(fetched->status));
      }
      if (!fetched.isOk()) {
        slot->page = fetched.status();
      } else {
        auto parsed = metrics::parseText(fetched->body);
        slot->page = parsed.isOk() ? std::move(parsed)
                                   : StatusOr<metrics::ParsedPage>(
                                         invalidArgument(url + ": " + parsed.status().message()));
      }
    }
    if (!slot->page.isOk()) {
      t.fail(t.unreachable, t.first_unreachable, slot->page.status().message());
      continue;
    }
    const metrics::ParsedPage& page = *slot->page;
    auto found = page.find(metric.name, filter);
    if (found.empty()) {
      t.fail(t.absent, t.first_absent,
             "metric '" + metric.name + "' not found on the /metrics page of pod '" + p->name +
                 "' (" + p->address + ")");
      continue;
    }
    double sum = 0;
    for (const auto* s : found) sum += s->value;
    if (familyType(page, metric.name) == "counter") {
      std::string key = p->name + "|" + p->address;
      keep.insert(key);
      if (auto s = rates.observe(key, sum, now)) {
        samples[p->name] = *s;
        ++t.samples;
      } else {
        ++t.warming;
      }
    } else {
      PodSample s;
      s.value_milli = toMilli(sum);
      s.timestamp = now;
      samples[p->name] = s;
      ++t.samples;
    }
  }
  rates.retain(keep);
  std::string why = t.reason(metric.name, pods.size());
  if (!why.empty()) out.failed[metric.name] = why;
}

}  // namespace surge::autoscale
