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
#include "autoscale/autoscaler.h"
#include "cli/commands.h"
#include "common/logging.h"

namespace surge::cli {
namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge autoscale --config autoscale.yaml [--dry-run] [--admin HOST:PORT|off]\n"
      "       surge autoscale explain [--input FILE]   (one HPA sync, JSON in and out)\n\n"
      "Scales a target (target.kind: local runs `surge serve` replicas behind the gateway) on\n"
      "an autoscaling/v2 HPA spec and/or a KEDA ScaledObject, with optional predictive and\n"
      "panic stages. See docs/up.md for autoscale.yaml and docs/autoscaling.md for the rules.\n"
      "  --config FILE          autoscale.yaml (required)\n"
      "  --dry-run              decide and record events, never resize the target\n"
      "  --kubeconfig FILE      target.kind kubernetes: use this kubeconfig (default: the\n"
      "                         target's kubeconfig, in-cluster config, $KUBECONFIG)\n"
      "  --gateway-metrics-url URL  the gateway's /metrics, for the requests_per_second\n"
      "                         Pods metric (kind local: <target.gateway.admin>/metrics)\n"
      "  --admin HOST:PORT|off  admin endpoint (/status, /events, /metrics; default from the\n"
      "                         config, 127.0.0.1:9902)\n"
      "  --log-level LEVEL      debug, info, warn, error (default info)\n");
}


}  // namespace

int runAutoscale(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "explain") {
    return runAutoscaleExplain(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::string config_path, admin, log_level, kubeconfig, gateway_metrics_url;
  bool dry_run = false, admin_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "surge autoscale: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--config") {
      if (!value(&config_path)) return 2;
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--kubeconfig") {
      if (!value(&kubeconfig)) return 2;
    } else if (a == "--gateway-metrics-url") {
      if (!value(&gateway_metrics_url)) return 2;
    } else if (a == "--admin") {
      if (!value(&admin)) return 2;
      admin_set = true;
    } else if (a == "--log-level") {
      if (!value(&log_level)) return 2;
      if (!setLogLevelByName(log_level)) {
        std::fprintf(stderr, "surge autoscale: unknown --log-level '%s'\n", log_level.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "surge autoscale: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "surge autoscale: --config is required\n\n");
    usage(stderr);
    return 2;
  }
  auto config = autoscale::loadAutoscaleConfig(config_path);
  if (!config.isOk()) {
    std::fprintf(stderr, "surge autoscale: %s\n", config.status().message().c_str());
    return 2;
  }
  if (admin_set) config->policy.admin_listen = (admin == "off" || admin == "none") ? "" : admin;

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  autoscale::AutoscalerRunOptions options;
  options.dry_run = dry_run;
  options.kubeconfig = kubeconfig;
  options.gateway_metrics_url = gateway_metrics_url;
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
