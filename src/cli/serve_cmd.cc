// `surge serve`: the model server (Open Inference Protocol over HTTP, Triton's model repository
// and dynamic batching). Wiring only — serving/ does the work.
//   surge serve --model-repository DIR [--listen 0.0.0.0:8000] [--workers 2]
// Prints "surge serve listening on HOST:PORT" once listening (and "surge serve gRPC listening on
// HOST:PORT" for the gRPC endpoint, --grpc-listen, default 0.0.0.0:8001, 'off' for none); /v2/health/ready turns 200 after
// every model instance has loaded and warmed up. SIGTERM/SIGINT: not ready at once, requests
// already received finish, exit 0. Exit 2 on usage or configuration errors, 1 when a model fails
// to load or the address cannot be bound.
// --cache redis://[[USER]:PASSWORD@]HOST:PORT[/DB]: the shared prediction cache
// (serving/redis_cache.h).
// --model-control-mode none|poll|explicit, --load-model NAME..., --repository-poll-secs N:
// Triton's model control (serving/model_control.h); explicit mode scans only the --load-model
// models at start.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/units.h"
#include "metrics/registry.h"
#include "runtime/builtin_backends.h"
#include "serving/model_manager.h"
#include "serving/model_repository.h"
#include "serving/model_server.h"
#include "serving/redis_cache.h"

#ifndef SURGE_VERSION
#define SURGE_VERSION "0.0.0"
#endif

namespace surge::cli {
namespace {

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "serve",
      .synopsis = {"--model-repository DIR [options]"},
      .description =
          "Model server: Open Inference Protocol (KServe v2 / Triton) over HTTP and gRPC, Triton's\n"
          "model repository layout (DIR/<model>/config.pbtxt, DIR/<model>/<version>/), dynamic\n"
          "batching and instance groups. See docs/serving.md.\n",
      .flags =
          {
              {.name = "--model-repository",
               .value_name = "DIR",
               .help = "the model repository",
               .required = true,
               .aliases = {"--model-store"}},
              {.name = "--listen",
               .value_name = "HOST:PORT",
               .help = "HTTP listener (port 0 = any)",
               .default_value = "0.0.0.0:8000"},
              {.name = "--grpc-listen",
               .value_name = "HOST:PORT",
               .help = "gRPC listener, Triton's inference.GRPCInferenceService (port 0 = any; "
                       "'off' = no gRPC endpoint)",
               .default_value = "0.0.0.0:8001"},
              {.name = "--workers",
               .value_name = "N",
               .help = "HTTP event-loop threads (default 2)",
               .type = FlagType::kInt,
               .min = 1,
               .max = 256},
              {.name = "--reuse-port",
               .help = "share --listen with another process (hot restart); without it a port in "
                       "use is an error (exit 2)",
               .type = FlagType::kBool},
              {.name = "--metrics-port",
               .value_name = "PORT",
               .help = "also serve /metrics on this port (same host as --listen)",
               .type = FlagType::kInt,
               .min = 0,
               .max = 65535},
              {.name = "--max-request-size",
               .value_name = "SIZE",
               .help = "larger request bodies get 413 (default 64MiB)"},
              {.name = "--shutdown-delay",
               .value_name = "DUR",
               .help = "after SIGTERM: not ready but still serving for DUR before the listener "
                       "closes (default 0s; e.g. 5s behind a load balancer)",
               .type = FlagType::kDuration},
              {.name = "--drain-timeout",
               .value_name = "DUR",
               .help = "longest wait for requests in flight at shutdown (default 30s)",
               .type = FlagType::kDuration},
              section("Model control (Triton's; see docs/serving.md, \"Model control\"):"),
              {.name = "--model-control-mode",
               .value_name = "MODE",
               .help = "none: the models loaded at start are final; explicit: load/unload "
                       "through POST /v2/repository/models/{m}/load|unload; poll: rescan the "
                       "repository every --repository-poll-secs",
               .default_value = "none",
               .choices = {"none", "poll", "explicit"}},
              {.name = "--load-model",
               .value_name = "NAME",
               .help = "explicit mode: a model to load at start (repeatable; '*' = all, alone); "
                       "without it none is loaded",
               .repeatable = true},
              {.name = "--repository-poll-secs",
               .value_name = "N",
               .help = "poll mode: seconds between rescans of the repository (default 15; "
                       "ignored in the other modes, as Triton does)",
               .type = FlagType::kInt,
               .min = 0,
               .max = 86400},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold",
               .default_value = "info",
               .choices = {"debug", "info", "warn", "error"}},
              logFormatFlag(),
              section("Prediction cache (shared by every replica; Redis slow or down never fails "
                      "a request):"),
              {.name = "--cache",
               .value_name = "URL",
               .help = "redis://[[USER]:PASSWORD@]HOST:PORT[/DB]; identical requests are "
                       "answered from Redis without inference (default: no cache; the password "
                       "is never printed)"},
              {.name = "--cache-ttl",
               .value_name = "DUR",
               .help = "how long a prediction stays cached (default 300s)",
               .type = FlagType::kDuration},
              {.name = "--cache-timeout",
               .value_name = "DUR",
               .help = "Redis connect and command timeout (default 5ms)",
               .type = FlagType::kDuration},
              {.name = "--cache-workers",
               .value_name = "N",
               .help = "threads (and connections) talking to Redis (default 4)",
               .type = FlagType::kInt,
               .min = 1,
               .max = 64},
              {.name = "--cache-breaker-errors",
               .value_name = "N",
               .help = "consecutive errors that stop cache use (default 5)",
               .type = FlagType::kInt,
               .min = 1,
               .max = 1000000},
              {.name = "--cache-breaker-cooldown",
               .value_name = "DUR",
               .help = "pause before one probe is let through (default 5s)",
               .type = FlagType::kDuration},
          },
  };
  return spec;
}

}  // namespace

