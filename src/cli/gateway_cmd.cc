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
#include "common/clock.h"
#include "common/logging.h"
#include "config/units.h"
#include "gateway/cluster.h"
#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "k8s/endpoint_discovery.h"
#include "metrics/registry.h"

namespace surge::cli {
namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge gateway [--config FILE] [options]\n\n"
      "HTTP/1.1 load balancer in front of model replicas. Flags override the config file.\n"
      "  --config FILE          gateway.yaml (see docs/gateway.md)\n"
      "  --listen HOST:PORT     client listener (default 0.0.0.0:8080; port 0 = any)\n"
      "  --admin HOST:PORT|off  admin API listener (default 127.0.0.1:9901)\n"
      "  --upstreams A,B,...    backends host:port, comma-separated (replaces the config's)\n"
      "  --algorithm NAME       round_robin, weighted, random, least_connections, power_of_two,\n"
      "                         least_latency, consistent_hash\n"
      "  --workers N            event-loop threads (default 2)\n"
      "  --retries N            retries on another backend (default 2)\n"
      "  --per-try-timeout DUR  abandon a try with no response head within DUR and retry it\n"
      "                         elsewhere (timeouts.per_try; default 0 = off)\n"
      "  --hash-header NAME     consistent-hash key header (default X-Session-Id)\n"
      "  --reuse-port           share --listen with another process (hot restart); without it\n"
      "                         a port in use is an error (exit 2)\n"
      "  --log-level LEVEL      debug, info, warn, error (default info)\n");
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

bool parseIntFlag(const std::string& v, int lo, int hi, int* out) {
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo || x > hi) return false;
  *out = static_cast<int>(x);
  return true;
}

}  // namespace

int runGateway(const std::vector<std::string>& args) {
  std::string config_path, listen, admin, upstreams, algorithm, hash_header, log_level;
  bool reuse_port = false;
  int workers = -1, retries = -1;
  std::optional<Duration> per_try_timeout;
  bool admin_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "surge gateway: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--config") {
      if (!value(&config_path)) return 2;
    } else if (a == "--listen") {
      if (!value(&listen)) return 2;
    } else if (a == "--admin") {
      if (!value(&admin)) return 2;
      admin_set = true;
    } else if (a == "--upstreams") {
      if (!value(&upstreams)) return 2;
    } else if (a == "--algorithm") {
      if (!value(&algorithm)) return 2;
    } else if (a == "--hash-header") {
      if (!value(&hash_header)) return 2;
    } else if (a == "--log-level") {
      if (!value(&log_level)) return 2;
    } else if (a == "--reuse-port") {
      reuse_port = true;
    } else if (a == "--workers") {
      if (!value(&v) || !parseIntFlag(v, 1, 256, &workers)) {
        std::fprintf(stderr, "surge gateway: --workers wants 1..256\n");
        return 2;
      }
    } else if (a == "--per-try-timeout") {
      auto d = value(&v) ? config::parseDuration(v) : StatusOr<Duration>(invalidArgument(""));
      if (!d.isOk() || (*d != Duration::zero() && *d < std::chrono::milliseconds(1))) {
        std::fprintf(stderr,
                     "surge gateway: --per-try-timeout wants 0 (off) or a duration >= 1ms\n");
        return 2;
      }
      per_try_timeout = *d;
    } else if (a == "--retries") {
      if (!value(&v) || !parseIntFlag(v, 0, 7, &retries)) {
        std::fprintf(stderr, "surge gateway: --retries wants 0..7\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "surge gateway: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (!log_level.empty() && !setLogLevelByName(log_level)) {
    std::fprintf(stderr, "surge gateway: unknown --log-level '%s'\n", log_level.c_str());
    return 2;
  }

  gateway::GatewayConfig config;
  if (!config_path.empty()) {
    auto loaded = gateway::loadGatewayConfig(config_path);
    if (!loaded.isOk()) {
      std::fprintf(stderr, "surge gateway: %s\n", loaded.status().message().c_str());
      return 2;
    }
    config = std::move(loaded).value();
  }
  if (!listen.empty()) config.listen = listen;
  if (admin_set) config.admin.listen = (admin == "off" || admin == "none") ? "" : admin;
  if (!algorithm.empty()) config.balancer.algorithm = algorithm;
  if (!hash_header.empty()) {
    config.hash_key.kind = gateway::HashKeySource::Kind::kHeader;
    config.hash_key.name = hash_header;
  }
  if (workers > 0) config.workers = workers;
  if (retries >= 0) config.retries = retries;
  if (per_try_timeout) config.per_try_timeout = *per_try_timeout;
  if (!upstreams.empty()) {
    auto list = gateway::parseBackendList(upstreams);
    if (!list.isOk()) {
      std::fprintf(stderr, "surge gateway: --upstreams: %s\n", list.status().message().c_str());
      return 2;
    }
    config.backends = std::move(list).value();
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
  options.reuse_port = reuse_port;
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
