#include "gateway/admin.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "gateway/gateway_config.h"
#include "web/web.h"

namespace surge::gateway {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

// Addresses and names come from URLs and bodies: invalid UTF-8 becomes U+FFFD, never an exception.
std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string healthState(const lb::Host& h, TimePoint now) {
  if (h.draining()) return "draining";
  if (!h.healthy()) return "unhealthy";
  if (h.ejected(now)) return "ejected";
  return "healthy";
}

json backendJson(const lb::Host& h, const Cluster& cluster, TimePoint now) {
  json j;
  j["address"] = h.address();
  j["weight"] = h.weight();
  j["zone"] = h.zone();
  j["health"] = healthState(h, now);
  j["healthy"] = h.healthy();
  j["draining"] = h.draining();
  j["in_flight"] = h.inFlight();
  if (h.latency().hasSamples()) {
    j["ewma_latency_ms"] = h.latency().estimateNanos(Duration(0)) / 1e6;
  } else {
    j["ewma_latency_ms"] = nullptr;
  }
  j["requests"] = h.requestsTotal();
  j["errors"] = h.failuresTotal();
  json ej;
  ej["ejected"] = h.ejected(now);
  ej["ejections"] = cluster.outlierConst().ejectionsTotal(h);
  if (h.ejected(now)) ej["remaining_s"] = toSeconds(h.ejectedUntil() - now);
  j["ejection"] = ej;
  return j;
}

// "/backends/127.0.0.1:8001" → "127.0.0.1:8001"; empty when the path is not of that form.
std::string backendFromPath(const std::string& path) {
  static const std::string kPrefix = "/backends/";
  if (path.size() <= kPrefix.size() || path.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  std::string addr = path.substr(kPrefix.size());
  if (addr.find('/') != std::string::npos) return "";
  return addr;
}

HttpResponse statusToResponse(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return HttpResponse::jsonError(400, s.message());
    case StatusCode::kNotFound:
      return HttpResponse::jsonError(404, s.message());
    case StatusCode::kAlreadyExists:
      return HttpResponse::jsonError(409, s.message());
    default:
      return HttpResponse::jsonError(500, s.message());
  }
}

HttpResponse methodNotAllowed(const char* allow) {
  HttpResponse r =
      HttpResponse::jsonError(405, std::string("method not allowed; allowed: ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

StatusOr<json> parseJsonObject(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalidArgument("request body is not valid JSON");
  if (!j.is_object()) return invalidArgument("request body must be a JSON object");
  return j;
}

StatusOr<uint32_t> weightField(const json& j) {
  const json& w = j["weight"];
  if (!w.is_number_integer())
    return invalidArgument("field 'weight' must be an integer in 1..10000");
  int64_t v = w.get<int64_t>();
  if (v < 1 || v > 10000) return invalidArgument("field 'weight' must be an integer in 1..10000");
  return static_cast<uint32_t>(v);
}

HttpResponse addBackend(Cluster& cluster, const HttpRequest& req, TimePoint now) {
  auto parsed = parseJsonObject(req.body);
  if (!parsed.isOk()) return statusToResponse(parsed.status());
  const json& j = *parsed;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "address" && it.key() != "weight" && it.key() != "zone") {
      return HttpResponse::jsonError(
          400, "unknown field '" + it.key() + "' (expected address, weight, zone)");
    }
  }
  if (!j.contains("address") || !j["address"].is_string()) {
    return HttpResponse::jsonError(400, "field 'address' (string host:port) is required");
  }
  BackendSpec spec;
  spec.address = j["address"].get<std::string>();
  if (Status s = validateHostPort(spec.address, /*allow_zero=*/false); !s.isOk()) {
    return HttpResponse::jsonError(400, "field 'address' " + s.message());
  }
  if (j.contains("weight")) {
    auto w = weightField(j);
    if (!w.isOk()) return statusToResponse(w.status());
    spec.weight = *w;
  }
  if (j.contains("zone")) {
    if (!j["zone"].is_string())
      return HttpResponse::jsonError(400, "field 'zone' must be a string");
    spec.zone = j["zone"].get<std::string>();
  }
  if (Status s = cluster.addHost(spec); !s.isOk()) return statusToResponse(s);
  auto host = cluster.find(spec.address);
  return HttpResponse::json(201, dumpJson(backendJson(*host, cluster, now)));
}

}  // namespace

net::Handler makeAdminHandler(Cluster& cluster, metrics::Registry& registry, AdminOptions options) {
  auto handle = [&cluster, &registry, options](const HttpRequest& req) -> HttpResponse {
    TimePoint now = cluster.now();
    if (req.path == "/healthz") {
      if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");
      if (options.shutting_down && options.shutting_down->load()) {
        return HttpResponse::json(503, R"({"status":"shutting_down"})");
      }
      return HttpResponse::json(200, R"({"status":"ok"})");
    }
    // The stats page and its assets hold no data: served without the token, which the page sends
    // with its API calls (typed in, or from the URL fragment; docs/design/dashboard.md).
    if (web::isPagePath(web::Page::kGateway, req.path)) {
      if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");
      return *web::serve(web::Page::kGateway, req.path);
    }
    if (!options.bearer_token.empty()) {
      auto auth = req.header("Authorization");
      if (!auth || *auth != "Bearer " + options.bearer_token) {
        HttpResponse r = HttpResponse::jsonError(401, "missing or wrong bearer token");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return r;
      }
    }
    if (req.path == "/metrics") {
      if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");
      return HttpResponse::text(200, registry.render(), metrics::Registry::kContentType);
    }
    if (req.path == "/protocols" && options.protocols) {
      if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");
      return HttpResponse::json(200, options.protocols());
    }
    if (req.path == "/backends" || req.path == "/backends/") {
      if (req.method == "GET") {
        json list = json::array();
        for (const auto& h : cluster.hosts()) list.push_back(backendJson(*h, cluster, now));
        json body;
        body["backends"] = std::move(list);
        auto snap = cluster.snapshot();
        body["eligible"] = snap->size();
        body["panic"] = snap->panic;
        return HttpResponse::json(200, dumpJson(body));
      }
      if (req.method == "POST") return addBackend(cluster, req, now);
      return methodNotAllowed("GET, POST");
    }
    std::string address = backendFromPath(req.path);
    if (!address.empty()) {
      if (req.method == "GET") {
        auto host = cluster.find(address);
        if (!host) return HttpResponse::jsonError(404, "no backend " + address);
        return HttpResponse::json(200, dumpJson(backendJson(*host, cluster, now)));
      }
      if (req.method == "DELETE") {
        auto drain_param = req.queryParam("drain");
        bool drain = false;
        if (drain_param) {
          if (*drain_param == "true" || *drain_param == "1" || drain_param->empty()) {
            drain = true;
          } else if (*drain_param != "false" && *drain_param != "0") {
            return HttpResponse::jsonError(400, "query parameter 'drain' must be true or false");
          }
        }
        if (Status s = cluster.removeHost(address, drain); !s.isOk()) return statusToResponse(s);
        auto host = cluster.find(address);
        if (host) {  // still there: draining
          json j = backendJson(*host, cluster, now);
          return HttpResponse::json(202, dumpJson(j));
        }
        return HttpResponse::json(200, dumpJson(json{{"address", address}, {"removed", true}}));
      }
      if (req.method == "PATCH") {
        auto parsed = parseJsonObject(req.body);
        if (!parsed.isOk()) return statusToResponse(parsed.status());
        for (auto it = parsed->begin(); it != parsed->end(); ++it) {
          if (it.key() != "weight") {
            return HttpResponse::jsonError(400,
                                           "unknown field '" + it.key() + "' (expected weight)");
          }
        }
        if (!parsed->contains("weight"))
          return HttpResponse::jsonError(400, "field 'weight' is required");
        auto w = weightField(*parsed);
        if (!w.isOk()) return statusToResponse(w.status());
        if (Status s = cluster.setWeight(address, *w); !s.isOk()) return statusToResponse(s);
        return HttpResponse::json(200, dumpJson(backendJson(*cluster.find(address), cluster, now)));
      }
      return methodNotAllowed("GET, DELETE, PATCH");
    }
    return HttpResponse::jsonError(
        404, "no such admin endpoint: " + req.path + " (try /, /backends, /metrics, /healthz)");
  };
  // Every answer: no content sniffing (a JSON body is never rendered as HTML).
  return [handle = std::move(handle)](const HttpRequest& req) -> HttpResponse {
    HttpResponse r = handle(req);
    bool has = false;
    for (const auto& [k, v] : r.headers) has = has || k == "X-Content-Type-Options";
    if (!has) r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
  };
}

}  // namespace surge::gateway
