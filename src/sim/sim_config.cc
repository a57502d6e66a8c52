#include "sim/sim_config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "config/suggest.h"

namespace surge::sim {
namespace {

using config::Node;

double secondsOf(Duration d) { return toSeconds(d); }

StatusOr<double> getSeconds(const Node& n, std::string_view key, double def) {
  ASSIGN_OR_RETURN(Duration d, n.getDuration(key, fromSeconds(def)));
  return secondsOf(d);
}

Status requirePositive(const Node& n, std::string_view key, double value) {
  if (!(value > 0)) return n[key].error("must be greater than 0");
  return Status::ok();
}

StatusOr<RateComponent> parseComponent(const Node& item, const std::string& base_dir,
                                       std::optional<int64_t>* trace_start) {
  using K = RateComponent::Kind;
  static const std::vector<std::string_view> kKinds = {"constant", "step", "ramp",
                                                       "diurnal",  "spike", "trace"};
  if (!item.isMap() || item.size() != 1) {
    return item.error(
        "expected a map with one key: constant, step, ramp, diurnal, spike or trace");
  }
  auto [kind, body] = item.entries().front();
  RateComponent c;
  constexpr double kMaxRps = 1e8;
  if (kind == "constant") {
    c.kind = K::kConstant;
    if (body.isMap()) {
      RETURN_IF_ERROR(body.checkKeys({"rps"}));
      RETURN_IF_ERROR(body.require("rps"));
      ASSIGN_OR_RETURN(c.rps, body.getDoubleInRange("rps", 0, 0, kMaxRps));
    } else {
      ASSIGN_OR_RETURN(c.rps, body.asDoubleInRange(0, kMaxRps));
    }
  } else if (kind == "step") {
    c.kind = K::kStep;
    RETURN_IF_ERROR(body.checkKeys({"at", "rps"}));
    RETURN_IF_ERROR(body.require("at"));
    RETURN_IF_ERROR(body.require("rps"));
    ASSIGN_OR_RETURN(c.at, getSeconds(body, "at", 0));
    ASSIGN_OR_RETURN(c.rps, body.getDoubleInRange("rps", 0, -kMaxRps, kMaxRps));
  } else if (kind == "ramp") {
    c.kind = K::kRamp;
    RETURN_IF_ERROR(body.checkKeys({"start", "end", "from", "to"}));
    for (auto k : {"start", "end", "to"}) RETURN_IF_ERROR(body.require(k));
    ASSIGN_OR_RETURN(c.start, getSeconds(body, "start", 0));
    ASSIGN_OR_RETURN(c.end, getSeconds(body, "end", 0));
    ASSIGN_OR_RETURN(c.from, body.getDoubleInRange("from", 0, -kMaxRps, kMaxRps));
    ASSIGN_OR_RETURN(c.to, body.getDoubleInRange("to", 0, -kMaxRps, kMaxRps));
    if (c.end <= c.start) return body["end"].error("must be after start");
  } else if (kind == "diurnal") {
    c.kind = K::kDiurnal;
    RETURN_IF_ERROR(body.checkKeys({"trough", "peak", "peak_at", "period"}));
    RETURN_IF_ERROR(body.require("peak"));
    ASSIGN_OR_RETURN(c.peak, body.getDoubleInRange("peak", 0, 0, kMaxRps));
    ASSIGN_OR_RETURN(c.trough, body.getDoubleInRange("trough", 0, 0, kMaxRps));
    ASSIGN_OR_RETURN(c.peak_at, getSeconds(body, "peak_at", 14 * 3600.0));
    ASSIGN_OR_RETURN(c.period, getSeconds(body, "period", 86400));
    RETURN_IF_ERROR(requirePositive(body, "period", c.period));
    if (c.trough > c.peak) return body["trough"].error("must not exceed peak");
  } else if (kind == "spike") {
    c.kind = K::kSpike;
    RETURN_IF_ERROR(body.checkKeys({"at", "duration", "rps", "rise"}));
    for (auto k : {"at", "duration", "rps"}) RETURN_IF_ERROR(body.require(k));
    ASSIGN_OR_RETURN(c.at, getSeconds(body, "at", 0));
    ASSIGN_OR_RETURN(c.duration, getSeconds(body, "duration", 0));
    ASSIGN_OR_RETURN(c.rps, body.getDoubleInRange("rps", 0, 0, kMaxRps));
    ASSIGN_OR_RETURN(c.rise, getSeconds(body, "rise", 60));
    RETURN_IF_ERROR(requirePositive(body, "rise", c.rise));
  } else if (kind == "trace") {
    c.kind = K::kTrace;
    RETURN_IF_ERROR(body.checkKeys({"file", "scale"}));
    RETURN_IF_ERROR(body.require("file"));
    ASSIGN_OR_RETURN(std::string file, body["file"].asString());
    ASSIGN_OR_RETURN(c.scale, body.getDoubleInRange("scale", 1, 0, 1e6));
    std::filesystem::path p(file);
    if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
    int64_t first = 0;
    auto trace = loadTraceCsv(p.string(), &first);
    if (!trace.isOk()) return body["file"].error(trace.status().message());
    c.trace = std::move(trace).value();
    c.first_unix = first;
    if (!trace_start->has_value()) *trace_start = first;
  } else {
    return item.error("unknown traffic component '" + kind +
                      "' (expected one of: constant, step, ramp, diurnal, spike, trace" +
                      config::didYouMean(kind, kKinds) + ")");
  }
  return c;
}

Status parseTraffic(const Node& n, const std::string& base_dir, TrafficConfig* t) {
  RETURN_IF_ERROR(n.checkKeys({"arrivals", "resolution", "rps", "components", "scale",
                               "weekend_factor", "noise", "noise_interval"}));
  ASSIGN_OR_RETURN(std::string arrivals,
                   n.getOneOf("arrivals", "poisson", {"poisson", "deterministic"}));
  t->poisson = arrivals == "poisson";
  ASSIGN_OR_RETURN(t->resolution, n.getDurationInRange("resolution", std::chrono::seconds(1),
                                                       std::chrono::milliseconds(1),
                                                       std::chrono::hours(1)));
  ASSIGN_OR_RETURN(t->scale, n.getDoubleInRange("scale", 1, 0, 1e6));
  ASSIGN_OR_RETURN(t->weekend_factor, n.getDoubleInRange("weekend_factor", 1, 0, 100));
  ASSIGN_OR_RETURN(t->noise, n.getDoubleInRange("noise", 0, 0, 10));
  ASSIGN_OR_RETURN(t->noise_interval,
                   n.getDurationInRange("noise_interval", std::chrono::minutes(1),
                                        std::chrono::seconds(1), std::chrono::hours(24)));
  if (n.has("rps") && !n["rps"].isNull()) {
    RateComponent c;
    ASSIGN_OR_RETURN(c.rps, n["rps"].asDoubleInRange(0, 1e8));
    t->components.push_back(c);
  }
  Node comps = n["components"];
  if (!comps.isNull()) {
    if (!comps.isSequence()) return comps.error("expected a list of traffic components");
    for (const Node& item : comps.items()) {
      ASSIGN_OR_RETURN(RateComponent c, parseComponent(item, base_dir, &t->trace_start_unix));
      t->components.push_back(std::move(c));
    }
  }
  if (t->components.empty()) {
    return n.error("no traffic: give `rps: N` or a `components:` list");
  }
  return Status::ok();
}

// distribution: percentiles — p0 and p100 required, any pN between (N a number, 0 ≤ N ≤ 100);
// values must not fall as N rises.
Status parsePercentiles(const Node& n, ServiceModel* s) {
  std::vector<std::pair<double, double>> q;
  for (const auto& [key, value] : n.entries()) {
    if (key == "distribution") continue;
    double pct = -1;
    if (key.size() >= 2 && key[0] == 'p') {
      const std::string digits = key.substr(1);
      char* end = nullptr;
      pct = std::strtod(digits.c_str(), &end);
      if (end != digits.c_str() + digits.size() || digits.find_first_not_of("0123456789.") !=
                                                        std::string::npos) {
        pct = -1;
      }
    }
    if (!(pct >= 0 && pct <= 100)) {
      return value.error("unknown key '" + key +
                         "' for distribution percentiles (expected p0, p100 and percentiles "
                         "between, e.g. p50, p99, p99.9)");
    }
    ASSIGN_OR_RETURN(double seconds, getSeconds(n, key, 0));
    if (!(seconds > 0)) return value.error("must be greater than 0");
    q.emplace_back(pct / 100, seconds);
  }
  std::sort(q.begin(), q.end());
  if (q.empty() || q.front().first != 0 || q.back().first != 1) {
    return n.error("distribution percentiles needs p0 (the minimum) and p100 (the maximum)");
  }
  for (size_t i = 1; i < q.size(); ++i) {
    if (q[i].first == q[i - 1].first) return n.error("a percentile is given twice");
    if (q[i].second < q[i - 1].second) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "p%g is below p%g (percentiles must not fall)",
                    q[i].first * 100, q[i - 1].first * 100);
      return n.error(buf);
    }
  }
  s->quantiles = std::move(q);
  return Status::ok();
}