int runServe(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  const std::string repo = args->str("--model-repository");
  const std::string listen = args->str("--listen");
  const std::string metrics_port = args->str("--metrics-port");
  if (Status s = checkHostPort("--listen", listen, true); !s.isOk()) {
    return usageError(spec(), s.message());
  }
  const std::string grpc_listen = args->str("--grpc-listen");
  if (grpc_listen != "off") {
    if (Status s = checkHostPort("--grpc-listen", grpc_listen, true); !s.isOk()) {
      return usageError(spec(), s.message() + " (or 'off')");
    }
  }
  serving::ModelServerOptions options;
  options.reuse_port = args->boolean("--reuse-port");
  if (args->has("--workers")) options.workers = static_cast<int>(args->integer("--workers"));
  if (args->has("--max-request-size")) {
    auto bytes = config::parseBytes(args->str("--max-request-size"));
    if (!bytes.isOk() || *bytes == 0) {
      return usageError(spec(), "--max-request-size: " + (bytes.isOk() ? std::string("must be > 0")
                                                                       : bytes.status().message()));
    }
    options.max_request_bytes = *bytes;
  }
  if (args->has("--shutdown-delay")) options.shutdown_delay = args->duration("--shutdown-delay");
  if (args->has("--drain-timeout")) options.drain_timeout = args->duration("--drain-timeout");
  auto control_mode = serving::parseModelControlMode(args->str("--model-control-mode"));
  if (!control_mode.isOk()) return usageError(spec(), control_mode.status().message());
  options.control.mode = *control_mode;
  options.control.drain_timeout = options.drain_timeout;
  // Each model once, in the order first named (--load-model a --load-model a serves a once).
  std::vector<std::string> load_models;
  for (const auto& name : args->all("--load-model")) {
    if (std::find(load_models.begin(), load_models.end(), name) == load_models.end()) {
      load_models.push_back(name);
    }
  }
  if (!load_models.empty() && *control_mode != serving::ModelControlMode::kExplicit) {
    return usageError(spec(), "--load-model needs --model-control-mode explicit");
  }
  if (load_models.size() > 1 &&
      std::find(load_models.begin(), load_models.end(), "*") != load_models.end()) {
    return usageError(spec(), "--load-model '*' must be the only --load-model");
  }
  if (args->has("--repository-poll-secs")) {
    int64_t secs = args->integer("--repository-poll-secs");
    if (secs == 0 && *control_mode == serving::ModelControlMode::kPoll) {
      return usageError(spec(), "--model-control-mode poll needs --repository-poll-secs > 0");
    }
    options.control.poll_interval = std::chrono::seconds(secs);
  }
  const std::string cache_url = args->str("--cache");
  serving::RedisCacheOptions cache_options;
  if (args->has("--cache")) {
    auto url = serving::parseRedisUrl(cache_url);
    if (!url.isOk()) return usageError(spec(), "--cache: " + url.status().message());
    cache_options.url = *url;
  }
  if (args->has("--cache-ttl")) cache_options.ttl = args->duration("--cache-ttl");
  if (args->has("--cache-timeout")) {
    cache_options.connect_timeout = cache_options.command_timeout =
        args->duration("--cache-timeout");
  }
  if (args->has("--cache-breaker-cooldown")) {
    cache_options.breaker.cooldown = args->duration("--cache-breaker-cooldown");
  }
  if (args->has("--cache-workers")) {
    cache_options.workers = static_cast<int>(args->integer("--cache-workers"));
  }
  if (args->has("--cache-breaker-errors")) {
    cache_options.breaker.failure_threshold =
        static_cast<int>(args->integer("--cache-breaker-errors"));
  }
  if (args->has("--log-level")) setLogLevelByName(args->str("--log-level"));
  if (repo.empty()) return usageError(spec(), "--model-repository DIR is required");
  if (!cache_url.empty()) {
    // Every option it checks comes from a flag (--cache, --cache-ttl, ...): a usage error.
    if (Status s = serving::validateRedisCacheOptions(cache_options); !s.isOk()) {
      return usageError(spec(), s.message());
    }
  }
  options.listen = listen;
  if (grpc_listen != "off") options.grpc_listen = grpc_listen;
  if (!metrics_port.empty()) {
    options.metrics_listen = listen.substr(0, listen.rfind(':')) + ":" + metrics_port;
  }
  options.install_signal_handlers = true;
  options.print_ready_line = true;
  options.server_version = SURGE_VERSION;

  runtime::BackendRegistry backends;
  runtime::registerBuiltinBackends(backends);
  options.control.repository = repo;
  // Explicit mode loads only the --load-model models at start (any of them broken: exit, as
  // Triton's --exit-on-error default); the others load on request. Poll mode starts with what
  // loads (even nothing): folders still being written or broken are UNAVAILABLE in the index and
  // load once fixed. None mode serves the whole repository or nothing (fails fast).
  auto models = *control_mode == serving::ModelControlMode::kExplicit
                    ? serving::loadRepositoryModels(repo, load_models, backends)
                : *control_mode == serving::ModelControlMode::kPoll
                    ? serving::loadRepositoryValid(repo, backends)
                    : serving::loadRepository(repo, backends);
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
  int rc = server.run();
  if (serving::reapersRunning() > 0) {
    // A model version is still inside its backend's load (abandoned at shutdown): its reaper
    // would free it after the backends and the registry it refers to are gone. Every request
    // was answered; leave without running destructors.
    SURGE_LOG(kWarn, "serve", "exiting while a model version is still loading in its backend");
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  return rc;
}

}  // namespace surge::cli
