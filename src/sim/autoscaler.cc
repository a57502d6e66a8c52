#include "sim/autoscaler.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/hpa/hpa.h"
#include "autoscale/predict/forecaster.h"
#include "autoscale/scaling_pipeline.h"

namespace surge::sim {
namespace {

using namespace surge::autoscale;  // NOLINT(build/namespaces): the policy's vocabulary

struct SimScalerOptions {
  Duration scrape_interval{0};  // 0 → the sync period
  Duration metrics_window{0};   // 0 → the sync period
  int64_t cpu_request_milli = 1000;
  int64_t memory_request_milli = int64_t{1} << 40;  // 1Gi in milli-units
  double memory_usage = 0.5;  // constant fraction of the request (a loaded model's RSS)
  int64_t history_days = 7;
  std::optional<Duration> sync_phase;  // the first sync's time (default: one sync period)
  Duration refit_every = kDefaultRefitPeriod;  // the controller's; `refit_every` overrides it
};

bool isGaugeName(const std::string& name) {
  for (const char* k : {"inflight", "in_flight", "concurrency", "queue"}) {
    if (name.find(k) != std::string::npos) return true;
  }
  return false;
}

PipelineOptions pipelineOptions(const SimScalerOptions& o) {
  PipelineOptions p;
  p.refit_period = o.refit_every;
  return p;
}

class HpaScaler : public SimAutoscaler {
 public:
  HpaScaler(AutoscalePolicy policy, SimScalerOptions options, const SimConfig& config,
            const RateCurve& curve)
      : options_(options),
        pipeline_(std::move(policy), pipelineOptions(options)) {
    const PipelinePolicy& p = pipeline_.policy();
    if (options_.scrape_interval.count() == 0) options_.scrape_interval = p.sync_period;
    if (options_.metrics_window.count() == 0) options_.metrics_window = p.sync_period;
    if (p.predictive.enabled) {
      // Generated history: the noise-free curve for the days before the start, one sample per
      // 5 minutes (the forecaster's bucket), as if `surge autoscale` had been recording it. A
      // trace's history is its recorded data before `start:` (never earlier than its first
      // sample: a shorter history, not the first value repeated).
      const int64_t step = 300;
      std::vector<RpsSample> history;
      int64_t from = -options_.history_days * 86400;
      const double covered = curve.historyStart();
      if (covered > static_cast<double>(from)) {
        from = static_cast<int64_t>(std::ceil(covered / step)) * step;
      }
      for (int64_t t = from; t < 0; t += step) {
        history.push_back({config.start_unix + t, curve.historyRateAt(static_cast<double>(t))});
      }
      pipeline_.setRpsHistory(std::move(history));
    }
  }

  Duration scrapeInterval() const override { return options_.scrape_interval; }
  Duration syncPeriod() const override { return pipeline_.policy().sync_period; }
  Duration firstSync() const override {
    return options_.sync_phase ? *options_.sync_phase : syncPeriod();
  }
  int32_t minReplicas() const override { return pipeline_.policy().hpa.min_replicas; }

  void onScrape(const ClusterView& v) override {
    if (last_scrape_ns_ == v.now_ns) return;  // already read at this instant (by a sync)
    last_scrape_ns_ = v.now_ns;
    for (const auto& p : v.pods) {
      auto& s = scrapes_[p.name];
      s.push_back({v.now_ns, p.requests_total, p.busy_slot_ns, p.in_flight, p.slots, p.ready});
      // Keep what the window needs plus one older point.
      while (s.size() > 2 && s[1].t_ns <= v.now_ns - options_.metrics_window.count() + 1'000'000) {
        s.pop_front();
      }
    }
    // Forget removed pods.
    if (scrapes_.size() > v.pods.size() * 2 + 16) {
      std::map<std::string, std::deque<Scrape>> kept;
      for (const auto& p : v.pods) kept[p.name] = std::move(scrapes_[p.name]);
      scrapes_.swap(kept);
    }
  }

  int32_t onSync(const ClusterView& v) override { return decide(observe(v)).desired; }

  Observation observe(const ClusterView& v) override {
    // The real collector reads the counters at the sync itself.
    if (last_scrape_ns_ != v.now_ns) onScrape(v);
    Observation obs;
    obs.now = TimePoint(Duration(v.now_ns));
    obs.unix_ms = v.start_unix * 1000 + v.now_ns / 1'000'000;
    int32_t live = 0;
    for (const auto& p : v.pods) live += p.draining ? 0 : 1;
    obs.scale.spec_replicas = v.spec_replicas;
    obs.scale.status_replicas = live;
    obs.pods.reserve(v.pods.size());
    for (const auto& p : v.pods) {
      PodInfo pod;
      pod.name = p.name;
      pod.address = p.name;
      pod.phase = p.ready || p.draining ? "Running" : "Pending";
      pod.deleted = p.draining;
      pod.start_time = TimePoint(Duration(p.created_ns));
      pod.ready = ReadyCondition{p.ready, TimePoint(Duration(p.ready ? p.ready_ns : p.created_ns))};
      pod.requests_milli["cpu"] = options_.cpu_request_milli;
      pod.requests_milli["memory"] = options_.memory_request_milli;
      obs.pods.push_back(std::move(pod));
    }
    obs.metrics = collect(obs.pods, obs.now);
    return obs;
  }