Status parseService(const Node& n, ServiceModel* s) {
  ASSIGN_OR_RETURN(std::string dist, n.getOneOf("distribution", "exponential",
                                                {"exponential", "deterministic", "lognormal",
                                                 "batch_curve", "percentiles"}));
  using K = ServiceModel::Kind;
  if (dist == "percentiles") {
    s->kind = K::kPercentiles;
    return parsePercentiles(n, s);
  }
  RETURN_IF_ERROR(n.checkKeys({"distribution", "mean", "cv", "base", "per_item", "jitter"}));
  s->kind = dist == "exponential"     ? K::kExponential
            : dist == "deterministic" ? K::kDeterministic
            : dist == "lognormal"     ? K::kLognormal
                                      : K::kBatchCurve;
  if (s->kind == K::kBatchCurve) {
    for (auto k : {"mean", "cv"}) {
      if (n.has(k)) return n[k].error("not used by distribution batch_curve (use base, per_item)");
    }
    RETURN_IF_ERROR(n.require("base"));
    ASSIGN_OR_RETURN(s->base, getSeconds(n, "base", 0));
    ASSIGN_OR_RETURN(s->per_item, getSeconds(n, "per_item", 0));
    ASSIGN_OR_RETURN(s->jitter, getSeconds(n, "jitter", 0));
    if (s->base + s->per_item <= 0) return n["base"].error("base + per_item must be > 0");
  } else {
    for (auto k : {"base", "per_item", "jitter"}) {
      if (n.has(k)) {
        return n[k].error(std::string("only for distribution batch_curve (") + dist +
                          " takes mean" + (s->kind == K::kLognormal ? " and cv)" : ")"));
      }
    }
    RETURN_IF_ERROR(n.require("mean"));
    ASSIGN_OR_RETURN(s->mean, getSeconds(n, "mean", 0));
    RETURN_IF_ERROR(requirePositive(n, "mean", s->mean));
    if (s->kind == K::kLognormal) {
      ASSIGN_OR_RETURN(s->cv, n.getDoubleInRange("cv", 0.5, 1e-6, 100));
    } else if (n.has("cv")) {
      return n["cv"].error("only for distribution lognormal");
    }
  }
  return Status::ok();
}

