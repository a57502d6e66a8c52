// Explain JSON in/out (see explain_json.h). Input goes through config::Node so every error names
// line, column and field; output is built with nlohmann::ordered_json to keep the page's order.
#include "autoscale/hpa/explain_json.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <limits>
#include <string>

#include "autoscale/hpa/hpa.h"

namespace surge::autoscale {
namespace {

using Json = nlohmann::ordered_json;

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

StatusOr<TimePoint> timeAt(const config::Node& n) {
  ASSIGN_OR_RETURN(std::string text, n.asString());
  auto t = parseRfc3339(text);
  if (!t.isOk()) return n.error(t.status().message());
  return t.value();
}

StatusOr<int64_t> quantityAt(const config::Node& n) {
  ASSIGN_OR_RETURN(std::string text, n.asString());
  auto q = parseQuantityMilli(text);
  if (!q.isOk()) return n.error(q.status().message());
  return q.value();
}

StatusOr<int32_t> int32At(const config::Node& n, int64_t lo, int64_t hi) {
  ASSIGN_OR_RETURN(int64_t v, n.asIntInRange(lo, hi));
  return static_cast<int32_t>(v);
}

Status requireMap(const config::Node& n) {
  if (!n.isMap()) return n.error("expected a map");
  return Status::ok();
}
Status requireSequence(const config::Node& n) {
  if (!n.isSequence()) return n.error("expected a list");
  return Status::ok();
}

StatusOr<PodInfo> parsePod(const config::Node& n) {
  RETURN_IF_ERROR(requireMap(n));
  RETURN_IF_ERROR(n.checkKeys({"name", "phase", "deleted", "startTime", "ready", "requests"}));
  PodInfo p;
  RETURN_IF_ERROR(n.require("name"));
  ASSIGN_OR_RETURN(p.name, n["name"].asString());
  ASSIGN_OR_RETURN(p.phase, n.getOneOf("phase", "Running",
                                       {"Pending", "Running", "Succeeded", "Failed", "Unknown"}));
  ASSIGN_OR_RETURN(p.deleted, n.getBool("deleted", false));
  if (!n["startTime"].isNull()) {
    ASSIGN_OR_RETURN(p.start_time, timeAt(n["startTime"]));
  }
  config::Node ready = n["ready"];
  if (!ready.isNull()) {
    RETURN_IF_ERROR(requireMap(ready));
    RETURN_IF_ERROR(ready.checkKeys({"status", "lastTransitionTime"}));
    RETURN_IF_ERROR(ready.require("status"));
    RETURN_IF_ERROR(ready.require("lastTransitionTime"));
    ReadyCondition c;
    ASSIGN_OR_RETURN(std::string status, ready["status"].asOneOf({"True", "False"}));
    c.status = status == "True";
    ASSIGN_OR_RETURN(c.last_transition, timeAt(ready["lastTransitionTime"]));
    p.ready = c;
  }
  config::Node req = n["requests"];
  if (!req.isNull()) {
    RETURN_IF_ERROR(requireMap(req));
    for (const auto& [resource, q] : req.entries()) {
      ASSIGN_OR_RETURN(p.requests_milli[resource], quantityAt(q));
    }
  }
  return p;
}

StatusOr<PodSample> parseSample(const config::Node& n, TimePoint now) {
  PodSample s;
  s.timestamp = now;
  if (n.isScalar()) {  // shorthand: just the value
    ASSIGN_OR_RETURN(s.value_milli, quantityAt(n));
    return s;
  }
  RETURN_IF_ERROR(requireMap(n));
  RETURN_IF_ERROR(n.checkKeys({"value", "timestamp", "window"}));
  RETURN_IF_ERROR(n.require("value"));
  ASSIGN_OR_RETURN(s.value_milli, quantityAt(n["value"]));
  if (!n["timestamp"].isNull()) {
    ASSIGN_OR_RETURN(s.timestamp, timeAt(n["timestamp"]));
  }
  ASSIGN_OR_RETURN(s.window, n.getDuration("window", std::chrono::seconds(30)));
  return s;
}

StatusOr<std::vector<ScaleEvent>> parseEvents(const config::Node& n) {
  std::vector<ScaleEvent> out;
  if (n.isNull()) return out;
  RETURN_IF_ERROR(requireSequence(n));
  for (const config::Node& e : n.items()) {
    RETURN_IF_ERROR(requireMap(e));
    RETURN_IF_ERROR(e.checkKeys({"replicaChange", "timestamp", "outdated"}));
    ScaleEvent ev;
    RETURN_IF_ERROR(e.require("replicaChange"));
    ASSIGN_OR_RETURN(ev.replica_change, int32At(e["replicaChange"], 0, 2147483647));
    RETURN_IF_ERROR(e.require("timestamp"));
    ASSIGN_OR_RETURN(ev.timestamp, timeAt(e["timestamp"]));
    ASSIGN_OR_RETURN(ev.outdated, e.getBool("outdated", false));
    out.push_back(ev);
  }
  return out;
}

StatusOr<HpaHistory> parseHistory(const config::Node& n) {
  RETURN_IF_ERROR(requireMap(n));
  RETURN_IF_ERROR(n.checkKeys({"recommendations", "scaleUpEvents", "scaleDownEvents"}));
  HpaHistory h;
  config::Node recs = n["recommendations"];
  if (!recs.isNull()) {
    RETURN_IF_ERROR(requireSequence(recs));
    for (const config::Node& r : recs.items()) {
      RETURN_IF_ERROR(requireMap(r));
      RETURN_IF_ERROR(r.checkKeys({"replicas", "timestamp"}));
      Recommendation rec;
      RETURN_IF_ERROR(r.require("replicas"));
      ASSIGN_OR_RETURN(rec.replicas, int32At(r["replicas"], 0, 2147483647));
      RETURN_IF_ERROR(r.require("timestamp"));
      ASSIGN_OR_RETURN(rec.timestamp, timeAt(r["timestamp"]));
      h.recommendations.push_back(rec);
    }
  }
  ASSIGN_OR_RETURN(h.scale_up_events, parseEvents(n["scaleUpEvents"]));
  ASSIGN_OR_RETURN(h.scale_down_events, parseEvents(n["scaleDownEvents"]));
  return h;
}

StatusOr<ControllerOptions> parseController(const config::Node& n) {
  ControllerOptions o;
  if (n.isNull()) return o;
  RETURN_IF_ERROR(requireMap(n));
  RETURN_IF_ERROR(n.checkKeys({"tolerance", "cpuInitializationPeriod", "initialReadinessDelay",
                               "downscaleStabilizationWindow", "scaleUpLimitFactor",
                               "scaleUpLimitMinimum"}));
  ASSIGN_OR_RETURN(o.tolerance, n.getDoubleInRange("tolerance", o.tolerance, 0.0, 1e9));
  ASSIGN_OR_RETURN(o.cpu_initialization_period,
                   n.getDuration("cpuInitializationPeriod", o.cpu_initialization_period));
  ASSIGN_OR_RETURN(o.initial_readiness_delay,
                   n.getDuration("initialReadinessDelay", o.initial_readiness_delay));
  ASSIGN_OR_RETURN(o.downscale_stabilization_window,
                   n.getDuration("downscaleStabilizationWindow", o.downscale_stabilization_window));
  ASSIGN_OR_RETURN(o.scale_up_limit_factor,
                   n.getDoubleInRange("scaleUpLimitFactor", o.scale_up_limit_factor, 0.0, 1e6));
  ASSIGN_OR_RETURN(int64_t minimum, n.getIntInRange("scaleUpLimitMinimum",
                                                    o.scale_up_limit_minimum, 0, 2147483647));
  o.scale_up_limit_minimum = static_cast<int32_t>(minimum);
  return o;
}

Json timeJson(TimePoint t) { return formatRfc3339(t); }

Json eventsJson(const std::vector<ScaleEvent>& events) {
  Json a = Json::array();
  for (const ScaleEvent& e : events) {
    Json j;
    j["replicaChange"] = e.replica_change;
    j["timestamp"] = timeJson(e.timestamp);
    j["outdated"] = e.outdated;
    a.push_back(std::move(j));
  }
  return a;
}

Json namesJson(const std::vector<std::string>& names) {
  Json a = Json::array();
  for (const std::string& n : names) a.push_back(n);
  return a;
}

}  // namespace

StatusOr<TimePoint> parseRfc3339(std::string_view s) {
  auto bad = [&] {
    return invalidArgument("malformed time '" + std::string(s) +
                           "' (expected RFC 3339, e.g. 2024-05-01T12:00:00Z)");
  };
  auto digits = [&](size_t pos, size_t n, int64_t* out) {
    if (pos + n > s.size()) return false;
    int64_t v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int64_t year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &month) ||
      s[7] != '-' || !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(11, 2, &hour) || s[13] != ':' || !digits(14, 2, &minute) || s[16] != ':' ||
      !digits(17, 2, &second)) {
    return bad();
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return bad();
  size_t i = 19;
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      nanos += (s[i] - '0') * scale;  // digits past nanoseconds truncate
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int64_t oh, om;
    if (!digits(i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(i + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  const int64_t days = daysFromCivil(year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  // Nanoseconds since 1970 in an int64 reach from 1677-09-21 to 2262-04-11 (found by fuzzing:
  // year 4143 overflowed).
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (secs > kMaxSeconds || secs < -kMaxSeconds) {
    return invalidArgument("time '" + std::string(s) +
                           "' is out of range (1677-09-22 to 2262-04-10)");
  }
  return TimePoint(Duration(secs * 1'000'000'000 + nanos));
}

std::string formatRfc3339(TimePoint t) {
  const int64_t ns_total = t.time_since_epoch().count();
  int64_t secs = ns_total / 1'000'000'000;
  int64_t nanos = ns_total % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  std::string out = buf;
  if (nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + "Z";
}

StatusOr<SyncInput> parseExplainInput(const config::Node& root) {
  if (!root.isMap()) return root.error("expected a JSON object");
  RETURN_IF_ERROR(root.checkKeys({"now", "hpa", "scale", "pods", "podMetrics", "objectMetrics",
                                  "externalMetrics", "failedMetrics", "history", "controller"}));
  SyncInput in;
  if (!root["now"].isNull()) {
    ASSIGN_OR_RETURN(in.now, timeAt(root["now"]));
  } else {
    in.now = TimePoint(std::chrono::duration_cast<Duration>(
        std::chrono::system_clock::now().time_since_epoch()));
  }
  RETURN_IF_ERROR(root.require("hpa"));
  config::Node hpa = root["hpa"];
  RETURN_IF_ERROR(requireMap(hpa));
  RETURN_IF_ERROR(hpa.require("spec"));
  ASSIGN_OR_RETURN(in.spec, parseHpaSpec(hpa));

  RETURN_IF_ERROR(root.require("scale"));
  config::Node scale = root["scale"];
  RETURN_IF_ERROR(requireMap(scale));
  RETURN_IF_ERROR(scale.checkKeys({"specReplicas", "statusReplicas"}));
  RETURN_IF_ERROR(scale.require("specReplicas"));
  ASSIGN_OR_RETURN(in.scale.spec_replicas, int32At(scale["specReplicas"], 0, 2147483647));
  in.scale.status_replicas = in.scale.spec_replicas;
  if (!scale["statusReplicas"].isNull()) {
    ASSIGN_OR_RETURN(in.scale.status_replicas, int32At(scale["statusReplicas"], 0, 2147483647));
  }

  config::Node pods = root["pods"];
  if (!pods.isNull()) {
    RETURN_IF_ERROR(requireSequence(pods));
    for (const config::Node& p : pods.items()) {
      ASSIGN_OR_RETURN(PodInfo pod, parsePod(p));
      in.pods.push_back(std::move(pod));
    }
  }
  config::Node pm = root["podMetrics"];
  if (!pm.isNull()) {
    RETURN_IF_ERROR(requireMap(pm));
    for (const auto& [metric, per_pod] : pm.entries()) {
      RETURN_IF_ERROR(requireMap(per_pod));
      auto& samples = in.metrics.pod_metrics[metric];
      for (const auto& [pod, sample] : per_pod.entries()) {
        ASSIGN_OR_RETURN(samples[pod], parseSample(sample, in.now));
      }
    }
  }
  config::Node om = root["objectMetrics"];
  if (!om.isNull()) {
    RETURN_IF_ERROR(requireMap(om));
    for (const auto& [metric, q] : om.entries()) {
      ASSIGN_OR_RETURN(in.metrics.object_metrics[metric], quantityAt(q));
    }
  }
  config::Node em = root["externalMetrics"];
  if (!em.isNull()) {
    RETURN_IF_ERROR(requireMap(em));
    for (const auto& [metric, values] : em.entries()) {
      auto& list = in.metrics.external_metrics[metric];
      if (values.isScalar()) {
        ASSIGN_OR_RETURN(int64_t v, quantityAt(values));
        list.push_back(v);
        continue;
      }
      RETURN_IF_ERROR(requireSequence(values));
      for (const config::Node& q : values.items()) {
        ASSIGN_OR_RETURN(int64_t v, quantityAt(q));
        list.push_back(v);
      }
    }
  }
  config::Node fm = root["failedMetrics"];
  if (!fm.isNull()) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, fm.asStringList());
    for (const std::string& name : names) {
      in.metrics.failed[name] = "the metrics API returned an error (failedMetrics)";
    }
  }
  if (!root["history"].isNull()) {
    ASSIGN_OR_RETURN(in.history, parseHistory(root["history"]));
  }
  ASSIGN_OR_RETURN(in.controller, parseController(root["controller"]));
  return in;
}

StatusOr<SyncInput> parseExplainInput(std::string_view text, std::string source_name) {
  ASSIGN_OR_RETURN(config::Node root, config::Node::loadString(text, std::move(source_name)));
  return parseExplainInput(root);
}

std::string explainOutputJson(const SyncResult& r) {
  Json out;
  out["desiredReplicas"] = r.desired_replicas;
  out["scaled"] = r.scaled;
  Json metrics = Json::array();
  for (const MetricResult& m : r.metrics) {
    Json j;
    j["type"] = metricSourceTypeName(m.type);
    j["name"] = m.name;
    j["proposal"] = m.proposal ? Json(*m.proposal) : Json(nullptr);
    j["error"] = m.error ? Json(*m.error) : Json(nullptr);
    Json current = Json::object();
    if (m.current.average_utilization) {
      current["averageUtilization"] = *m.current.average_utilization;
    }
    if (m.current.average_value_milli) {
      current["averageValue"] = formatQuantityMilli(*m.current.average_value_milli);
    }
    if (m.current.value_milli) current["value"] = formatQuantityMilli(*m.current.value_milli);
    j["current"] = std::move(current);
    j["readyPodCount"] = m.ready_pod_count;
    j["unreadyPods"] = namesJson(m.unready_pods);
    j["missingPods"] = namesJson(m.missing_pods);
    j["ignoredPods"] = namesJson(m.ignored_pods);
    metrics.push_back(std::move(j));
  }
  out["metrics"] = std::move(metrics);
  out["proposal"] = r.proposal;
  out["stabilizedReplicas"] = r.stabilized_replicas;
  out["condition"] = Json{{"reason", r.condition.reason}, {"message", r.condition.message}};
  Json recs = Json::array();
  for (const Recommendation& rec : r.history.recommendations) {
    Json j;
    j["replicas"] = rec.replicas;
    j["timestamp"] = timeJson(rec.timestamp);
    recs.push_back(std::move(j));
  }
  Json history;
  history["recommendations"] = std::move(recs);
  history["scaleUpEvents"] = eventsJson(r.history.scale_up_events);
  history["scaleDownEvents"] = eventsJson(r.history.scale_down_events);
  out["history"] = std::move(history);
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusOr<std::string> explain(std::string_view input_json, std::string source_name) {
  ASSIGN_OR_RETURN(SyncInput in, parseExplainInput(input_json, std::move(source_name)));
  return explainOutputJson(runSync(in));
}

}  // namespace surge::autoscale
