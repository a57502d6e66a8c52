#include "support/k8s_stub_api.h"

#include <map>
#include <mutex>
#include <thread>

#include "net/asio.h"
#include "net/http_server.h"

namespace surge::testing {

using nlohmann::json;

namespace {

json statusBody(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"}, {"apiVersion", "v1"},  {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason},
              {"code", code}};
}

const char* reasonFor(int code) {
  switch (code) {
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 422: return "Invalid";
    default: return code >= 500 ? "InternalError" : "BadRequest";
  }
}

net::HttpResponse statusResponse(int code, const std::string& message) {
  return net::HttpResponse::json(code, statusBody(code, reasonFor(code), message).dump());
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t p = s.find(sep, start);
    if (p == std::string::npos) p = s.size();
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
  return out;
}

std::string urlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// Equality-based selectors: "a=b,c==d,e!=f,g" (set-based forms are not needed by surge).
bool matches(const std::string& selector, const json& object) {
  if (selector.empty()) return true;
  json labels = object.contains("metadata") && object["metadata"].contains("labels")
                    ? object["metadata"]["labels"]
                    : json::object();
  for (const std::string& term : split(selector, ',')) {
    if (term.empty()) continue;
    size_t ne = term.find("!=");
    size_t eq = term.find('=');
    if (ne != std::string::npos) {
      std::string k = term.substr(0, ne), v = term.substr(ne + 2);
      if (labels.contains(k) && labels[k] == v) return false;
    } else if (eq != std::string::npos) {
      std::string k = term.substr(0, eq);
      std::string v = term.substr(term[eq + 1] == '=' ? eq + 2 : eq + 1);
      if (!labels.contains(k) || labels[k] != v) return false;
    } else if (!labels.contains(term)) {
      return false;
    }
  }
  return true;
}

struct Deployment {
  int spec_replicas = 0;
  int status_replicas = 0;
  std::string selector;
  int64_t rv = 0;
};

struct Event {
  int64_t rv;
  std::string ns;
  std::string type;
  json object;
};

struct Watch {
  std::shared_ptr<net::Responder> responder;
  std::string ns;
  std::string selector;
};

}  // namespace