Status parseBatching(const Node& n, serving::BatchPolicyOptions* b) {
  RETURN_IF_ERROR(n.checkKeys({"max_batch_size", "preferred_batch_sizes", "max_queue_delay"}));
  RETURN_IF_ERROR(n.require("max_batch_size"));
  ASSIGN_OR_RETURN(b->max_batch_size, n.getIntInRange("max_batch_size", 1, 1, 1 << 20));
  b->dynamic = true;
  Node pref = n["preferred_batch_sizes"];
  if (!pref.isNull()) {
    if (!pref.isSequence()) return pref.error("expected a list of batch sizes");
    for (const Node& p : pref.items()) {
      ASSIGN_OR_RETURN(int64_t v, p.asIntInRange(1, b->max_batch_size));
      if (!b->preferred_batch_sizes.empty() && v <= b->preferred_batch_sizes.back()) {
        return p.error("preferred batch sizes must be strictly ascending");
      }
      b->preferred_batch_sizes.push_back(v);
    }
  }
  ASSIGN_OR_RETURN(b->max_queue_delay,
                   n.getDurationInRange("max_queue_delay", Duration(0), Duration(0),
                                        std::chrono::seconds(60)));
  return Status::ok();
}

Status parseGateway(const Node& n, GatewayConfig* g) {
  RETURN_IF_ERROR(n.checkKeys({"mode", "algorithm", "hash_method", "maglev_table_size",
                               "ring_vnodes_per_weight", "hash_balance_factor", "ewma_tau",
                               "default_rtt", "full_scan_max_hosts", "slow_start",
                               "slow_start_min_weight_percent"}));
  auto mode_or = n.getOneOf("mode", "balancer", {"balancer", "shared_queue"});
  if (!mode_or.isOk()) return mode_or.status();
  const bool shared = mode_or.value() == "shared_queue";
  g->mode = shared ? GatewayConfig::Mode::kSharedQueue : GatewayConfig::Mode::kBalancer;
  lb::BalancerOptions& o = g->balancer;
  o.algorithm = "least_connections";
  ASSIGN_OR_RETURN(o.algorithm, n.getString("algorithm", o.algorithm));
  const auto& names = lb::balancerNames();
  if (std::find(names.begin(), names.end(), o.algorithm) == names.end()) {
    std::vector<std::string_view> views(names.begin(), names.end());
    std::string list;
    for (const auto& s : names) list += (list.empty() ? "" : ", ") + s;
    return n["algorithm"].error("unknown value '" + o.algorithm + "' (expected one of: " + list +
                                config::didYouMean(o.algorithm, views) + ")");
  }
  if (shared && n.has("algorithm")) {
    return n["algorithm"].error("not used with mode shared_queue (one FCFS queue, no balancer)");
  }
  ASSIGN_OR_RETURN(o.hash_method, n.getOneOf("hash_method", o.hash_method, {"maglev", "ring"}));
  ASSIGN_OR_RETURN(int64_t table,
                   n.getIntInRange("maglev_table_size", static_cast<int64_t>(o.maglev_table_size),
                                   3, 1 << 26));
  o.maglev_table_size = static_cast<uint64_t>(table);
  ASSIGN_OR_RETURN(int64_t vnodes, n.getIntInRange("ring_vnodes_per_weight",
                                                   o.ring_vnodes_per_weight, 1, 100000));
  o.ring_vnodes_per_weight = static_cast<uint32_t>(vnodes);
  ASSIGN_OR_RETURN(o.hash_balance_factor,
                   n.getDoubleInRange("hash_balance_factor", o.hash_balance_factor, 0, 100));
  ASSIGN_OR_RETURN(o.ewma_tau, n.getDuration("ewma_tau", o.ewma_tau));
  ASSIGN_OR_RETURN(o.default_rtt, n.getDuration("default_rtt", o.default_rtt));
  ASSIGN_OR_RETURN(int64_t scan, n.getIntInRange("full_scan_max_hosts",
                                                 static_cast<int64_t>(o.full_scan_max_hosts), 1,
                                                 1 << 20));
  o.full_scan_max_hosts = static_cast<size_t>(scan);
  ASSIGN_OR_RETURN(g->slow_start, n.getDurationInRange("slow_start", Duration(0), Duration(0),
                                                       std::chrono::hours(1)));
  ASSIGN_OR_RETURN(g->slow_start_min_weight_percent,
                   n.getDoubleInRange("slow_start_min_weight_percent", 10, 0, 100));
  if (shared && n.has("slow_start")) {
    return n["slow_start"].error("not used with mode shared_queue (no per-replica weights)");
  }
  Status v = lb::validateBalancerOptions(o);
  if (!v.isOk()) return n.error(v.message());
  return Status::ok();
}

}  // namespace

