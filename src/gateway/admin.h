// Admin API of the gateway (Envoy's admin / HAProxy's runtime API, as JSON over HTTP):
//   GET    /backends                    every backend with weight, zone, health, load, latency
//   POST   /backends                    {"address": "h:p", "weight": 1, "zone": "a"} → 201
//   DELETE /backends/{address}[?drain=true]   drain (202) or remove at once (200)
//   PATCH  /backends/{address}          {"weight": N} → 200
//   GET    /metrics                     Prometheus text exposition
//   GET    /healthz                     200 {"status": "ok"} (503 while shutting down)
//   GET    /                            the stats page (HTML; assets /surge.css, /surge.js,
//                                       /gateway.js) — served without the token, it holds no data
// Bad input → 4xx with {"error": "..."}; an optional bearer token guards every path but /healthz
// and the stats page's assets.
// Thread-safety: the handler may be called from any thread (Cluster and Registry are thread-safe).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "gateway/cluster.h"
#include "metrics/registry.h"
#include "net/http_message.h"

namespace surge::gateway {

struct AdminOptions {
  std::string listen = "127.0.0.1:9901";  // empty = no admin listener
  std::string bearer_token;               // empty = no authentication
  // Set when the gateway is shutting down (healthz answers 503 then).
  const std::atomic<bool>* shutting_down = nullptr;
  // GET /protocols: the JSON of the HTTP/2, gRPC and TLS counters (set by the Gateway).
  std::function<std::string()> protocols;
};

net::Handler makeAdminHandler(Cluster& cluster, metrics::Registry& registry, AdminOptions options);

}  // namespace surge::gateway