class K8sStubApi::Impl {
 public:
  Impl() {
    server_ = std::make_unique<net::HttpServer>(
        io_, [this](const net::HttpRequest& r, std::shared_ptr<net::Responder> resp) {
          handle(r, std::move(resp));
        });
    (void)server_->listen("127.0.0.1:0");
    thread_ = std::thread([this] {
      auto guard = net::asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~Impl() {
    closeWatches();
    server_->stop();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  void handle(const net::HttpRequest& r, std::shared_ptr<net::Responder> resp) {
    std::unique_lock<std::mutex> lock(mu_);
    StubRequest rec{r.method, r.target, r.path, r.body, "", ""};
    if (auto a = r.header("Authorization")) rec.authorization = std::string(*a);
    if (auto c = r.header("Content-Type")) rec.content_type = std::string(*c);
    requests_.push_back(rec);
    if (!token_.empty() && rec.authorization != "Bearer " + token_) {
      resp->send(statusResponse(401, "Unauthorized"));
      return;
    }
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (r.target.find(it->substring) == std::string::npos) continue;
      int code = it->code;
      if (--it->count <= 0) failures_.erase(it);
      std::string msg = code == 403 ? "forbidden: User \"system:serviceaccount:surge:stub\" cannot "
                                      "access the resource (injected by the stub)"
                        : code == 404 ? "the server could not find the requested resource "
                                        "(injected by the stub)"
                                      : "injected error (stub)";
      resp->send(statusResponse(code, msg));
      return;
    }
    std::vector<std::string> seg = split(r.path, '/');  // "", "apis", ...
    std::map<std::string, std::string> q;
    for (const std::string& kv : split(r.query, '&')) {
      if (kv.empty()) continue;
      size_t eq = kv.find('=');
      q[kv.substr(0, eq)] = eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1));
    }
    // /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale
    if (seg.size() == 9 && seg[1] == "apis" && seg[2] == "apps" && seg[4] == "namespaces" &&
        seg[6] == "deployments" && seg[8] == "scale") {
      resp->send(scale(r, seg[5], seg[7]));
      return;
    }
    // /api/v1/namespaces/{ns}/pods
    if (seg.size() == 6 && seg[1] == "api" && seg[3] == "namespaces" && seg[5] == "pods" &&
        r.method == "GET") {
      resp->send(list("PodList", "v1", pods_[seg[4]], q["labelSelector"]));
      return;
    }
    // /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods
    if (seg.size() == 7 && seg[2] == "metrics.k8s.io" && seg[4] == "namespaces" &&
        seg[6] == "pods" && r.method == "GET") {
      resp->send(list("PodMetricsList", "metrics.k8s.io/v1beta1", metrics_[seg[5]],
                      q["labelSelector"]));
      return;
    }
    // /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices
    if (seg.size() == 7 && seg[2] == "discovery.k8s.io" && seg[4] == "namespaces" &&
        seg[6] == "endpointslices" && r.method == "GET") {
      const std::string& ns = seg[5];
      if (q.count("watch") && (q["watch"] == "1" || q["watch"] == "true")) {
        watch(ns, q, resp);
        return;
      }
      std::vector<json> items;
      for (const auto& [name, s] : slices_[ns]) items.push_back(s);
      resp->send(list("EndpointSliceList", "discovery.k8s.io/v1", items, q["labelSelector"]));
      return;
    }
    resp->send(statusResponse(404, "the stub does not serve " + r.method + " " + r.path));
  }

  net::HttpResponse list(const std::string& kind, const std::string& api_version,
                         const std::vector<json>& objects, const std::string& selector) {
    json items = json::array();
    for (const json& o : objects) {
      if (matches(selector, o)) items.push_back(o);
    }
    json out{{"kind", kind},
             {"apiVersion", api_version},
             {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
             {"items", items}};
    return net::HttpResponse::json(200, out.dump());
  }

  json scaleJson(const std::string& ns, const std::string& name, const Deployment& d) {
    return json{{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata",
                 {{"name", name}, {"namespace", ns}, {"resourceVersion", std::to_string(d.rv)}}},
                {"spec", {{"replicas", d.spec_replicas}}},
                {"status", {{"replicas", d.status_replicas}, {"selector", d.selector}}}};
  }

  net::HttpResponse scale(const net::HttpRequest& r, const std::string& ns,
                          const std::string& name) {
    auto it = deployments_.find(ns + "/" + name);
    if (it == deployments_.end()) {
      return statusResponse(404, "deployments.apps \"" + name + "\" not found");
    }
    Deployment& d = it->second;
    if (r.method == "GET") return net::HttpResponse::json(200, scaleJson(ns, name, d).dump());
    if (r.method != "PUT" && r.method != "PATCH") {
      return statusResponse(405, "method not allowed");
    }
    json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return statusResponse(400, "body is not JSON");
    if (conflicts_ > 0) {
      --conflicts_;
      d.rv = ++rv_;  // another writer got there first
    }
    std::string sent_rv;
    if (body.contains("metadata") && body["metadata"].contains("resourceVersion") &&
        body["metadata"]["resourceVersion"].is_string()) {
      sent_rv = body["metadata"]["resourceVersion"];
    }
    if (r.method == "PUT" && sent_rv.empty()) {
      return statusResponse(422, "metadata.resourceVersion: Invalid value: 0x0: must be specified "
                                 "for an update");
    }
    if (!sent_rv.empty() && sent_rv != std::to_string(d.rv)) {
      return statusResponse(409, "Operation cannot be fulfilled on deployments.apps \"" + name +
                                     "\": the object has been modified; please apply your "
                                     "changes to the latest version and try again");
    }
    if (!body.contains("spec") || !body["spec"].contains("replicas") ||
        !body["spec"]["replicas"].is_number_integer()) {
      return statusResponse(422, "spec.replicas: Required value");
    }
    int replicas = body["spec"]["replicas"];
    if (replicas < 0) return statusResponse(422, "spec.replicas: must be >= 0");
    d.spec_replicas = replicas;
    d.rv = ++rv_;
    return net::HttpResponse::json(200, scaleJson(ns, name, d).dump());
  }

  void watch(const std::string& ns, std::map<std::string, std::string>& q,
             std::shared_ptr<net::Responder> resp) {
    int64_t from = rv_;
    if (!q["resourceVersion"].empty() && q["resourceVersion"] != "0") {
      from = std::stoll(q["resourceVersion"]);
    }
    if (from < compacted_rv_) {
      std::string msg = "too old resource version: " + std::to_string(from) + " (" +
                        std::to_string(compacted_rv_) + ")";
      if (gone_as_http_) {
        resp->send(statusResponse(410, msg));
        return;
      }
      resp->startStream(200, {{"Content-Type", "application/json"}});
      resp->writeChunk(json{{"type", "ERROR"}, {"object", statusBody(410, "Expired", msg)}}.dump() +
                       "\n");
      resp->endStream();
      return;
    }
    resp->startStream(200, {{"Content-Type", "application/json"}});
    Watch w{resp, ns, q["labelSelector"]};
    for (const Event& e : history_) {
      if (e.rv > from && e.ns == ns && matches(w.selector, e.object)) send(w, e);
    }
    if (!q["timeoutSeconds"].empty()) {
      int secs = std::stoi(q["timeoutSeconds"]);
      resp->after(std::chrono::seconds(secs), [resp] { resp->endStream(); });
    }
    watches_.push_back(std::move(w));
  }

  static void send(const Watch& w, const Event& e) {
    w.responder->writeChunk(json{{"type", e.type}, {"object", e.object}}.dump() + "\n");
  }

  void emit(const std::string& ns, const std::string& type, json object) {
    Event e{rv_, ns, type, std::move(object)};
    std::erase_if(watches_, [](const Watch& w) { return w.responder->closed(); });
    for (const Watch& w : watches_) {
      if (w.ns == ns && matches(w.selector, e.object)) send(w, e);
    }
    history_.push_back(std::move(e));
  }

  void closeWatches() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Watch& w : watches_) w.responder->endStream();
    watches_.clear();
  }

