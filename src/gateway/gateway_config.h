// GatewayConfig: the typed, validated form of gateway.yaml (and of the gateway's flags). Loaded
// once at the edge; every error names file:line:col and the field (docs/design/foundation.md).
// Thread-safety: immutable value after loading.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "gateway/access_log.h"
#include "gateway/activator.h"
#include "gateway/admin.h"
#include "gateway/cluster.h"
#include "health/active_health.h"
#include "lb/balancer.h"

namespace surge::config {
class Node;
}

namespace surge::gateway {

// Where the consistent-hash key comes from.
struct HashKeySource {
  enum class Kind { kHeader, kQuery, kCookie };
  Kind kind = Kind::kHeader;
  std::string name = "X-Session-Id";
};

// backends_from: backends discovered at run time instead of a static list (docs/gateway.md,
// "Discovery"; the drivers live in k8s/endpoint_discovery.h).
struct BackendsFrom {
  enum class Kind { kNone, kKubernetes, kDns };
  Kind kind = Kind::kNone;
  std::string ns = "default";       // kubernetes: the Service's namespace
  std::string service;              // kubernetes: the Service's name
  std::string kubeconfig;           // kubernetes: "" → in-cluster, else KUBECONFIG/~/.kube/config
  std::string in_cluster = "auto";  // kubernetes: auto, true, false
  std::string dns_name;             // dns: the (headless Service) name to resolve
  int port = 0;                     // the backends' port
  Duration interval = std::chrono::seconds(5);  // dns: re-resolution period
};

// http2: the HTTP/2 side of the listener and of upstream connections (docs/gateway.md, "HTTP/2
// and gRPC"; docs/design/gateway-h2.md).
struct Http2Options {
  bool enabled = true;                       // accept h2c prior knowledge and ALPN h2
  uint32_t max_concurrent_streams = 128;     // per client connection (SETTINGS)
  uint32_t initial_stream_window = 1u << 20;      // receive window per stream (bytes)
  uint32_t initial_connection_window = 8u << 20;  // receive window per connection (bytes)
  int upstream_connections = 4;              // HTTP/2 connections per backend per worker (max)
};

// tls: TLS termination on the client listener (docs/design/tls.md). Off when cert is empty.
struct TlsListenerOptions {
  std::string cert;        // PEM certificate chain, leaf first
  std::string key;         // PEM private key
  std::string client_ca;   // CA bundle: request and verify client certificates (mTLS)
  bool require_client_cert = false;
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string ciphers;        // TLS 1.2 cipher list ("" = surge's default)
  std::string ciphersuites;   // TLS 1.3 suites ("" = OpenSSL's default)
  bool enabled() const { return !cert.empty(); }
};

enum class UpstreamProtocol { kHttp1, kH2 };

struct GatewayConfig {
  std::string listen = "0.0.0.0:8080";
  AdminOptions admin;  // admin.listen "" disables the admin listener
  int workers = 2;
  lb::BalancerOptions balancer;  // algorithm + its options
  HashKeySource hash_key;
  std::vector<BackendSpec> backends;
  BackendsFrom backends_from;  // exclusive with a non-empty `backends`
  bool health_check_enabled = false;  // true when health_check is present
  health::ActiveHealthOptions health_check;
  ClusterOptions cluster;  // outlier detection, panic, slow start, zones, drain
  // Retries (Envoy-style budget).
  int retries = 2;
  double retry_budget_percent = 20;         // of active requests
  int retry_budget_min = 3;                 // concurrent retries always allowed
  uint64_t retry_max_body_bytes = 1 << 20;  // bodies larger than this are never retried
  // Timeouts and limits.
  Duration connect_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(60);
  Duration idle_timeout = std::chrono::seconds(60);
  Duration header_timeout = std::chrono::seconds(10);
  // timeouts.per_try (Envoy's per_try_timeout): a try with no response head within this is
  // abandoned (its connection closed), counted as a host failure, and retried on another host
  // within `retries` and the budget; 504 after the last try. 0 = off, the default: a fixed bound
  // would cut legitimately long inferences (docs/design/gateway.md, "Per-try timeout").
  Duration per_try_timeout = Duration::zero();
  uint64_t max_body_bytes = 64ull << 20;
  uint64_t max_header_bytes = 64 << 10;
  Duration drain_timeout = std::chrono::seconds(30);  // graceful shutdown
  AccessLogOptions access_log;  // off unless access_log.path is set (docs/gateway.md)
  // How the gateway talks to its backends: HTTP/1.1 (default) or HTTP/2 with prior knowledge
  // (`upstream_protocol: h2`: gRPC backends).
  UpstreamProtocol upstream_protocol = UpstreamProtocol::kHttp1;
  Http2Options http2;
  TlsListenerOptions tls;
  bool upstreamIsH2() const { return upstream_protocol == UpstreamProtocol::kH2; }
  // Hold requests while no replica is ready (scale from zero; activator.h, docs/gateway.md).
  ActivatorOptions activator;
};

// Loads and validates a gateway.yaml. Errors: InvalidArgument "file:line:col: field: message".
StatusOr<GatewayConfig> loadGatewayConfig(const std::string& path);
StatusOr<GatewayConfig> parseGatewayConfig(const config::Node& root);
// Validates cross-field rules (used after flags override config values too).
Status validateGatewayConfig(const GatewayConfig& config);
// "127.0.0.1:8001,127.0.0.1:8002" → backends (flag --upstreams).
StatusOr<std::vector<BackendSpec>> parseBackendList(const std::string& list);
// access_log's format name ("text", "json") → the enum; false for anything else.
bool parseAccessLogFormat(std::string_view name, AccessLogFormat* out);
// Checks "host:port" with a port in 1..65535 (0 allowed when allow_zero, for listeners).
Status validateHostPort(const std::string& address, bool allow_zero);

}  // namespace surge::gateway
