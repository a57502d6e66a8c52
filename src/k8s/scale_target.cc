#include "k8s/scale_target.h"

#include <chrono>

#include "autoscale/hpa/explain_json.h"
#include "autoscale/hpa/hpa.h"
#include "common/logging.h"
#include "config/node.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const json& at(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

int64_t systemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 wall time → the controller's clock.
std::function<StatusOr<TimePoint>(const std::string&)> timeMapper(
    Clock& clock, const std::function<int64_t()>& wall_now_ns) {
  int64_t wall = wall_now_ns ? wall_now_ns() : systemNowNs();
  TimePoint now = clock.now();
  return [wall, now](const std::string& text) -> StatusOr<TimePoint> {
    ASSIGN_OR_RETURN(TimePoint t, autoscale::parseRfc3339(text));
    return now - Duration(wall - t.time_since_epoch().count());
  };
}

StatusOr<int32_t> replicasOf(const json& j, const char* what) {
  if (j.is_null()) return 0;  // omitted when 0 (omitempty)
  if (!j.is_number_integer()) return internalError(std::string(what) + " is not an integer");
  int64_t v = j.get<int64_t>();
  if (v < 0 || v > INT32_MAX) return internalError(std::string(what) + " out of range");
  return static_cast<int32_t>(v);
}

// Quantity → milli-units, adding the "n" and "u" suffixes metrics-server uses for CPU usage
// ("123456789n") to parseQuantityMilli; rounds up like Quantity.MilliValue().
StatusOr<int64_t> quantityMilli(const std::string& text) {
  if (!text.empty() && (text.back() == 'n' || text.back() == 'u')) {
    int64_t per_milli = text.back() == 'n' ? 1000000 : 1000;
    std::string digits = text.substr(0, text.size() - 1);
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return invalidArgument("malformed quantity '" + text + "'");
    }
    int64_t v = std::stoll(digits);
    return (v + per_milli - 1) / per_milli;
  }
  return autoscale::parseQuantityMilli(text);
}

}  // namespace

KubernetesScaleTarget::KubernetesScaleTarget(std::shared_ptr<ApiClient> api,
                                             KubernetesTargetOptions options, Clock& clock)
    : api_(std::move(api)), options_(std::move(options)), clock_(clock) {}

std::string KubernetesScaleTarget::scalePath() const {
  return "/apis/apps/v1/namespaces/" + options_.ns + "/deployments/" + options_.deployment +
         "/scale";
}

std::string KubernetesScaleTarget::selector() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return selector_;
}

StatusOr<json> KubernetesScaleTarget::readScale() {
  auto scale = api_->get(scalePath());
  if (!scale.isOk()) {
    if (scale.status().code() == StatusCode::kNotFound) {
      return notFound("deployment " + options_.ns + "/" + options_.deployment +
                      " not found: " + scale.status().message());
    }
    return scale.status();
  }
  return scale;
}

StatusOr<autoscale::ScaleState> KubernetesScaleTarget::getScale() {
  ASSIGN_OR_RETURN(json scale, readScale());
  autoscale::ScaleState s;
  ASSIGN_OR_RETURN(s.spec_replicas, replicasOf(at(at(scale, "spec"), "replicas"), "spec.replicas"));
  ASSIGN_OR_RETURN(s.status_replicas,
                   replicasOf(at(at(scale, "status"), "replicas"), "status.replicas"));
  std::string sel = str(at(scale, "status"), "selector");
  if (sel.empty()) {
    return failedPrecondition("scale of " + options_.ns + "/" + options_.deployment +
                              " has no status.selector (cannot find its pods)");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  selector_ = sel;
  return s;
}

Status KubernetesScaleTarget::setScale(int32_t replicas) {
  if (replicas < 0) return invalidArgument("replicas must be >= 0");
  Status last;
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    ASSIGN_OR_RETURN(json scale, readScale());
    if (!at(at(scale, "metadata"), "resourceVersion").is_string()) {
      return internalError("scale of " + options_.deployment + " has no metadata.resourceVersion");
    }
    scale["spec"]["replicas"] = replicas;
    auto r = api_->request("PUT", scalePath(), scale.dump());
    if (!r.isOk()) return r.status();
    if (r->http_code >= 200 && r->http_code < 300) {
      SURGE_LOG(kInfo, "k8s", "scaled deployment " + options_.ns + "/" + options_.deployment +
                                  " to " + std::to_string(replicas));
      return Status::ok();
    }
    last = apiError("PUT", scalePath(), *r);
    if (r->http_code != 409) return last;
    SURGE_LOG(kDebug, "k8s", "scale conflict, retrying: " + last.message());
  }
  return failedPrecondition("gave up after " + std::to_string(options_.max_conflict_retries + 1) +
                            " conflicting writes: " + last.message());
}

