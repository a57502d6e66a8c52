// `surge gateway`: the HTTP load balancer. Flags override the config file (--config FILE).
//   surge gateway --listen 127.0.0.1:8080 --upstreams 127.0.0.1:8001,127.0.0.1:8002
//                 --algorithm round_robin --workers 1
// Prints "surge gateway listening on HOST:PORT (admin HOST:PORT)" when ready; SIGINT/SIGTERM
// drain in-flight requests (up to drain_timeout) and exit 0.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/units.h"
#include "gateway/cluster.h"
#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "k8s/endpoint_discovery.h"
#include "lb/balancer.h"
#include "metrics/registry.h"

namespace surge::cli {
namespace {

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "gateway",
      .synopsis = {"[--config FILE] [options]"},
      .description =
          "HTTP/1.1 load balancer in front of model replicas. Flags override the config file.\n",
      .flags =
          {
              {.name = "--config",
               .value_name = "FILE",
               .help = "gateway.yaml (see docs/gateway.md)"},
              {.name = "--listen",
               .value_name = "HOST:PORT",
               .help = "client listener (default 0.0.0.0:8080; port 0 = any)"},
              {.name = "--admin",
               .value_name = "HOST:PORT|off",
               .help = "admin API listener (default 127.0.0.1:9901)"},
              {.name = "--upstreams",
               .value_name = "A,B,...",
               .help = "backends host:port, comma-separated (replaces the config's)"},
              {.name = "--algorithm",
               .value_name = "NAME",
               .help = "load-balancing algorithm",
               .choices = lb::balancerNames()},
              {.name = "--workers",
               .value_name = "N",
               .help = "event-loop threads (default 2)",
               .type = FlagType::kInt,
               .min = 1,
               .max = 256},
              {.name = "--retries",
               .value_name = "N",
               .help = "retries on another backend (default 2)",
               .type = FlagType::kInt,
               .min = 0,
               .max = 7},
              {.name = "--per-try-timeout",
               .value_name = "DUR",
               .help = "abandon a try with no response head within DUR and retry it elsewhere "
                       "(timeouts.per_try; default 0 = off)",
               .type = FlagType::kDuration},
              {.name = "--hash-header",
               .value_name = "NAME",
               .help = "consistent-hash key header (default X-Session-Id)"},
              {.name = "--access-log",
               .value_name = "PATH|stdout|off",
               .help = "one line per request to PATH (reopened on SIGHUP) or stdout (access_log; "
                       "default off)"},
              {.name = "--access-log-format",
               .value_name = "FORMAT",
               .help = "access-log line format (access_log.format; default text)",
               .choices = {"text", "json"}},
              {.name = "--upstream-protocol",
               .value_name = "PROTO",
               .help = "http1 (default) or h2: the backends speak HTTP/2 with prior knowledge "
                       "(gRPC replicas); every HTTP/2 stream is balanced on its own",
               .choices = {"http1", "h2"}},
              {.name = "--tls-cert",
               .value_name = "FILE",
               .help = "PEM certificate chain: the listener speaks TLS (ALPN h2, http/1.1)"},
              {.name = "--tls-key", .value_name = "FILE", .help = "PEM private key of --tls-cert"},
              {.name = "--tls-client-ca",
               .value_name = "FILE",
               .help = "CA bundle: require and verify client certificates (mTLS)"},
              {.name = "--reuse-port",
               .help = "share --listen with another process (hot restart); without it a port in "
                       "use is an error (exit 2)",
               .type = FlagType::kBool},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold",
               .default_value = "info",
               .choices = {"debug", "info", "warn", "error"}},
              logFormatFlag(),
          },
  };
  return spec;
}

