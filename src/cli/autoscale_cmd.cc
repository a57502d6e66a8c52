// `surge autoscale`: the autoscaler (Kubernetes HPA semantics, KEDA triggers, predictive and
// panic stages) in front of a scale target. Wiring only — autoscale/ does the work.
//   surge autoscale --config autoscale.yaml [--dry-run] [--admin HOST:PORT|off]
//   surge autoscale explain [--input FILE]      one HPA sync as JSON (autoscale_explain_cmd.cc)
// Prints "surge autoscale listening on HOST:PORT" (the admin endpoint) once running; SIGINT or
// SIGTERM stop the loop and shut the replicas down (drained in the gateway first). Exit 2 on
// usage or config errors (file:line:col and the field), 1 on runtime failures.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/app/autoscaler.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"

namespace surge::cli {
namespace {

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "autoscale",
      .synopsis = {"--config autoscale.yaml [--dry-run] [--admin HOST:PORT|off]",
                   "explain [--input FILE]   (one HPA sync, JSON in and out)"},
      .description =
          "Scales a target (target.kind: local runs `surge serve` replicas behind the gateway) on\n"
          "an autoscaling/v2 HPA spec and/or a KEDA ScaledObject, with optional predictive and\n"
          "panic stages. See docs/up.md for autoscale.yaml and docs/autoscaling.md for the "
          "rules.\n",
      .flags =
          {
              {.name = "--config",
               .value_name = "FILE",
               .help = "autoscale.yaml",
               .required = true},
              {.name = "--dry-run",
               .help = "decide and record events, never resize the target",
               .type = FlagType::kBool},
              {.name = "--kubeconfig",
               .value_name = "FILE",
               .help = "target.kind kubernetes: use this kubeconfig (default: the target's "
                       "kubeconfig, in-cluster config, $KUBECONFIG)"},
              {.name = "--gateway-metrics-url",
               .value_name = "URL",
               .help = "the gateway's /metrics, for the requests_per_second Pods metric (kind "
                       "local: <target.gateway.admin>/metrics)"},
              {.name = "--admin",
               .value_name = "HOST:PORT|off",
               .help = "admin endpoint (/status, /events, /metrics; default from the config, "
                       "127.0.0.1:9902)"},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold",
               .default_value = "info",
               .choices = {"debug", "info", "warn", "error"}},
              logFormatFlag(),
          },
      .subcommands = {{"explain",
                       "dry run of one Kubernetes HPA sync: JSON in (stdin or --input), the "
                       "decision and why out"}},
  };
  return spec;
}

}  // namespace

int runAutoscale(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "explain") {
    return runAutoscaleExplain(std::vector<std::string>(argv.begin() + 1, argv.end()));
  }
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  if (args->has("--log-level")) setLogLevelByName(args->str("--log-level"));
  const std::string config_path = args->str("--config");
  const bool dry_run = args->boolean("--dry-run");
  if (config_path.empty()) return usageError(spec(), "--config FILE is required");
  const std::string& admin = args->str("--admin");
  const bool admin_off = admin == "off" || admin == "none";
  if (args->has("--admin") && !admin_off) {
    if (Status s = checkHostPort("--admin", admin, true); !s.isOk()) {
      return usageError(spec(), s.message() + " (or off)");
    }
  }
  auto config = autoscale::loadAutoscaleConfig(config_path);
  if (!config.isOk()) {
    std::fprintf(stderr, "surge autoscale: %s\n", config.status().message().c_str());
    return 2;
  }
  if (args->has("--admin")) config->policy.admin_listen = admin_off ? "" : admin;

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  autoscale::AutoscalerRunOptions options;
  options.dry_run = dry_run;
  options.kubeconfig = args->str("--kubeconfig");
  options.gateway_metrics_url = args->str("--gateway-metrics-url");
  auto scaler = autoscale::Autoscaler::create(*config, options);
  if (!scaler.isOk()) {
    std::fprintf(stderr, "surge autoscale: %s\n", scaler.status().message().c_str());
    return 2;
  }
  if (Status s = (*scaler)->start(); !s.isOk()) {
    std::fprintf(stderr, "surge autoscale: %s\n", s.message().c_str());
    (*scaler)->stop();
    return s.code() == StatusCode::kAlreadyExists ? 2 : 1;  // address in use: a config error
  }
  if ((*scaler)->adminPort() != 0) {
    const std::string& listen = config->policy.admin_listen;
    std::printf("surge autoscale listening on %s:%u%s\n",
                listen.substr(0, listen.rfind(':')).c_str(), (*scaler)->adminPort(),
                dry_run ? " (dry run)" : "");
  } else {
    std::printf("surge autoscale running (no admin endpoint)%s\n", dry_run ? " (dry run)" : "");
  }
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  SURGE_LOG(kInfo, "autoscale", std::string("signal ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                    ": stopping");
  (*scaler)->stop();
  return 0;
}

}  // namespace surge::cli
