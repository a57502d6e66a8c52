// `surge serve`: the model server (Open Inference Protocol over HTTP, Triton's model repository
// and dynamic batching). Wiring only — serving/ does the work.
//   surge serve --model-repository DIR [--listen 0.0.0.0:8000] [--workers 2]
// Prints "surge serve listening on HOST:PORT" once listening; /v2/health/ready turns 200 after
// every model instance has loaded and warmed up. SIGTERM/SIGINT: not ready at once, requests
// already received finish, exit 0. Exit 2 on usage or configuration errors, 1 when a model fails
// to load or the address cannot be bound.
// --cache redis://[[USER]:PASSWORD@]HOST:PORT[/DB]: the shared prediction cache
// (serving/redis_cache.h).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/units.h"
#include "metrics/registry.h"
#include "runtime/builtin_backends.h"
#include "serving/model_repository.h"
#include "serving/model_server.h"
#include "serving/redis_cache.h"

#ifndef SURGE_VERSION
#define SURGE_VERSION "0.0.0"
#endif

namespace surge::cli {
namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge serve --model-repository DIR [options]\n\n"
      "Model server: Open Inference Protocol (KServe v2 / Triton) over HTTP, Triton's model\n"
      "repository layout (DIR/<model>/config.pbtxt, DIR/<model>/<version>/), dynamic batching\n"
      "and instance groups. See docs/serving.md.\n"
      "  --model-repository DIR  the model repository (required)\n"
      "  --listen HOST:PORT      HTTP listener (default 0.0.0.0:8000; port 0 = any)\n"
      "  --workers N             HTTP event-loop threads (default 2)\n"
      "  --reuse-port            share --listen with another process (hot restart); without it\n"
      "                          a port in use is an error (exit 2)\n"
      "  --metrics-port PORT     also serve /metrics on this port (same host as --listen)\n"
      "  --max-request-size SIZE larger request bodies get 413 (default 64MiB)\n"
      "  --shutdown-delay DUR    after SIGTERM: not ready but still serving for DUR before the\n"
      "                          listener closes (default 0s; e.g. 5s behind a load balancer)\n"
      "  --drain-timeout DUR     longest wait for requests in flight at shutdown (default 30s)\n"
      "  --log-level LEVEL       debug, info, warn, error (default info)\n"
      "Prediction cache (shared by every replica; Redis slow or down never fails a request):\n"
      "  --cache URL             redis://[[USER]:PASSWORD@]HOST:PORT[/DB]; identical requests\n"
      "                          are answered from Redis without inference (default: no cache;\n"
      "                          the password is never printed)\n"
      "  --cache-ttl DUR         how long a prediction stays cached (default 300s)\n"
      "  --cache-timeout DUR     Redis connect and command timeout (default 5ms)\n"
      "  --cache-workers N       threads (and connections) talking to Redis (default 4)\n"
      "  --cache-breaker-errors N    consecutive errors that stop cache use (default 5)\n"
      "  --cache-breaker-cooldown DUR  pause before one probe is let through (default 5s)\n");
}

}  // namespace