  struct Failure {
    int code;
    int count;
    std::string substring;
  };

  net::asio::io_context io_{1};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string token_;
  std::vector<Failure> failures_;
  std::map<std::string, Deployment> deployments_;
  int conflicts_ = 0;
  std::map<std::string, std::vector<json>> pods_, metrics_;
  std::map<std::string, std::map<std::string, json>> slices_;  // ns → name → slice
  std::vector<Event> history_;
  std::vector<Watch> watches_;
  int64_t rv_ = 1000;
  int64_t compacted_rv_ = 0;
  bool gone_as_http_ = false;
  std::vector<StubRequest> requests_;
};

K8sStubApi::K8sStubApi() : impl_(std::make_shared<Impl>()) {}
K8sStubApi::~K8sStubApi() = default;

uint16_t K8sStubApi::port() const { return impl_->server_->port(); }
std::string K8sStubApi::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void K8sStubApi::requireToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->token_ = token;
}

void K8sStubApi::failNext(int http_code, int count, const std::string& path_substring) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->failures_.push_back({http_code, count, path_substring});
}

void K8sStubApi::setDeployment(const std::string& ns, const std::string& name, int spec_replicas,
                               int status_replicas, const std::string& selector) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Deployment& d = impl_->deployments_[ns + "/" + name];
  d.spec_replicas = spec_replicas;
  d.status_replicas = status_replicas;
  d.selector = selector;
  d.rv = ++impl_->rv_;
}

