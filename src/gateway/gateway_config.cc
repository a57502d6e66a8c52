#include "gateway/gateway_config.h"

#include "config/node.h"
#include "config/units.h"

namespace surge::gateway {
namespace {

Status parseBackends(const config::Node& node, std::vector<BackendSpec>* out) {
  if (node.isNull()) return Status::ok();
  if (!node.isSequence()) return node.error("must be a list of {address, weight, zone}");
  for (size_t i = 0; i < node.size(); ++i) {
    config::Node b = node.at(i);
    BackendSpec spec;
    if (b.isScalar()) {  // "127.0.0.1:8001" shorthand
      ASSIGN_OR_RETURN(spec.address, b.asString());
    } else {
      if (!b.isMap()) return b.error("must be a map {address, weight, zone} or \"host:port\"");
      RETURN_IF_ERROR(b.checkKeys({"address", "weight", "zone"}));
      if (!b.has("address")) return b.error("field 'address' is required");
      ASSIGN_OR_RETURN(spec.address, b["address"].asString());
      int64_t w = 0;
      ASSIGN_OR_RETURN(w, b.getInt("weight", 1));
      if (w < 1 || w > 10000) return b["weight"].error("must be an integer in 1..10000");
      spec.weight = static_cast<uint32_t>(w);
      ASSIGN_OR_RETURN(spec.zone, b.getString("zone", ""));
    }
    if (Status s = validateHostPort(spec.address, false); !s.isOk()) {
      return (b.isScalar() ? b : b["address"]).error(s.message());
    }
    for (const auto& existing : *out) {
      if (existing.address == spec.address) {
        return b.error("duplicate backend " + spec.address);
      }
    }
    out->push_back(std::move(spec));
  }
  return Status::ok();
}

Status parseBackendsFrom(const config::Node& n, BackendsFrom* f) {
  if (!n.isMap() || n.size() != 1) {
    return n.error(
        "must be {kubernetes: {namespace, service, port}} or {dns: {name, port, "
        "interval}}");
  }
  RETURN_IF_ERROR(n.checkKeys({"kubernetes", "dns"}));
  int64_t port = 0;
  if (n.has("kubernetes")) {
    config::Node k = n["kubernetes"];
    if (!k.isMap()) return k.error("must be a map {namespace, service, port, kubeconfig}");
    RETURN_IF_ERROR(k.checkKeys({"namespace", "service", "port", "kubeconfig", "in_cluster"}));
    RETURN_IF_ERROR(k.require("service"));
    RETURN_IF_ERROR(k.require("port"));
    f->kind = BackendsFrom::Kind::kKubernetes;
    ASSIGN_OR_RETURN(f->ns, k.getString("namespace", f->ns));
    ASSIGN_OR_RETURN(f->service, k.getString("service", ""));
    if (f->ns.empty()) return k["namespace"].error("must not be empty");
    if (f->service.empty()) return k["service"].error("must not be empty");
    ASSIGN_OR_RETURN(port, k.getIntInRange("port", 0, 1, 65535));
    ASSIGN_OR_RETURN(f->kubeconfig, k.getString("kubeconfig", ""));
    ASSIGN_OR_RETURN(f->in_cluster, k.getOneOf("in_cluster", "auto", {"auto", "true", "false"}));
  } else {
    config::Node d = n["dns"];
    if (!d.isMap()) return d.error("must be a map {name, port, interval}");
    RETURN_IF_ERROR(d.checkKeys({"name", "port", "interval"}));
    RETURN_IF_ERROR(d.require("name"));
    RETURN_IF_ERROR(d.require("port"));
    f->kind = BackendsFrom::Kind::kDns;
    ASSIGN_OR_RETURN(f->dns_name, d.getString("name", ""));
    if (f->dns_name.empty()) return d["name"].error("must not be empty");
    ASSIGN_OR_RETURN(port, d.getIntInRange("port", 0, 1, 65535));
    ASSIGN_OR_RETURN(f->interval, d.getDuration("interval", f->interval));
    if (f->interval < std::chrono::milliseconds(100)) {
      return d["interval"].error("must be >= 100ms");
    }
  }
  f->port = static_cast<int>(port);
  return Status::ok();
}

Status parseHealthCheck(const config::Node& n, health::ActiveHealthOptions* h) {
  RETURN_IF_ERROR(n.checkKeys({"path", "interval", "timeout", "unhealthy_threshold",
                               "healthy_threshold", "jitter", "grpc"}));
  ASSIGN_OR_RETURN(h->grpc, n.getBool("grpc", false));
  ASSIGN_OR_RETURN(h->path, n.getString("path", h->path));
  if (h->path.empty() || h->path[0] != '/') return n["path"].error("must start with '/'");
  ASSIGN_OR_RETURN(h->interval, n.getDuration("interval", h->interval));
  ASSIGN_OR_RETURN(h->timeout, n.getDuration("timeout", h->timeout));
  if (h->interval <= Duration(0)) return n["interval"].error("must be > 0");
  if (h->timeout <= Duration(0)) return n["timeout"].error("must be > 0");
  int64_t v;
  ASSIGN_OR_RETURN(v, n.getInt("unhealthy_threshold", h->unhealthy_threshold));
  if (v < 1 || v > 1000) return n["unhealthy_threshold"].error("must be in 1..1000");
  h->unhealthy_threshold = static_cast<int>(v);
  ASSIGN_OR_RETURN(v, n.getInt("healthy_threshold", h->healthy_threshold));
  if (v < 1 || v > 1000) return n["healthy_threshold"].error("must be in 1..1000");
  h->healthy_threshold = static_cast<int>(v);
  ASSIGN_OR_RETURN(h->jitter, n.getDouble("jitter", h->jitter));
  if (h->jitter < 0 || h->jitter >= 1) return n["jitter"].error("must be a fraction in [0, 1)");
  return Status::ok();
}

Status parseOutlier(const config::Node& n, health::OutlierOptions* o) {
  RETURN_IF_ERROR(n.checkKeys({"enabled", "consecutive_failures", "base_ejection_time",
                               "max_ejection_time", "max_ejection_percent"}));
  ASSIGN_OR_RETURN(o->enabled, n.getBool("enabled", o->enabled));
  int64_t v;
  ASSIGN_OR_RETURN(v, n.getInt("consecutive_failures", o->consecutive_failures));
  if (v < 1) return n["consecutive_failures"].error("must be >= 1");
  o->consecutive_failures = static_cast<int>(v);
  ASSIGN_OR_RETURN(o->base_ejection_time,
                   n.getDuration("base_ejection_time", o->base_ejection_time));
  ASSIGN_OR_RETURN(o->max_ejection_time, n.getDuration("max_ejection_time", o->max_ejection_time));
  if (o->base_ejection_time <= Duration(0)) return n["base_ejection_time"].error("must be > 0");
  if (o->max_ejection_time < o->base_ejection_time) {
    return n["max_ejection_time"].error("must be >= base_ejection_time");
  }
  ASSIGN_OR_RETURN(o->max_ejection_percent,
                   n.getDouble("max_ejection_percent", o->max_ejection_percent));
  if (o->max_ejection_percent < 0 || o->max_ejection_percent > 100) {
    return n["max_ejection_percent"].error("must be in 0..100");
  }
  return Status::ok();
}

Status parseHashKey(const config::Node& n, HashKeySource* k) {
  if (n.isNull()) return Status::ok();
  if (!n.isMap() || n.size() != 1) {
    return n.error("must be one of {header: NAME}, {query: NAME}, {cookie: NAME}");
  }
  RETURN_IF_ERROR(n.checkKeys({"header", "query", "cookie"}));
  for (const auto& [key, value] : n.entries()) {
    ASSIGN_OR_RETURN(k->name, value.asString());
    if (k->name.empty()) return value.error("must not be empty");
    k->kind = key == "header"  ? HashKeySource::Kind::kHeader
              : key == "query" ? HashKeySource::Kind::kQuery
                               : HashKeySource::Kind::kCookie;
  }
  return Status::ok();
}

// access_log: off | stdout | PATH | {path, format, buffer_size}.
Status parseAccessLog(const config::Node& n, AccessLogOptions* a) {
  if (n.isNull()) return Status::ok();
  if (n.isScalar()) {
    ASSIGN_OR_RETURN(a->path, n.asString());
  } else {
    if (!n.isMap()) {
      return n.error("must be off, stdout, a file path or {path, format, buffer_size}");
    }
    RETURN_IF_ERROR(n.checkKeys({"path", "format", "buffer_size"}));
    RETURN_IF_ERROR(n.require("path"));
    ASSIGN_OR_RETURN(a->path, n.getString("path", ""));
    std::string format;
    ASSIGN_OR_RETURN(format, n.getOneOf("format", "text", {"text", "json"}));
    parseAccessLogFormat(format, &a->format);
    ASSIGN_OR_RETURN(a->buffer_bytes, n.getBytes("buffer_size", a->buffer_bytes));
    if (a->buffer_bytes < (64u << 10) || a->buffer_bytes > (1ull << 30)) {
      return n["buffer_size"].error("must be in 64KiB..1GiB");
    }
  }
  if (a->path == "off" || a->path == "none") a->path.clear();
  if (a->path.empty() && !n.isScalar() && n.has("path")) {
    return n["path"].error("must not be empty (use access_log: off)");
  }
  if (a->path.find('\0') != std::string::npos) {
    return (n.isScalar() ? n : n["path"]).error("must not contain NUL");
  }
  return Status::ok();
}

// activator: {enabled, queue_size, timeout, retry_after}; `activator: true|false` is the short
// form (the defaults).
Status parseActivator(const config::Node& n, ActivatorOptions* a) {
  if (n.isNull()) return Status::ok();
  if (n.isScalar()) {
    auto on = n.asBool();
    if (!on.isOk()) {
      return n.error("must be true, false or a map {enabled, queue_size, timeout, retry_after}");
    }
    a->enabled = *on;
    return Status::ok();
  }
  if (!n.isMap()) return n.error("must be a map {enabled, queue_size, timeout, retry_after}");
  RETURN_IF_ERROR(n.checkKeys({"enabled", "queue_size", "timeout", "retry_after"}));
  ASSIGN_OR_RETURN(a->enabled, n.getBool("enabled", true));
  ASSIGN_OR_RETURN(a->queue_size, n.getIntInRange("queue_size", a->queue_size, 1, 1000000));
  ASSIGN_OR_RETURN(a->timeout,
                   n.getDurationInRange("timeout", a->timeout, std::chrono::milliseconds(1),
                                        std::chrono::hours(1)));
  ASSIGN_OR_RETURN(a->retry_after,
                   n.getDurationInRange("retry_after", a->retry_after, std::chrono::seconds(1),
                                        std::chrono::hours(1)));
  return Status::ok();
}

// http2: {enabled, max_concurrent_streams, initial_stream_window, initial_connection_window,
// upstream_connections}; `http2: false` turns HTTP/2 off on the listener.
Status parseHttp2(const config::Node& n, Http2Options* h) {
  if (n.isNull()) return Status::ok();
  if (n.isScalar()) {
    auto on = n.asBool();
    if (!on.isOk()) return n.error("must be true, false or a map");
    h->enabled = *on;
    return Status::ok();
  }
  if (!n.isMap()) return n.error("must be true, false or a map");
  RETURN_IF_ERROR(n.checkKeys({"enabled", "max_concurrent_streams", "initial_stream_window",
                               "initial_connection_window", "upstream_connections"}));
  ASSIGN_OR_RETURN(h->enabled, n.getBool("enabled", true));
  int64_t v;
  ASSIGN_OR_RETURN(v,
                   n.getIntInRange("max_concurrent_streams", h->max_concurrent_streams, 1, 10000));
  h->max_concurrent_streams = static_cast<uint32_t>(v);
  ASSIGN_OR_RETURN(v, n.getIntInRange("initial_stream_window", h->initial_stream_window, 65535,
                                      (1ll << 31) - 1));
  h->initial_stream_window = static_cast<uint32_t>(v);
  ASSIGN_OR_RETURN(v, n.getIntInRange("initial_connection_window", h->initial_connection_window,
                                      65535, (1ll << 31) - 1));
  h->initial_connection_window = static_cast<uint32_t>(v);
  ASSIGN_OR_RETURN(v, n.getIntInRange("upstream_connections", h->upstream_connections, 1, 64));
  h->upstream_connections = static_cast<int>(v);
  return Status::ok();
}

// tls: {cert, key, client_ca, require_client_cert, min_version, ciphers, ciphersuites}.
Status parseTls(const config::Node& n, TlsListenerOptions* t) {
  if (n.isNull()) return Status::ok();
  if (!n.isMap()) return n.error("must be a map {cert, key, client_ca, ...}");
  RETURN_IF_ERROR(n.checkKeys({"cert", "key", "client_ca", "require_client_cert", "min_version",
                               "ciphers", "ciphersuites"}));
  ASSIGN_OR_RETURN(t->cert, n.getString("cert", ""));
  ASSIGN_OR_RETURN(t->key, n.getString("key", ""));
  ASSIGN_OR_RETURN(t->client_ca, n.getString("client_ca", ""));
  ASSIGN_OR_RETURN(t->require_client_cert, n.getBool("require_client_cert", false));
  ASSIGN_OR_RETURN(t->min_version, n.getString("min_version", t->min_version));
  ASSIGN_OR_RETURN(t->ciphers, n.getString("ciphers", ""));
  ASSIGN_OR_RETURN(t->ciphersuites, n.getString("ciphersuites", ""));
  if (t->cert.empty()) return n.error("cert: required (the PEM certificate chain)");
  if (t->key.empty()) return n.error("key: required (the PEM private key)");
  if (t->min_version != "1.2" && t->min_version != "1.3") {
    return n["min_version"].error("must be \"1.2\" or \"1.3\"");
  }
  if (t->require_client_cert && t->client_ca.empty()) {
    return n["require_client_cert"].error(
        "needs client_ca (the CA that signs client certificates)");
  }
  return Status::ok();
}

}  // namespace

bool parseAccessLogFormat(std::string_view name, AccessLogFormat* out) {
  if (name == "text") {
    *out = AccessLogFormat::kText;
  } else if (name == "json") {
    *out = AccessLogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

Status validateHostPort(const std::string& a, bool allow_zero) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
    return invalidArgument("must be host:port, got '" + a + "'");
  }
  long port = 0;
  for (size_t i = colon + 1; i < a.size(); ++i) {
    if (a[i] < '0' || a[i] > '9' || port > 65535) return invalidArgument("bad port in '" + a + "'");
    port = port * 10 + (a[i] - '0');
  }
  if (port > 65535 || (port == 0 && !allow_zero)) return invalidArgument("bad port in '" + a + "'");
  return Status::ok();
}

StatusOr<std::vector<BackendSpec>> parseBackendList(const std::string& list) {
  std::vector<BackendSpec> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) {
      RETURN_IF_ERROR(validateHostPort(item, false));
      out.push_back(BackendSpec{item, 1, ""});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

StatusOr<GatewayConfig> parseGatewayConfig(const config::Node& root) {
  GatewayConfig c;
  if (!root.isMap()) return root.error("the gateway config must be a YAML map");
  RETURN_IF_ERROR(root.checkKeys({"listen",
                                  "admin",
                                  "admin_token",
                                  "workers",
                                  "algorithm",
                                  "hash_key",
                                  "hash_method",
                                  "maglev_table_size",
                                  "hash_balance_factor",
                                  "ewma_tau",
                                  "default_rtt",
                                  "backends",
                                  "backends_from",
                                  "health_check",
                                  "outlier_detection",
                                  "panic_threshold",
                                  "slow_start",
                                  "zone",
                                  "zone_aware",
                                  "retries",
                                  "retry_budget",
                                  "retry_max_body",
                                  "timeouts",
                                  "max_body_size",
                                  "max_header_size",
                                  "drain_timeout",
                                  "access_log",
                                  "upstream_protocol",
                                  "http2",
                                  "tls",
                                  "activator"}));
  ASSIGN_OR_RETURN(c.listen, root.getString("listen", c.listen));
  if (Status s = validateHostPort(c.listen, true); !s.isOk())
    return root["listen"].error(s.message());
  ASSIGN_OR_RETURN(c.admin.listen, root.getString("admin", c.admin.listen));
  if (!c.admin.listen.empty() && c.admin.listen != "off") {
    if (Status s = validateHostPort(c.admin.listen, true); !s.isOk()) {
      return root["admin"].error(s.message());
    }
  } else {
    c.admin.listen.clear();
  }
  ASSIGN_OR_RETURN(c.admin.bearer_token, root.getString("admin_token", ""));
  int64_t workers;
  ASSIGN_OR_RETURN(workers, root.getInt("workers", c.workers));
  if (workers < 1 || workers > 256) return root["workers"].error("must be in 1..256");
  c.workers = static_cast<int>(workers);

  lb::BalancerOptions& b = c.balancer;
  ASSIGN_OR_RETURN(b.algorithm, root.getString("algorithm", b.algorithm));
  ASSIGN_OR_RETURN(b.hash_method, root.getString("hash_method", b.hash_method));
  int64_t table;
  ASSIGN_OR_RETURN(table,
                   root.getInt("maglev_table_size", static_cast<int64_t>(b.maglev_table_size)));
  if (table < 1) return root["maglev_table_size"].error("must be a prime > 0");
  b.maglev_table_size = static_cast<uint64_t>(table);
  ASSIGN_OR_RETURN(b.hash_balance_factor,
                   root.getDouble("hash_balance_factor", b.hash_balance_factor));
  ASSIGN_OR_RETURN(b.ewma_tau, root.getDuration("ewma_tau", b.ewma_tau));
  ASSIGN_OR_RETURN(b.default_rtt, root.getDuration("default_rtt", b.default_rtt));
  if (Status s = lb::validateBalancerOptions(b); !s.isOk()) {
    return root.has("algorithm") ? root["algorithm"].error(s.message()) : root.error(s.message());
  }
  RETURN_IF_ERROR(parseHashKey(root["hash_key"], &c.hash_key));
  RETURN_IF_ERROR(parseBackends(root["backends"], &c.backends));
  if (root.has("backends_from")) {
    if (!c.backends.empty()) {
      return root["backends_from"].error(
          "'backends' and 'backends_from' are mutually exclusive: list backends statically or "
          "discover them, not both");
    }
    RETURN_IF_ERROR(parseBackendsFrom(root["backends_from"], &c.backends_from));
  }

  if (root.has("health_check")) {
    c.health_check_enabled = true;
    RETURN_IF_ERROR(parseHealthCheck(root["health_check"], &c.health_check));
  }
  if (root.has("outlier_detection")) {
    RETURN_IF_ERROR(parseOutlier(root["outlier_detection"], &c.cluster.outlier));
  }
  ASSIGN_OR_RETURN(c.cluster.host_set.panic_threshold_percent,
                   root.getDouble("panic_threshold", c.cluster.host_set.panic_threshold_percent));
  if (c.cluster.host_set.panic_threshold_percent < 0 ||
      c.cluster.host_set.panic_threshold_percent > 100) {
    return root["panic_threshold"].error("must be a percentage in 0..100");
  }
  ASSIGN_OR_RETURN(c.cluster.host_set.slow_start, root.getDuration("slow_start", Duration(0)));
  ASSIGN_OR_RETURN(c.cluster.host_set.local_zone, root.getString("zone", ""));
  ASSIGN_OR_RETURN(c.cluster.host_set.zone_aware, root.getBool("zone_aware", false));
  if (c.cluster.host_set.zone_aware && c.cluster.host_set.local_zone.empty()) {
    return root["zone_aware"].error("needs 'zone' (the gateway's own zone)");
  }
  c.cluster.latency_tau = b.ewma_tau;

  int64_t retries;
  ASSIGN_OR_RETURN(retries, root.getInt("retries", c.retries));
  if (retries < 0 || retries > 10) return root["retries"].error("must be in 0..10");
  c.retries = static_cast<int>(retries);
  if (root.has("retry_budget")) {
    config::Node rb = root["retry_budget"];
    RETURN_IF_ERROR(rb.checkKeys({"percent", "min_concurrent"}));
    ASSIGN_OR_RETURN(c.retry_budget_percent, rb.getDouble("percent", c.retry_budget_percent));
    if (c.retry_budget_percent < 0 || c.retry_budget_percent > 100) {
      return rb["percent"].error("must be in 0..100");
    }
    int64_t m;
    ASSIGN_OR_RETURN(m, rb.getInt("min_concurrent", c.retry_budget_min));
    if (m < 0) return rb["min_concurrent"].error("must be >= 0");
    c.retry_budget_min = static_cast<int>(m);
  }
  ASSIGN_OR_RETURN(c.retry_max_body_bytes, root.getBytes("retry_max_body", c.retry_max_body_bytes));
  if (root.has("timeouts")) {
    config::Node t = root["timeouts"];
    if (!t.isMap()) return t.error("must be a map {connect, request, idle, header, per_try}");
    RETURN_IF_ERROR(t.checkKeys({"connect", "request", "idle", "header", "per_try"}));
    ASSIGN_OR_RETURN(c.connect_timeout, t.getDuration("connect", c.connect_timeout));
    ASSIGN_OR_RETURN(c.request_timeout, t.getDuration("request", c.request_timeout));
    ASSIGN_OR_RETURN(c.idle_timeout, t.getDuration("idle", c.idle_timeout));
    ASSIGN_OR_RETURN(c.header_timeout, t.getDuration("header", c.header_timeout));
    for (const char* k : {"connect", "request", "idle", "header"}) {
      auto d = t.getDuration(k, Duration(1));
      if (d.isOk() && *d <= Duration(0)) return t[k].error("must be > 0");
    }
    // per_try: 0 (or "off") disables it; otherwise at least 1 ms and at most the request timeout.
    if (t.has("per_try")) {
      auto off = t["per_try"].asString();
      if (off.isOk() && (*off == "off" || *off == "none")) {
        c.per_try_timeout = Duration::zero();
      } else {
        ASSIGN_OR_RETURN(c.per_try_timeout, t.getDuration("per_try", c.per_try_timeout));
        if (c.per_try_timeout != Duration::zero() &&
            c.per_try_timeout < std::chrono::milliseconds(1)) {
          return t["per_try"].error("must be 0 (off) or at least 1ms");
        }
        if (c.per_try_timeout > c.request_timeout) {
          return t["per_try"].error("must not exceed timeouts.request (" +
                                    config::formatDuration(c.request_timeout) + ")");
        }
      }
    }
  }
  ASSIGN_OR_RETURN(c.max_body_bytes, root.getBytes("max_body_size", c.max_body_bytes));
  ASSIGN_OR_RETURN(c.max_header_bytes, root.getBytes("max_header_size", c.max_header_bytes));
  if (c.max_header_bytes < 1024) return root["max_header_size"].error("must be at least 1KiB");
  ASSIGN_OR_RETURN(c.drain_timeout, root.getDuration("drain_timeout", c.drain_timeout));
  c.cluster.drain_timeout = c.drain_timeout;
  RETURN_IF_ERROR(parseAccessLog(root["access_log"], &c.access_log));
  if (root.has("upstream_protocol")) {
    std::string proto;
    ASSIGN_OR_RETURN(proto, root.getString("upstream_protocol", "http1"));
    if (proto == "http1") {
      c.upstream_protocol = UpstreamProtocol::kHttp1;
    } else if (proto == "h2") {
      c.upstream_protocol = UpstreamProtocol::kH2;
    } else {
      return root["upstream_protocol"].error("must be http1 or h2");
    }
  }
  RETURN_IF_ERROR(parseHttp2(root["http2"], &c.http2));
  c.health_check.http2 = c.upstreamIsH2();  // probes speak what the backends speak
  RETURN_IF_ERROR(parseTls(root["tls"], &c.tls));
  RETURN_IF_ERROR(parseActivator(root["activator"], &c.activator));
  return c;
}

StatusOr<GatewayConfig> loadGatewayConfig(const std::string& path) {
  ASSIGN_OR_RETURN(config::Node root, config::Node::loadFile(path));
  ASSIGN_OR_RETURN(GatewayConfig c, parseGatewayConfig(root));
  RETURN_IF_ERROR(validateGatewayConfig(c));
  return c;
}

Status validateGatewayConfig(const GatewayConfig& c) {
  RETURN_IF_ERROR(lb::validateBalancerOptions(c.balancer));
  if (c.workers < 1) return invalidArgument("workers must be >= 1");
  if (c.per_try_timeout < Duration::zero()) return invalidArgument("per-try timeout must be >= 0");
  if (c.per_try_timeout > c.request_timeout) {
    return invalidArgument("the per-try timeout must not exceed the request timeout");
  }
  if (c.health_check_enabled && c.health_check.grpc && !c.upstreamIsH2()) {
    return invalidArgument("health_check.grpc needs upstream_protocol: h2 (gRPC runs on HTTP/2)");
  }
  if (c.activator.enabled && c.activator.queue_size < 1) {
    return invalidArgument("activator queue_size must be >= 1");
  }
  if (c.activator.enabled && c.activator.timeout <= Duration::zero()) {
    return invalidArgument("activator timeout must be > 0");
  }
  return Status::ok();
}

}  // namespace surge::gateway