int runServe(const std::vector<std::string>& args) {
  std::string repo, listen = "0.0.0.0:8000", metrics_port, log_level;
  serving::ModelServerOptions options;
  std::string cache_url;
  serving::RedisCacheOptions cache_options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "surge serve: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--model-repository" || a == "--model-store") {
      if (!value(&repo)) return 2;
    } else if (a == "--listen") {
      if (!value(&listen)) return 2;
    } else if (a == "--metrics-port") {
      if (!value(&metrics_port)) return 2;
    } else if (a == "--log-level") {
      if (!value(&log_level)) return 2;
    } else if (a == "--reuse-port") {
      options.reuse_port = true;
    } else if (a == "--workers") {
      if (!value(&v)) return 2;
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 256) {
        std::fprintf(stderr, "surge serve: --workers wants 1..256\n");
        return 2;
      }
      options.workers = static_cast<int>(n);
    } else if (a == "--max-request-size") {
      if (!value(&v)) return 2;
      auto bytes = config::parseBytes(v);
      if (!bytes.isOk() || *bytes == 0) {
        std::fprintf(stderr, "surge serve: --max-request-size: %s\n",
                     bytes.isOk() ? "must be > 0" : bytes.status().message().c_str());
        return 2;
      }
      options.max_request_bytes = *bytes;
    } else if (a == "--shutdown-delay" || a == "--drain-timeout") {
      if (!value(&v)) return 2;
      auto d = config::parseDuration(v);
      if (!d.isOk()) {
        std::fprintf(stderr, "surge serve: %s: %s\n", a.c_str(), d.status().message().c_str());
        return 2;
      }
      (a == "--shutdown-delay" ? options.shutdown_delay : options.drain_timeout) = *d;
    } else if (a == "--cache") {
      if (!value(&cache_url)) return 2;
      auto url = serving::parseRedisUrl(cache_url);
      if (!url.isOk()) {
        std::fprintf(stderr, "surge serve: --cache: %s\n", url.status().message().c_str());
        return 2;
      }
      cache_options.url = *url;
    } else if (a == "--cache-ttl" || a == "--cache-timeout" || a == "--cache-breaker-cooldown") {
      if (!value(&v)) return 2;
      auto d = config::parseDuration(v);
      if (!d.isOk()) {
        std::fprintf(stderr, "surge serve: %s: %s\n", a.c_str(), d.status().message().c_str());
        return 2;
      }
      if (a == "--cache-ttl") {
        cache_options.ttl = *d;
      } else if (a == "--cache-timeout") {
        cache_options.connect_timeout = cache_options.command_timeout = *d;
      } else {
        cache_options.breaker.cooldown = *d;
      }
    } else if (a == "--cache-workers" || a == "--cache-breaker-errors") {
      if (!value(&v)) return 2;
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > (a == "--cache-workers" ? 64 : 1000000)) {
        std::fprintf(stderr, "surge serve: %s wants %s\n", a.c_str(),
                     a == "--cache-workers" ? "1..64" : "an integer >= 1");
        return 2;
      }
      (a == "--cache-workers" ? cache_options.workers : cache_options.breaker.failure_threshold) =
          static_cast<int>(n);
    } else {
      std::fprintf(stderr, "surge serve: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (!log_level.empty() && !setLogLevelByName(log_level)) {
    std::fprintf(stderr, "surge serve: unknown --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  if (repo.empty()) {
    std::fprintf(stderr, "surge serve: --model-repository is required\n\n");
    usage(stderr);
    return 2;
  }
  if (!cache_url.empty()) {
    if (Status s = serving::validateRedisCacheOptions(cache_options); !s.isOk()) {
      std::fprintf(stderr, "surge serve: %s\n", s.message().c_str());
      return 2;
    }
  }
  options.listen = listen;
  if (!metrics_port.empty()) {
    options.metrics_listen = listen.substr(0, listen.rfind(':')) + ":" + metrics_port;
  }
  options.install_signal_handlers = true;
  options.print_ready_line = true;
  options.server_version = SURGE_VERSION;

  runtime::BackendRegistry backends;
  runtime::registerBuiltinBackends(backends);
  auto models = serving::loadRepository(repo, backends);
  if (!models.isOk()) {
    std::fprintf(stderr, "surge serve: %s\n", models.status().message().c_str());
    return 2;
  }
  metrics::Registry registry;
  // Declared before the server: the cache must outlive it.
  std::unique_ptr<serving::RedisCache> cache;
  if (!cache_url.empty()) {
    cache = std::make_unique<serving::RedisCache>(cache_options, registry, SteadyClock::instance());
    SURGE_LOG(kInfo, "serve",
              "prediction cache " + cache_options.url.toString() + ", ttl " +
                  config::formatDuration(cache_options.ttl) + ", timeout " +
                  config::formatDuration(cache_options.command_timeout));
  }
  serving::ModelServer server(options, std::move(models).value(), backends, registry,
                              SteadyClock::instance());
  if (cache) server.setCache(cache.get());
  if (Status s = server.start(); !s.isOk()) {
    std::fprintf(stderr, "surge serve: %s\n", s.message().c_str());
    return s.code() == StatusCode::kAlreadyExists ? 2 : 1;  // address in use: a config error
  }
  return server.run();
}

}  // namespace surge::cli
