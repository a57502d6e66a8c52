// LocalTargetConfig: the `target:` block of autoscale.yaml for `kind: local` — how the local
// actuator (local_actuator.h) runs `surge serve` replicas as child processes and registers them
// with the gateway's admin API. Validated once, here; the actuator trusts it.
//
//   target:
//     kind: local
//     command: /usr/bin/surge           # default: this surge binary (/proc/self/exe)
//     args: [serve, --model-repository, "{repo}", --listen, "127.0.0.1:0",
//            --grpc-listen, "127.0.0.1:0"]                                   # the default
//     model_repository: models/         # {repo}; must be a directory
//     resources: {requests: {cpu: 500m, memory: 256Mi}}   # reported in PodInfo.requests_milli
//     env: {OMP_NUM_THREADS: "1"}       # added to the inherited environment
//     gateway: {admin: http://127.0.0.1:9901, token: s3cret, weight: 100, zone: ""}
//     min_replicas: 2                   # safety floor, applied on top of the HPA's minReplicas
//     max_replicas: 32                  # safety ceiling for one machine
//     slow_start: 0s                    # >0: the actuator ramps the weight via PATCH over it
//     ready_timeout: 60s                # not ready this long after start → killed and replaced
//     unready_timeout: 30s              # ready, then failing probes this long → replaced
//     drain_timeout: 30s                # wait for the gateway to drain it before SIGTERM
//     termination_grace_period: 30s     # SIGTERM → SIGKILL
//     probe: {path: /v2/health/ready, period: 250ms, timeout: 1s, failure_threshold: 3}
//     crash_backoff: {initial: 1s, max: 60s, reset_after: 60s}
//     run_dir: /tmp/surge-local-<pid>   # replica logs: <run_dir>/<name>.log
//     name_prefix: replica
// Placeholders in args and env values: {repo}, {name}, {index}, {run_dir}.
// Errors name file:line:col and the field; unknown keys get a did-you-mean.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/node.h"

namespace surge::autoscale {

struct LocalTargetConfig {
  std::string command;             // absolute path, or a name looked up in PATH
  std::vector<std::string> args;   // template, without argv[0]
  std::string model_repository;    // as written ({repo})
  std::map<std::string, int64_t> requests_milli;  // "cpu", "memory" (absent = not set)
  std::map<std::string, std::string> env;

  // Gateway admin API.
  std::string gateway_admin = "http://127.0.0.1:9901";
  std::string gateway_token;  // "" = no Authorization header
  int32_t weight = 100;       // 1..10000; every replica gets the same weight
  std::string zone;

  int32_t min_replicas = 2;   // floor on top of setScale (no single point of failure)
  int32_t max_replicas = 32;  // ceiling for one machine

  Duration slow_start{0};
  Duration ready_timeout = std::chrono::seconds(60);
  Duration unready_timeout = std::chrono::seconds(30);
  Duration drain_timeout = std::chrono::seconds(30);
  Duration termination_grace_period = std::chrono::seconds(30);

  std::string probe_path = "/v2/health/ready";
  Duration probe_period = std::chrono::milliseconds(250);
  Duration probe_timeout = std::chrono::seconds(1);
  int32_t failure_threshold = 3;

  Duration backoff_initial = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::seconds(60);
  Duration backoff_reset_after = std::chrono::seconds(60);

  std::string run_dir;  // "" = /tmp/surge-local-<pid>, created by the actuator
  std::string name_prefix = "replica";
};

// The default args template: serve --model-repository {repo} --listen 127.0.0.1:0.
std::vector<std::string> defaultLocalArgs();

// Parses `target` (a map with kind: local). The command defaults to this executable
// (readlink /proc/self/exe); model_repository is required unless the args template does not use
// {repo}, and must name an existing directory.
StatusOr<LocalTargetConfig> parseLocalTarget(const config::Node& target);

// Replaces {repo}, {name}, {index}, {run_dir} in `text`; "{{" and "}}" stand for braces.
// Unknown placeholders are left as written (parseLocalTarget rejects them up front).
std::string expandLocalTemplate(const std::string& text, const std::string& repo,
                                const std::string& name, int64_t index,
                                const std::string& run_dir);

}  // namespace surge::autoscale