  Decision decide(const Observation& obs) override {
    PipelineResult r = pipeline_.step(obs);
    const Decision& d = r.decision;
    if (d.forecast_rps) last_forecast_ = *d.forecast_rps;
    if (d.current > 0 && !d.held && pipeline_.policy().panic.enabled) panicking_ = d.panicking;
    return d;
  }

  std::string note() const override {
    std::string n = panicking_ ? "panic" : "";
    if (last_forecast_ >= 0) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%sforecast=%.0f", n.empty() ? "" : " ", last_forecast_);
      n += buf;
    }
    return n;
  }

 private:
  struct Scrape {
    int64_t t_ns;
    uint64_t requests;
    double busy_ns;
    int64_t in_flight;
    int64_t slots;
    bool ready;  // in the gateway (its per-backend counter exists) at this scrape
  };

  // The window's oldest usable point and the latest: nullptr pair when fewer than two scrapes.
  // ready_only: only scrapes taken while the pod was ready count — the gateway's per-backend
  // counter behind requests_per_second exists once the replica joined the gateway, so a replica
  // that became ready has no rate until the second scrape after it (as ScrapeCollector).
  std::pair<const Scrape*, const Scrape*> window(const std::string& pod, bool ready_only) const {
    auto it = scrapes_.find(pod);
    if (it == scrapes_.end() || it->second.empty()) return {nullptr, nullptr};
    const auto& s = it->second;
    const Scrape* last = &s.back();
    if (ready_only && !last->ready) return {nullptr, nullptr};
    const Scrape* first = nullptr;
    // Tolerate scrape-time jitter of 1 ms when matching the window's start.
    int64_t from = last->t_ns - options_.metrics_window.count() + 1'000'000;
    for (const auto& x : s) {
      if (ready_only && !x.ready) continue;
      if (x.t_ns <= from || first == nullptr) first = &x;
      if (x.t_ns > from) break;
    }
    if (first == last || first == nullptr) return {nullptr, last};
    return {first, last};
  }

  MetricsSnapshot collect(const std::vector<PodInfo>& pods, TimePoint now) {
    MetricsSnapshot out;
    const std::string& predictive_metric = pipeline_.policy().predictive.metric;
    for (const auto& spec : pipeline_.collectSpec().metrics) {
      bool resource = spec.type == MetricSourceType::kResource ||
                      spec.type == MetricSourceType::kContainerResource;
      if (!resource && spec.type != MetricSourceType::kPods) {
        out.failed[spec.name] = "not simulated: only Resource cpu and Pods metrics are";
        continue;
      }
      if (resource && spec.name == "memory") {
        auto& mem = out.pod_metrics[spec.name];
        for (const auto& pod : pods) {
          if (pod.deleted || scrapes_.count(pod.name) == 0) continue;
          PodSample s;
          s.timestamp = now;
          s.window = options_.scrape_interval;
          s.value_milli = std::llround(options_.memory_usage *
                                       static_cast<double>(options_.memory_request_milli));
          mem[pod.name] = s;
        }
        if (mem.empty()) {
          out.pod_metrics.erase(spec.name);
          out.failed[spec.name] = "no pod scraped yet";
        }
        continue;
      }
      if (resource && spec.name != "cpu") {
        out.failed[spec.name] = "not simulated: resource " + spec.name;
        continue;
      }
      const bool rps = !resource && (spec.name == predictive_metric ||
                                     spec.name == "requests_per_second");
      const bool gauge = !resource && !rps && isGaugeName(spec.name);
      if (!resource && !rps && !gauge) {
        out.failed[spec.name] = "not simulated: Pods metric " + spec.name +
                                " (use requests_per_second or an inflight/queue gauge)";
        continue;
      }
      auto& samples = out.pod_metrics[spec.name];
      for (const auto& pod : pods) {
        if (pod.deleted) continue;
        auto [first, last] = window(pod.name, rps);
        if (last == nullptr) continue;
        PodSample s;
        s.timestamp = TimePoint(Duration(last->t_ns));
        if (gauge) {
          s.value_milli = last->in_flight * 1000;
          s.window = options_.scrape_interval;
          samples[pod.name] = s;
          continue;
        }
        if (first == nullptr) continue;  // a rate needs two scrapes
        double dt = static_cast<double>(last->t_ns - first->t_ns);
        if (dt <= 0) continue;
        s.window = Duration(last->t_ns - first->t_ns);
        if (resource) {
          double busy = (last->busy_ns - first->busy_ns) / (dt * static_cast<double>(last->slots));
          s.value_milli = std::llround(std::min(1.0, busy) *
                                       static_cast<double>(options_.cpu_request_milli));
        } else {
          double r = static_cast<double>(last->requests - first->requests) / (dt * 1e-9);
          s.value_milli = std::llround(r * 1000);
        }
        samples[pod.name] = s;
      }
      if (samples.empty()) {
        out.pod_metrics.erase(spec.name);
        out.failed[spec.name] = "no pod has a sample yet (a rate needs two scrapes)";
      }
    }
    return out;
  }