StatusOr<autoscale::PodInfo> podInfoFromJson(
    const json& pod, int port, const std::function<StatusOr<TimePoint>(const std::string&)>& to_time) {
  autoscale::PodInfo p;
  const json& meta = at(pod, "metadata");
  const json& status = at(pod, "status");
  p.name = str(meta, "name");
  if (p.name.empty()) return internalError("a pod without metadata.name");
  std::string phase = str(status, "phase");
  p.phase = phase.empty() ? "Unknown" : phase;
  p.deleted = at(meta, "deletionTimestamp").is_string();
  std::string start = str(status, "startTime");
  if (!start.empty()) {
    auto t = to_time(start);
    if (!t.isOk()) return internalError("pod " + p.name + ": startTime: " + t.status().message());
    p.start_time = *t;
  }
  const json& conditions = at(status, "conditions");
  if (conditions.is_array()) {
    for (const json& c : conditions) {
      if (str(c, "type") != "Ready") continue;
      autoscale::ReadyCondition rc;
      rc.status = str(c, "status") == "True";
      std::string lt = str(c, "lastTransitionTime");
      if (!lt.empty()) {
        auto t = to_time(lt);
        if (!t.isOk()) {
          return internalError("pod " + p.name + ": lastTransitionTime: " + t.status().message());
        }
        rc.last_transition = *t;
      }
      p.ready = rc;
    }
  }
  // Requests are summed over containers; a resource is left out when any container has no
  // request for it (the HPA then reports "missing request", as kube-controller-manager does).
  const json& containers = at(at(pod, "spec"), "containers");
  if (containers.is_array() && !containers.empty()) {
    for (const char* res : {"cpu", "memory"}) {
      int64_t sum = 0;
      bool all = true;
      for (const json& c : containers) {
        const json& q = at(at(at(c, "resources"), "requests"), res);
        if (q.is_null()) {
          all = false;
          break;
        }
        auto m = q.is_string() ? quantityMilli(q.get<std::string>())
                               : autoscale::parseQuantityMilli(q.dump());
        if (!m.isOk()) return internalError("pod " + p.name + ": " + m.status().message());
        sum += *m;
      }
      if (all) p.requests_milli[res] = sum;
    }
  }
  std::string ip = str(status, "podIP");
  if (!ip.empty()) {
    p.address = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" +
                std::to_string(port);
  }
  p.zone = "";  // unknown: a pod carries no zone (its node does)
  return p;
}

StatusOr<std::vector<autoscale::PodInfo>> KubernetesScaleTarget::listPods() {
  std::string sel = selector();
  if (sel.empty()) {
    ASSIGN_OR_RETURN(autoscale::ScaleState ignored, getScale());
    (void)ignored;
    sel = selector();
  }
  std::string path = "/api/v1/namespaces/" + options_.ns + "/pods?labelSelector=" + urlEncode(sel);
  ASSIGN_OR_RETURN(json list, api_->get(path));
  const json& items = at(list, "items");
  if (!items.is_array()) return internalError("GET " + path + ": no items in the PodList");
  auto to_time = timeMapper(clock_, options_.wall_now_ns);
  std::vector<autoscale::PodInfo> pods;
  pods.reserve(items.size());
  for (const json& item : items) {
    ASSIGN_OR_RETURN(autoscale::PodInfo p, podInfoFromJson(item, options_.port, to_time));
    pods.push_back(std::move(p));
  }
  return pods;
}

// ---- metrics.k8s.io -----------------------------------------------------------------------------

KubernetesResourceMetrics::KubernetesResourceMetrics(
    std::shared_ptr<ApiClient> api, std::string ns, std::function<std::string()> selector,
    Clock& clock, std::shared_ptr<autoscale::MetricsCollector> others,
    std::function<int64_t()> wall_now_ns)
    : api_(std::move(api)),
      ns_(std::move(ns)),
      selector_(std::move(selector)),
      clock_(clock),
      others_(std::move(others)),
      wall_now_ns_(std::move(wall_now_ns)) {}