StatusOr<SimConfig> parseSimConfig(const Node& root) {
  SimConfig c;
  if (!root.isMap()) return root.error("expected a map (the simulation config)");
  RETURN_IF_ERROR(root.checkKeys({"name", "seed", "duration", "start", "traffic", "service",
                                  "batching", "replicas", "gateway", "slo", "price_per_hour",
                                  "output", "autoscaler"}));
  c.source = root.sourceName();
  std::filesystem::path src(c.source);
  std::string base_dir = src.has_parent_path() ? src.parent_path().string() : "";
  ASSIGN_OR_RETURN(c.name, root.getString("name", src.stem().string()));
  ASSIGN_OR_RETURN(int64_t seed, root.getIntInRange("seed", 1, 0, INT64_MAX));
  c.seed = static_cast<uint64_t>(seed);
  ASSIGN_OR_RETURN(c.duration, root.getDurationInRange("duration", std::chrono::hours(1),
                                                       std::chrono::seconds(1),
                                                       std::chrono::hours(24 * 366)));
  if (!root["traffic"].isNull()) {
    RETURN_IF_ERROR(parseTraffic(root["traffic"], base_dir, &c.traffic));
    c.has_traffic = true;
  }
  if (root.has("start") && !root["start"].isNull()) {
    ASSIGN_OR_RETURN(std::string start, root["start"].asString());
    auto t = parseTimestamp(start);
    if (!t.isOk()) return root["start"].error(t.status().message());
    c.start_unix = *t;
  } else if (c.traffic.trace_start_unix) {
    c.start_unix = *c.traffic.trace_start_unix;
  }

  RETURN_IF_ERROR(root.require("service"));
  RETURN_IF_ERROR(parseService(root["service"], &c.replica.service));
  if (root.has("batching") && !root["batching"].isNull()) {
    RETURN_IF_ERROR(parseBatching(root["batching"], &c.replica.batching));
  }

  Node r = root["replicas"];
  RETURN_IF_ERROR(r.checkKeys({"count", "max", "slots", "queue_limit", "cold_start"}));
  ASSIGN_OR_RETURN(c.replicas, r.getIntInRange("count", 1, 0, 100000));
  ASSIGN_OR_RETURN(c.max_replicas, r.getIntInRange("max", std::max<int64_t>(1000, c.replicas),
                                                   1, 100000));
  if (c.replicas > c.max_replicas) return r["count"].error("must not exceed replicas.max");
  ASSIGN_OR_RETURN(c.replica.slots, r.getIntInRange("slots", 1, 1, 4096));
  ASSIGN_OR_RETURN(c.replica.queue_limit, r.getIntInRange("queue_limit", 0, 0, 1 << 30));
  if (r.has("cold_start") && r["cold_start"].isSequence()) {
    const Node list = r["cold_start"];
    if (list.size() == 0) return list.error("an empty list (give one duration or several)");
    if (list.size() > 100000) return list.error("more than 100000 cold starts");
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(Duration d, list.at(i).asDuration());
      if (d < Duration(0) || d > std::chrono::hours(1)) {
        return list.at(i).error("a cold start must be between 0s and 1h");
      }
      c.replica.cold_starts.push_back(d);
    }
    Duration sum{0};
    for (Duration d : c.replica.cold_starts) sum += d;
    c.replica.cold_start = sum / static_cast<int64_t>(c.replica.cold_starts.size());
  } else {
    ASSIGN_OR_RETURN(c.replica.cold_start, r.getDurationInRange("cold_start", Duration(0),
                                                                Duration(0),
                                                                std::chrono::hours(1)));
  }

  Node g = root["gateway"];
  c.gateway.balancer.algorithm = "least_connections";
  RETURN_IF_ERROR(parseGateway(g, &c.gateway));
  if (c.gateway.mode == GatewayConfig::Mode::kSharedQueue && c.replica.batching.dynamic) {
    return root["batching"].error(
        "dynamic batching needs per-replica queues (gateway.mode: balancer), not shared_queue");
  }

  Node slo = root["slo"];
  RETURN_IF_ERROR(slo.checkKeys({"percentile", "target"}));
  ASSIGN_OR_RETURN(c.slo.percentile, slo.getDoubleInRange("percentile", 0.99, 0.5, 0.99999));
  ASSIGN_OR_RETURN(c.slo.target, slo.getDurationInRange("target", c.slo.target,
                                                        std::chrono::microseconds(1),
                                                        std::chrono::hours(1)));
  ASSIGN_OR_RETURN(c.price_per_hour, root.getDoubleInRange("price_per_hour", 0.10, 0, 1e6));
  Node out = root["output"];
  RETURN_IF_ERROR(out.checkKeys({"interval"}));
  ASSIGN_OR_RETURN(c.interval, out.getDurationInRange("interval", std::chrono::minutes(1),
                                                      std::chrono::seconds(1),
                                                      std::chrono::hours(24)));
  Node as = root["autoscaler"];
  if (!as.isNull()) {
    if (!as.isMap()) return as.error("expected a map (the autoscaler config)");
    c.autoscaler.enabled = true;
    c.autoscaler.node = as;
  }
  if (c.replicas == 0 && !c.autoscaler.enabled) {
    return r["count"].error("must be at least 1 without an autoscaler");
  }
  return c;
}

StatusOr<SimConfig> loadSimConfig(const std::string& path) {
  ASSIGN_OR_RETURN(Node root, Node::loadFile(path));
  return parseSimConfig(root);
}

RateCurve makeRateCurve(const SimConfig& c) {
  return RateCurve(c.traffic.components, c.traffic.scale, c.traffic.weekend_factor, c.start_unix,
                   c.traffic.noise, toSeconds(c.traffic.noise_interval),
                   c.seed * 0x9e3779b97f4a7c15ULL + 17);
}

}  // namespace surge::sim
