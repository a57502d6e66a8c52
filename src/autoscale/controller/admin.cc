#include "autoscale/controller/admin.h"

#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <boost/asio/executor_work_guard.hpp>

#include "autoscale/hpa/hpa.h"
#include "net/asio.h"  // first: <utility> before Asio
#include "net/http_server.h"
#include "web/web.h"

namespace surge::autoscale {
namespace {

using nlohmann::json;

const char* targetTypeName(MetricTargetType t) {
  switch (t) {
    case MetricTargetType::kUtilization:
      return "Utilization";
    case MetricTargetType::kValue:
      return "Value";
    case MetricTargetType::kAverageValue:
      return "AverageValue";
  }
  return "";
}

json metricJson(const MetricSpec* spec, const MetricResult& r) {
  json m;
  m["type"] = metricSourceTypeName(r.type);
  m["name"] = r.name;
  m["proposal"] = r.proposal ? json(*r.proposal) : json(nullptr);
  m["error"] = r.error ? json(*r.error) : json(nullptr);
  json current = json::object();
  if (r.current.average_utilization) current["averageUtilization"] = *r.current.average_utilization;
  if (r.current.average_value_milli) {
    current["averageValue"] = formatQuantityMilli(*r.current.average_value_milli);
  }
  if (r.current.value_milli) current["value"] = formatQuantityMilli(*r.current.value_milli);
  m["current"] = current;
  if (spec) {
    json target;
    target["type"] = targetTypeName(spec->target.type);
    switch (spec->target.type) {
      case MetricTargetType::kUtilization:
        target["averageUtilization"] = spec->target.average_utilization;
        break;
      case MetricTargetType::kValue:
        target["value"] = formatQuantityMilli(spec->target.value_milli);
        break;
      case MetricTargetType::kAverageValue:
        target["averageValue"] = formatQuantityMilli(spec->target.average_value_milli);
        break;
    }
    m["target"] = target;
    m["description"] = formatMetricValue(*spec, r);
  }
  m["readyPodCount"] = r.ready_pod_count;
  m["unreadyPods"] = r.unready_pods;
  m["missingPods"] = r.missing_pods;
  m["ignoredPods"] = r.ignored_pods;
  return m;
}

json eventJson(const AutoscaleEvent& e) {
  return json{{"sequence", e.sequence},     {"time", formatUnixMs(e.unix_ms)},
              {"type", e.type},             {"reason", e.reason},
              {"message", e.message},       {"from", e.from},
              {"to", e.to},                 {"metrics", e.metrics},
              {"count", e.count}};
}

template <typename T>
json optJson(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

namespace {

json statusObject(const AutoscalerStatus& s) {
  json j;
  j["name"] = s.name;
  j["dryRun"] = s.dry_run;
  j["currentReplicas"] = s.current_replicas;
  j["statusReplicas"] = s.status_replicas;
  j["desiredReplicas"] = s.decided ? json(s.desired_replicas) : json(nullptr);  // null: none yet
  j["minReplicas"] = s.min_replicas;
  j["maxReplicas"] = s.max_replicas;
  j["lastSyncTime"] = s.last_sync_unix_ms ? json(formatUnixMs(s.last_sync_unix_ms)) : json(nullptr);
  j["lastScaleTime"] =
      s.last_scale_unix_ms ? json(formatUnixMs(s.last_scale_unix_ms)) : json(nullptr);
  j["syncs"] = s.syncs;
  j["syncErrors"] = s.sync_errors;
  j["scaleUps"] = s.scale_ups;
  j["scaleDowns"] = s.scale_downs;
  json metrics = json::array();
  for (size_t i = 0; i < s.metrics.size(); ++i) {
    metrics.push_back(metricJson(i < s.metric_specs.size() ? &s.metric_specs[i] : nullptr,
                                 s.metrics[i]));
  }
  j["currentMetrics"] = metrics;
  json conditions = json::array();
  for (const auto& c : s.conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", c.status ? "True" : "False"},
                          {"reason", c.reason},
                          {"message", c.message}});
  }
  j["conditions"] = conditions;
  if (s.last_decision) {
    const Decision& d = *s.last_decision;
    j["lastDecision"] = {{"time", formatUnixMs(d.unix_ms)},
                         {"currentReplicas", d.current},
                         {"reactiveReplicas", d.reactive},
                         {"predictiveReplicas", optJson(d.predictive)},
                         {"forecastRps", optJson(d.forecast_rps)},
                         {"observedRps", optJson(d.observed_rps)},
                         {"panicking", d.panicking},
                         {"desiredReplicas", d.desired},
                         {"scaled", d.scaled},
                         {"held", d.held},
                         {"reason", d.reason}};
  } else {
    j["lastDecision"] = nullptr;
  }
  j["forecaster"] = s.forecaster;
  return j;
}

json optNumber(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

}  // namespace

std::string statusToJson(const AutoscalerStatus& s) {
  return statusObject(s).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string dashboardToJson(const DashboardData& d) {
  json j;
  j["status"] = statusObject(d.status);
  json events = json::array();
  for (const auto& e : d.events) events.push_back(eventJson(e));
  j["events"] = std::move(events);
  if (d.replicas) {
    json list = json::array();
    for (const ReplicaView& r : *d.replicas) {
      list.push_back({{"name", r.name},
                      {"state", r.state},
                      {"zone", r.zone},
                      {"address", r.address},
                      {"rps", optNumber(r.rps)},
                      {"p50Ms", optNumber(r.p50_ms)},
                      {"p99Ms", optNumber(r.p99_ms)},
                      {"queue", optNumber(r.queue)},
                      {"batchSize", optNumber(r.batch_size)},
                      {"error", r.error.empty() ? json(nullptr) : json(r.error)}});
    }
    j["replicas"] = std::move(list);
  } else {
    j["replicas"] = nullptr;
  }
  j["replicaNote"] = d.replica_note;
  json history = json::array();
  for (const DashboardSample& h : d.history) {
    history.push_back({{"t", h.unix_ms},
                       {"current", h.current},
                       {"desired", h.desired},
                       {"observedRps", optNumber(h.observed_rps)},
                       {"forecastRps", optNumber(h.forecast_rps)}});
  }
  j["history"] = std::move(history);
  j["predictive"] = d.predictive;
  j["horizonSeconds"] = d.horizon_seconds;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string eventsToJson(const std::vector<AutoscaleEvent>& events) {
  json arr = json::array();
  for (const auto& e : events) arr.push_back(eventJson(e));
  return json{{"events", arr}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void registerAutoscalerMetrics(const Controller& controller, metrics::Registry& registry) {
  const Controller* c = &controller;
  auto gauge = [&](const std::string& name, const std::string& help,
                   std::function<double(const AutoscalerStatus&)> fn) {
    registry.gaugeCallback(name, help, {}, [c, fn](std::vector<metrics::Sample>& out) {
      out.push_back({{}, fn(c->status())});
    });
  };
  auto counter = [&](const std::string& name, const std::string& help,
                     std::function<double(const AutoscalerStatus&)> fn) {
    registry.counterCallback(name, help, {}, [c, fn](std::vector<metrics::Sample>& out) {
      out.push_back({{}, fn(c->status())});
    });
  };
  gauge("surge_autoscaler_desired_replicas", "Replicas the last sync decided on.",
        [](const AutoscalerStatus& s) { return s.desired_replicas; });
  gauge("surge_autoscaler_current_replicas", "The target's replicas at the last sync.",
        [](const AutoscalerStatus& s) { return s.current_replicas; });
  gauge("surge_autoscaler_min_replicas", "minReplicas of the HPA spec.",
        [](const AutoscalerStatus& s) { return s.min_replicas; });
  gauge("surge_autoscaler_max_replicas", "maxReplicas of the HPA spec.",
        [](const AutoscalerStatus& s) { return s.max_replicas; });
  gauge("surge_autoscaler_panic", "1 while panic mode holds the replicas.",
        [](const AutoscalerStatus& s) {
          return s.last_decision && s.last_decision->panicking ? 1 : 0;
        });
  gauge("surge_autoscaler_forecast_rps", "The predictive forecast at now + horizon (0: none).",
        [](const AutoscalerStatus& s) {
          return s.last_decision ? s.last_decision->forecast_rps.value_or(0) : 0;
        });
  counter("surge_autoscaler_syncs_total", "Syncs run.",
          [](const AutoscalerStatus& s) { return static_cast<double>(s.syncs); });
  counter("surge_autoscaler_sync_errors_total",
          "Syncs that could not read the scale, the pods or any metric, or write the scale.",
          [](const AutoscalerStatus& s) { return static_cast<double>(s.sync_errors); });
  registry.counterCallback("surge_autoscaler_scale_events_total", "Rescales, by direction.",
                           {"direction"}, [c](std::vector<metrics::Sample>& out) {
                             AutoscalerStatus s = c->status();
                             out.push_back({{"up"}, static_cast<double>(s.scale_ups)});
                             out.push_back({{"down"}, static_cast<double>(s.scale_downs)});
                           });
  registry.gaugeCallback(
      "surge_autoscaler_metric_proposal", "Replicas each metric proposed at the last sync.",
      {"metric"}, [c](std::vector<metrics::Sample>& out) {
        AutoscalerStatus s = c->status();
        for (const auto& m : s.metrics) {
          if (m.proposal) out.push_back({{m.name}, static_cast<double>(*m.proposal)});
        }
      });
}

class AdminServer::Impl {
 public:
  explicit Impl(const Controller& controller) : controller_(controller) {
    registerAutoscalerMetrics(controller_, registry_);
  }
  ~Impl() { stop(); }

  void setReplicaSource(ReplicaSource source, std::string note) {
    source_ = std::move(source);
    replica_note_ = std::move(note);
  }

  Status start(const std::string& listen, uint16_t* port) {
    server_ = std::make_unique<net::HttpServer>(
        io_, [this](const net::HttpRequest& r) {
          net::HttpResponse resp = handle(r);
          bool has = false;  // every answer: no content sniffing
          for (const auto& [k, v] : resp.headers) has = has || k == "X-Content-Type-Options";
          if (!has) resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
          return resp;
        });
    RETURN_IF_ERROR(server_->listen(listen));
    *port = server_->port();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    {
      std::lock_guard lock(sample_mu_);
      sampler_stop_ = false;
    }
    sampler_ = std::thread([this] { sampleLoop(); });
    return Status::ok();
  }

  void stop() {
    {
      std::lock_guard lock(sample_mu_);
      sampler_stop_ = true;
    }
    sample_cv_.notify_all();
    if (sampler_.joinable()) sampler_.join();
    if (server_) server_->stop();
    work_.reset();
    if (thread_.joinable()) {
      io_.stop();
      thread_.join();
    }
    server_.reset();
  }

 private:
  net::HttpResponse handle(const net::HttpRequest& r) {
    if (r.method != "GET" && r.method != "HEAD") {
      return net::HttpResponse::jsonError(405, "only GET is served here");
    }
    if (r.path == "/healthz") return net::HttpResponse::text(200, "ok\n");
    if (auto page = web::serve(web::Page::kAutoscaler, r.path)) return *page;
    if (r.path == "/api/dashboard") return web::json(200, dashboardToJson(dashboard()));
    if (r.path == "/status") {
      return net::HttpResponse::json(200, statusToJson(controller_.status()));
    }
    if (r.path == "/events") {
      std::vector<AutoscaleEvent> events = controller_.events().snapshot();
      if (auto since = r.queryParam("since")) {
        uint64_t seq = 0;
        auto [p, ec] = std::from_chars(since->data(), since->data() + since->size(), seq);
        if (ec != std::errc() || p != since->data() + since->size()) {
          return net::HttpResponse::jsonError(400, "since must be an event sequence number");
        }
        std::erase_if(events, [seq](const AutoscaleEvent& e) { return e.sequence <= seq; });
      }
      return net::HttpResponse::json(200, eventsToJson(events));
    }
    if (r.path == "/metrics") {
      return net::HttpResponse::text(200, registry_.render(), metrics::Registry::kContentType);
    }
    return net::HttpResponse::jsonError(
        404, "not found: try /, /api/dashboard, /status, /events, /metrics, /healthz");
  }

  // Without predictive scaling the pipeline records no request rate: the rate metric's average
  // times the ready pods it was averaged over (what the pipeline would record), when there is one.
  std::optional<double> observedRps(const AutoscalerStatus& s) const {
    const std::string& name = controller_.policy().predictive.metric;
    for (const auto& m : s.metrics) {
      if (m.name != name || m.type != MetricSourceType::kPods) continue;
      if (!m.current.average_value_milli || m.ready_pod_count <= 0) continue;
      return *m.current.average_value_milli / 1000.0 * m.ready_pod_count;
    }
    return std::nullopt;
  }

  static constexpr size_t kHistory = 720;           // syncs kept for the charts
  static constexpr size_t kDashboardEvents = 50;    // newest events in /api/dashboard
  // The replicas' numbers are scraped only while someone polled the dashboard this recently.
  static constexpr auto kWatched = std::chrono::seconds(30);

  DashboardData dashboard() {
    DashboardData d;
    d.status = controller_.status();
    d.events = controller_.events().snapshot();
    if (d.events.size() > kDashboardEvents) {
      d.events.erase(d.events.begin(), d.events.end() - kDashboardEvents);
    }
    d.predictive = controller_.policy().predictive.enabled;
    d.horizon_seconds = toSeconds(controller_.policy().predictive.horizon);
    bool wake = false;
    {
      std::lock_guard lock(sample_mu_);
      wake = !watched_ || std::chrono::steady_clock::now() - *watched_ > kWatched;
      watched_ = std::chrono::steady_clock::now();
      d.history.assign(history_.begin(), history_.end());
      if (source_) d.replicas = replicas_;
      d.replica_note = replica_note_;
      if (wake) wake_ = true;
    }
    if (wake) sample_cv_.notify_all();  // numbers from now on, without waiting a period
    return d;
  }

  // Once a second: a history point per new sync, and the replicas (with their numbers while the
  // dashboard is watched). Runs the replica source here, never on the HTTP thread.
  void sampleLoop() {
    uint64_t last_syncs = 0;
    std::unique_lock lock(sample_mu_);
    while (!sampler_stop_) {
      const bool numbers =
          watched_ && std::chrono::steady_clock::now() - *watched_ <= kWatched;
      lock.unlock();
      AutoscalerStatus s = controller_.status();
      std::optional<DashboardSample> point;
      if (s.syncs != last_syncs && s.last_sync_unix_ms != 0) {
        last_syncs = s.syncs;
        DashboardSample p;
        p.unix_ms = s.last_sync_unix_ms;
        p.current = s.current_replicas;
        p.desired = s.last_decision ? s.last_decision->desired : s.current_replicas;
        if (s.last_decision) {
          p.observed_rps = s.last_decision->observed_rps;
          p.forecast_rps = s.last_decision->forecast_rps;
        }
        if (!p.observed_rps) p.observed_rps = observedRps(s);
        point = p;
      }
      std::optional<std::vector<ReplicaView>> replicas;
      if (source_) replicas = source_(numbers);
      lock.lock();
      if (point) {
        history_.push_back(*point);
        if (history_.size() > kHistory) history_.pop_front();
      }
      if (replicas) replicas_ = std::move(*replicas);
      sample_cv_.wait_for(lock, std::chrono::seconds(1),
                          [this] { return sampler_stop_ || wake_; });
      wake_ = false;
    }
  }

  const Controller& controller_;
  ReplicaSource source_;
  std::string replica_note_;
  std::mutex sample_mu_;  // guards what the sampler shares with the HTTP thread
  std::condition_variable sample_cv_;
  bool sampler_stop_ = false;
  bool wake_ = false;  // the dashboard is watched again: sample now
  std::optional<std::chrono::steady_clock::time_point> watched_;  // last /api/dashboard
  std::deque<DashboardSample> history_;
  std::vector<ReplicaView> replicas_;
  std::thread sampler_;
  metrics::Registry registry_;
  net::asio::io_context io_;
  std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

AdminServer::AdminServer(const Controller& controller)
    : impl_(std::make_unique<Impl>(controller)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::setReplicaSource(ReplicaSource source, std::string note) {
  impl_->setReplicaSource(std::move(source), std::move(note));
}

Status AdminServer::start(const std::string& listen) { return impl_->start(listen, &port_); }

void AdminServer::stop() {
  if (impl_) impl_->stop();
}

}  // namespace surge::autoscale