// Applies one discovered host set to the cluster: add new hosts, drain terminating ones, remove
// vanished ones (k8s/endpoint_set.h: diffHosts).
void applyDiscovered(gateway::Cluster& cluster, const std::vector<k8s::DesiredHost>& desired) {
  std::vector<k8s::CurrentHost> current;
  for (const auto& h : cluster.hosts()) current.push_back({h->address(), h->draining()});
  k8s::HostActions a = k8s::diffHosts(current, desired);
  for (const auto& h : a.add) {
    Status s = cluster.addHost(gateway::BackendSpec{h.address, 1, h.zone});
    SURGE_LOG(kInfo, "discovery",
              "add " + h.address + (h.zone.empty() ? "" : " (zone " + h.zone + ")") +
                  (s.isOk() ? "" : ": " + s.message()));
  }
  for (const auto& addr : a.drain) {
    Status s = cluster.removeHost(addr, /*drain=*/true);
    SURGE_LOG(kInfo, "discovery", "drain " + addr + (s.isOk() ? "" : ": " + s.message()));
  }
  for (const auto& addr : a.remove) {
    Status s = cluster.removeHost(addr, /*drain=*/false);
    SURGE_LOG(kInfo, "discovery", "remove " + addr + (s.isOk() ? "" : ": " + s.message()));
  }
}

}  // namespace

