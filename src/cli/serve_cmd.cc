// `surge serve`: the model server (Open Inference Protocol over HTTP, Triton's model repository
// and dynamic batching). Wiring only — serving/ does the work.
//   surge serve --model-repository DIR [--listen 0.0.0.0:8000] [--workers 2]
// Prints "surge serve listening on HOST:PORT" once listening; /v2/health/ready turns 200 after
// every model instance has loaded and warmed up. SIGTERM/SIGINT: not ready at once, requests
// already received finish, exit 0. Exit 2 on usage or configuration errors, 1 when a model fails
// to load or the address cannot be bound.
#include <cstdio>
#include <cstdlib>
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
      "  --metrics-port PORT     also serve /metrics on this port (same host as --listen)\n"
      "  --max-request-size SIZE larger request bodies get 413 (default 64MiB)\n"
      "  --shutdown-delay DUR    after SIGTERM: not ready but still serving for DUR before the\n"
      "                          listener closes (default 0s; e.g. 5s behind a load balancer)\n"
      "  --drain-timeout DUR     longest wait for requests in flight at shutdown (default 30s)\n"
      "  --log-level LEVEL       debug, info, warn, error (default info)\n");
}

}  // namespace

int runServe(const std::vector<std::string>& args) {
  std::string repo, listen = "0.0.0.0:8000", metrics_port, log_level;
  serving::ModelServerOptions options;
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
    } else {
      std::fprintf(stderr, "surge serve: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (!log_level.empty()) {
    if (log_level == "debug")
      setLogLevel(LogLevel::kDebug);
    else if (log_level == "info")
      setLogLevel(LogLevel::kInfo);
    else if (log_level == "warn")
      setLogLevel(LogLevel::kWarn);
    else if (log_level == "error")
      setLogLevel(LogLevel::kError);
    else {
      std::fprintf(stderr, "surge serve: unknown --log-level '%s'\n", log_level.c_str());
      return 2;
    }
  }
  if (repo.empty()) {
    std::fprintf(stderr, "surge serve: --model-repository is required\n\n");
    usage(stderr);
    return 2;
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
  serving::ModelServer server(options, std::move(models).value(), backends, registry,
                              SteadyClock::instance());
  if (Status s = server.start(); !s.isOk()) {
    std::fprintf(stderr, "surge serve: %s\n", s.message().c_str());
    return 1;
  }
  return server.run();
}

}  // namespace surge::cli