autoscale::MetricsSnapshot KubernetesResourceMetrics::collect(
    const autoscale::HpaSpec& spec, const std::vector<autoscale::PodInfo>& pods, TimePoint now) {
  autoscale::HpaSpec rest = spec;
  rest.metrics.clear();
  std::vector<std::string> resources;
  for (const auto& m : spec.metrics) {
    if (m.type == autoscale::MetricSourceType::kResource) {
      resources.push_back(m.name);
    } else {
      rest.metrics.push_back(m);
    }
  }
  autoscale::MetricsSnapshot snap;
  if (others_ && !rest.metrics.empty()) snap = others_->collect(rest, pods, now);
  if (resources.empty()) return snap;

  auto fail = [&](const std::string& why) {
    for (const auto& r : resources) snap.failed[r] = why;
    return snap;
  };
  std::string sel = selector_ ? selector_() : "";
  std::string path = "/apis/metrics.k8s.io/v1beta1/namespaces/" + ns_ + "/pods";
  if (!sel.empty()) path += "?labelSelector=" + urlEncode(sel);
  auto list = api_->get(path);
  if (!list.isOk()) return fail("metrics.k8s.io: " + list.status().message());
  const json& items = at(*list, "items");
  if (!items.is_array()) return fail("metrics.k8s.io: GET " + path + ": no items");
  auto to_time = timeMapper(clock_, wall_now_ns_);
  for (const json& item : items) {
    std::string name = str(at(item, "metadata"), "name");
    if (name.empty()) continue;
    autoscale::PodSample base;
    std::string ts = str(item, "timestamp");
    if (!ts.empty()) {
      auto t = to_time(ts);
      if (!t.isOk()) return fail("metrics.k8s.io: pod " + name + ": " + t.status().message());
      base.timestamp = *t;
    } else {
      base.timestamp = now;
    }
    std::string window = str(item, "window");
    if (!window.empty()) {
      auto n = config::Node::loadString("\"" + window + "\"", "window");
      auto d = n.isOk() ? n->asDuration() : StatusOr<Duration>(n.status());
      if (d.isOk()) base.window = *d;
    }
    const json& containers = at(item, "containers");
    if (!containers.is_array()) continue;
    for (const auto& r : resources) {
      int64_t sum = 0;
      bool all = !containers.empty();
      for (const json& c : containers) {
        const json& q = at(at(c, "usage"), r.c_str());
        if (!q.is_string()) {
          all = false;
          break;
        }
        auto m = quantityMilli(q.get<std::string>());
        if (!m.isOk()) return fail("metrics.k8s.io: pod " + name + ": " + m.status().message());
        sum += *m;
      }
      if (!all) continue;  // the pod counts as missing for this resource
      autoscale::PodSample s = base;
      s.value_milli = sum;
      snap.pod_metrics[r][name] = s;
    }
  }
  return snap;
}

// ---- config + factory ---------------------------------------------------------------------------

StatusOr<KubernetesTargetSpec> parseKubernetesTarget(const config::Node& t) {
  if (!t.isMap()) return t.error("target must be a map {kind: kubernetes, namespace, deployment}");
  RETURN_IF_ERROR(t.checkKeys({"kind", "namespace", "deployment", "port", "kubeconfig",
                               "in_cluster"}));
  KubernetesTargetSpec s;
  std::string kind;
  ASSIGN_OR_RETURN(kind, t.getString("kind", ""));
  if (kind != "kubernetes") return t["kind"].error("must be 'kubernetes'");
  RETURN_IF_ERROR(t.require("deployment"));
  ASSIGN_OR_RETURN(s.ns, t.getString("namespace", "default"));
  ASSIGN_OR_RETURN(s.deployment, t.getString("deployment", ""));
  auto dnsName = [](const std::string& v) {
    if (v.empty() || v.size() > 253) return false;
    for (char c : v) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    }
    return v.front() != '-' && v.back() != '-';
  };
  if (!dnsName(s.ns)) return t["namespace"].error("must be a DNS-1123 name, got '" + s.ns + "'");
  if (!dnsName(s.deployment)) {
    return t["deployment"].error("must be a DNS-1123 name, got '" + s.deployment + "'");
  }
  int64_t port;
  ASSIGN_OR_RETURN(port, t.getIntInRange("port", s.port, 1, 65535));
  s.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(s.kubeconfig, t.getString("kubeconfig", ""));
  if (t.has("in_cluster")) {
    config::Node ic = t["in_cluster"];
    auto b = ic.asBool();
    if (b.isOk()) {
      s.in_cluster = *b ? "true" : "false";
    } else {
      ASSIGN_OR_RETURN(s.in_cluster, ic.asOneOf({"auto", "true", "false"}));
    }
  }
  if (s.in_cluster == "true" && !s.kubeconfig.empty()) {
    return t["kubeconfig"].error("conflicts with in_cluster: true");
  }
  return s;
}

StatusOr<KubernetesTarget> makeKubernetesTarget(
    const KubernetesTargetSpec& spec, Clock& clock,
    std::shared_ptr<autoscale::MetricsCollector> other_metrics,
    const std::string& kubeconfig_override) {
  std::string kubeconfig = kubeconfig_override.empty() ? spec.kubeconfig : kubeconfig_override;
  std::string in_cluster = kubeconfig_override.empty() ? spec.in_cluster : "false";
  ASSIGN_OR_RETURN(ApiConfig api_config, resolveApiConfig(kubeconfig, in_cluster));
  KubernetesTarget out;
  out.api = std::make_shared<ApiClient>(std::move(api_config));
  KubernetesTargetOptions o;
  o.ns = spec.ns;
  o.deployment = spec.deployment;
  o.port = spec.port;
  out.target = std::make_unique<KubernetesScaleTarget>(out.api, o, clock);
  KubernetesScaleTarget* target = out.target.get();
  out.metrics = std::make_shared<KubernetesResourceMetrics>(
      out.api, spec.ns, [target] { return target->selector(); }, clock, std::move(other_metrics));
  return out;
}

}  // namespace surge::k8s