int runGateway(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  if (args->has("--per-try-timeout")) {
    const Duration d = args->duration("--per-try-timeout");
    if (d != Duration::zero() && d < std::chrono::milliseconds(1)) {
      return usageError(spec(), "--per-try-timeout wants 0 (off) or a duration >= 1ms, found '" +
                                    args->str("--per-try-timeout") + "'");
    }
  }
  // Flag values are checked before the config file is read: their errors are usage errors (the
  // error line and the hint); the file's stay one line with file:line:col.
  const std::string& listen = args->str("--listen");
  if (args->has("--listen")) {
    if (Status s = checkHostPort("--listen", listen, true); !s.isOk()) {
      return usageError(spec(), s.message());
    }
  }
  const std::string& admin = args->str("--admin");
  const bool admin_off = admin == "off" || admin == "none";
  if (args->has("--admin") && !admin_off) {
    if (Status s = checkHostPort("--admin", admin, true); !s.isOk()) {
      return usageError(spec(), s.message() + " (or off)");
    }
  }
  std::optional<std::vector<gateway::BackendSpec>> upstreams;
  if (!args->str("--upstreams").empty()) {
    auto list = gateway::parseBackendList(args->str("--upstreams"));
    if (!list.isOk()) return usageError(spec(), "--upstreams: " + list.status().message());
    upstreams = std::move(list).value();
  }
  if (args->has("--log-level")) setLogLevelByName(args->str("--log-level"));

  gateway::GatewayConfig config;
  if (const std::string& path = args->str("--config"); !path.empty()) {
    auto loaded = gateway::loadGatewayConfig(path);
    if (!loaded.isOk()) {
      std::fprintf(stderr, "surge gateway: %s\n", loaded.status().message().c_str());
      return 2;
    }
    config = std::move(loaded).value();
  }
  if (args->has("--listen")) config.listen = listen;
  if (args->has("--admin")) config.admin.listen = admin_off ? "" : admin;
  if (const std::string& algorithm = args->str("--algorithm"); !algorithm.empty()) {
    config.balancer.algorithm = algorithm;
  }
  if (const std::string& hash_header = args->str("--hash-header"); !hash_header.empty()) {
    config.hash_key.kind = gateway::HashKeySource::Kind::kHeader;
    config.hash_key.name = hash_header;
  }
  if (args->has("--access-log")) {
    const std::string& a = args->str("--access-log");
    if (a.empty()) return usageError(spec(), "--access-log wants PATH, stdout or off");
    config.access_log.path = (a == "off" || a == "none") ? "" : a;
  }
  if (args->has("--access-log-format")) {
    gateway::parseAccessLogFormat(args->str("--access-log-format"), &config.access_log.format);
  }
  if (args->has("--workers")) config.workers = static_cast<int>(args->integer("--workers"));
  if (args->has("--upstream-protocol")) {
    config.upstream_protocol = args->str("--upstream-protocol") == "h2"
                                   ? gateway::UpstreamProtocol::kH2
                                   : gateway::UpstreamProtocol::kHttp1;
    config.health_check.http2 = config.upstreamIsH2();
  }
  if (args->has("--tls-cert") || args->has("--tls-key")) {
    if (args->str("--tls-cert").empty() || args->str("--tls-key").empty()) {
      return usageError(spec(), "--tls-cert and --tls-key go together");
    }
    config.tls.cert = args->str("--tls-cert");
    config.tls.key = args->str("--tls-key");
  }
  if (args->has("--tls-client-ca")) {
    if (!config.tls.enabled()) return usageError(spec(), "--tls-client-ca needs --tls-cert");
    config.tls.client_ca = args->str("--tls-client-ca");
    config.tls.require_client_cert = true;
  }
  if (args->has("--retries")) config.retries = static_cast<int>(args->integer("--retries"));
  if (args->has("--per-try-timeout")) {
    config.per_try_timeout = args->duration("--per-try-timeout");
    if (config.per_try_timeout > config.request_timeout) {
      return usageError(spec(), "--per-try-timeout: must not exceed the request timeout (" +
                                    config::formatDuration(config.request_timeout) + "), found '" +
                                    args->str("--per-try-timeout") + "'");
    }
  }
  if (upstreams) {
    config.backends = std::move(*upstreams);
    config.backends_from.kind = gateway::BackendsFrom::Kind::kNone;  // the flag replaces discovery
  }
  if (Status s = gateway::validateGatewayConfig(config); !s.isOk()) {
    std::fprintf(stderr, "surge gateway: %s\n", s.message().c_str());
    return 2;
  }

  // A proxy holds two descriptors per request in flight: raise the soft limit to the hard one.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }

  gateway::Cluster cluster(config.cluster, SteadyClock::instance());
  for (const auto& b : config.backends) {
    if (Status s = cluster.addHost(b); !s.isOk()) {
      std::fprintf(stderr, "surge gateway: backend %s: %s\n", b.address.c_str(),
                   s.message().c_str());
      return 2;
    }
  }
  metrics::Registry registry;
  gateway::GatewayOptions options;
  static_cast<gateway::GatewayConfig&>(options) = config;
  options.install_signal_handlers = true;
  options.print_ready_line = true;
  options.reuse_port = args->boolean("--reuse-port");
  gateway::Gateway gw(options, cluster, registry);
  if (Status s = gw.start(); !s.isOk()) {
    std::fprintf(stderr, "surge gateway: %s\n", s.message().c_str());
    return s.code() == StatusCode::kAlreadyExists ? 2 : 1;  // address in use: a config error
  }
  // backends_from: discovery feeds the cluster from its own thread until the gateway stops.
  std::unique_ptr<k8s::EndpointSliceWatcher> slice_watcher;
  std::unique_ptr<k8s::DnsDiscovery> dns_discovery;
  const gateway::BackendsFrom& from = config.backends_from;
  auto apply = [&cluster](const std::vector<k8s::DesiredHost>& d) { applyDiscovered(cluster, d); };
  if (from.kind == gateway::BackendsFrom::Kind::kKubernetes) {
    auto api_config = k8s::resolveApiConfig(from.kubeconfig, from.in_cluster);
    if (!api_config.isOk()) {
      std::fprintf(stderr, "surge gateway: backends_from.kubernetes: %s\n",
                   api_config.status().message().c_str());
      return 2;
    }
    k8s::EndpointSliceWatchOptions o;
    o.ns = from.ns;
    o.service = from.service;
    o.port = from.port;
    slice_watcher = std::make_unique<k8s::EndpointSliceWatcher>(
        std::make_shared<k8s::ApiClient>(std::move(api_config).value()), o, apply);
    slice_watcher->start();
  } else if (from.kind == gateway::BackendsFrom::Kind::kDns) {
    dns_discovery = std::make_unique<k8s::DnsDiscovery>(
        k8s::DnsDiscoveryOptions{from.dns_name, from.port, from.interval}, apply);
    dns_discovery->start();
  }
  gw.run();
  if (slice_watcher) slice_watcher->stop();
  if (dns_discovery) dns_discovery->stop();
  return 0;
}

}  // namespace surge::cli