std::optional<int> K8sStubApi::specReplicas(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto it = impl_->deployments_.find(ns + "/" + name);
  if (it == impl_->deployments_.end()) return std::nullopt;
  return it->second.spec_replicas;
}

void K8sStubApi::conflictNextWrites(int n) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->conflicts_ = n;
}

void K8sStubApi::setPods(const std::string& ns, std::vector<json> pods) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->pods_[ns] = std::move(pods);
}

void K8sStubApi::setPodMetrics(const std::string& ns, std::vector<json> pod_metrics) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->metrics_[ns] = std::move(pod_metrics);
}

void K8sStubApi::putEndpointSlice(const std::string& ns, json slice) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::string name = slice["metadata"]["name"];
  slice["metadata"]["namespace"] = ns;
  slice["metadata"]["resourceVersion"] = std::to_string(++impl_->rv_);
  bool existed = impl_->slices_[ns].count(name) > 0;
  impl_->slices_[ns][name] = slice;
  impl_->emit(ns, existed ? "MODIFIED" : "ADDED", slice);
}

void K8sStubApi::deleteEndpointSlice(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto it = impl_->slices_[ns].find(name);
  if (it == impl_->slices_[ns].end()) return;
  json slice = it->second;
  impl_->slices_[ns].erase(it);
  slice["metadata"]["resourceVersion"] = std::to_string(++impl_->rv_);
  impl_->emit(ns, "DELETED", slice);
}

void K8sStubApi::compact() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->history_.clear();
  impl_->compacted_rv_ = impl_->rv_;
}

void K8sStubApi::setGoneAsHttp(bool as_http) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->gone_as_http_ = as_http;
}

void K8sStubApi::closeWatches() { impl_->closeWatches(); }

int K8sStubApi::openWatches() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  int n = 0;
  for (const auto& w : impl_->watches_) n += w.responder->closed() ? 0 : 1;
  return n;
}

std::string K8sStubApi::resourceVersion() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return std::to_string(impl_->rv_);
}

std::vector<StubRequest> K8sStubApi::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->requests_;
}

int K8sStubApi::count(const std::string& method, const std::string& substring) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  int n = 0;
  for (const auto& r : impl_->requests_) {
    if (r.method == method && r.target.find(substring) != std::string::npos) ++n;
  }
  return n;
}

json stubPod(const std::string& name, const json& labels, const std::string& ip, bool ready,
             const std::string& cpu_request, const std::string& memory_request) {
  json requests = json::object();
  if (!cpu_request.empty()) requests["cpu"] = cpu_request;
  if (!memory_request.empty()) requests["memory"] = memory_request;
  return json{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"labels", labels}}},
      {"spec",
       {{"containers", json::array({{{"name", "server"}, {"resources", {{"requests", requests}}}}})}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", ip},
        {"startTime", "2026-11-28T10:00:00Z"},
        {"conditions", json::array({{{"type", "Ready"},
                                     {"status", ready ? "True" : "False"},
                                     {"lastTransitionTime", "2026-11-28T10:00:30Z"}}})}}}};
}

json stubEndpointSlice(const std::string& name, const std::string& service, int port,
                       json endpoints) {
  return json{{"apiVersion", "discovery.k8s.io/v1"},
              {"kind", "EndpointSlice"},
              {"metadata",
               {{"name", name}, {"labels", {{"kubernetes.io/service-name", service}}}}},
              {"addressType", "IPv4"},
              {"ports", json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}})},
              {"endpoints", std::move(endpoints)}};
}

json stubEndpoint(const std::string& address, bool ready, bool terminating,
                  const std::string& zone) {
  json e{{"addresses", json::array({address})},
         {"conditions", {{"ready", ready}, {"serving", ready || terminating},
                         {"terminating", terminating}}}};
  if (!zone.empty()) e["zone"] = zone;
  return e;
}

}  // namespace surge::testing