  SimScalerOptions options_;
  ScalingPipeline pipeline_;
  std::map<std::string, std::deque<Scrape>> scrapes_;
  double last_forecast_ = -1;
  bool panicking_ = false;
  int64_t last_scrape_ns_ = -1;
};

}  // namespace

StatusOr<std::unique_ptr<SimAutoscaler>> makeSimAutoscaler(const SimConfig& config,
                                                           const RateCurve& curve) {
  if (!config.autoscaler.enabled) return std::unique_ptr<SimAutoscaler>();
  const config::Node& n = config.autoscaler.node;
  if (n.has("target")) {
    return n["target"].error("not used by surge sim (the simulator is the target)");
  }
  ASSIGN_OR_RETURN(AutoscalePolicy policy,
                   parseAutoscalePolicy(n, {"scrape_interval", "metrics_window", "cpu_request",
                                            "memory_request", "memory_usage", "history_days",
                                            "refit_every", "sync_phase"}));
  if (policy.has_scaled_object && !policy.has_hpa) {
    return n["scaled_object"].error(
        "KEDA triggers are not simulated: give an `hpa` (Resource cpu or Pods metrics)");
  }
  SimScalerOptions o;
  ASSIGN_OR_RETURN(o.scrape_interval, n.getDurationInRange("scrape_interval", Duration(0),
                                                           std::chrono::seconds(1),
                                                           std::chrono::hours(1)));
  ASSIGN_OR_RETURN(o.metrics_window, n.getDurationInRange("metrics_window", Duration(0),
                                                          std::chrono::seconds(1),
                                                          std::chrono::hours(1)));
  if (n.has("cpu_request") && !n["cpu_request"].isNull()) {
    ASSIGN_OR_RETURN(std::string q, n["cpu_request"].asString());
    auto milli = parseQuantityMilli(q);
    if (!milli.isOk()) return n["cpu_request"].error(milli.status().message());
    if (*milli <= 0) return n["cpu_request"].error("must be greater than 0");
    o.cpu_request_milli = *milli;
  }
  if (n.has("memory_request") && !n["memory_request"].isNull()) {
    ASSIGN_OR_RETURN(std::string q, n["memory_request"].asString());
    auto milli = parseQuantityMilli(q);
    if (!milli.isOk()) return n["memory_request"].error(milli.status().message());
    if (*milli <= 0) return n["memory_request"].error("must be greater than 0");
    o.memory_request_milli = *milli;
  }
  ASSIGN_OR_RETURN(o.memory_usage, n.getDoubleInRange("memory_usage", 0.5, 0, 10));
  ASSIGN_OR_RETURN(o.history_days, n.getIntInRange("history_days", 7, 0, 60));
  ASSIGN_OR_RETURN(o.refit_every, n.getDurationInRange("refit_every", o.refit_every,
                                                       std::chrono::seconds(15),
                                                       std::chrono::hours(24)));
  if (n.has("sync_phase") && !n["sync_phase"].isNull()) {
    ASSIGN_OR_RETURN(Duration phase, n.getDurationInRange("sync_phase", Duration(0), Duration(0),
                                                          std::chrono::hours(1)));
    if (phase > policy.sync_period) {
      return n["sync_phase"].error("must not exceed sync_period (the first sync comes within "
                                   "one period of the start)");
    }
    o.sync_phase = phase;
  }
  return std::unique_ptr<SimAutoscaler>(new HpaScaler(std::move(policy), o, config, curve));
}

StatusOr<std::unique_ptr<Scaler>> makeScaler(const SimConfig& config, const RateCurve& curve) {
  ASSIGN_OR_RETURN(std::unique_ptr<SimAutoscaler> scaler, makeSimAutoscaler(config, curve));
  return std::unique_ptr<Scaler>(std::move(scaler));
}

}  // namespace surge::sim
