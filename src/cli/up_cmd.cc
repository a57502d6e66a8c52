// `surge up`: the whole stack on one machine, in the foreground (what `make up` runs).
//   - the gateway, in this process: clients on --listen (0.0.0.0:8080), admin on --admin
//     (127.0.0.1:9901);
//   - the autoscaler, in this process, with the local actuator: `surge serve` replicas of the
//     demo model (two at first), joined to the gateway when ready, drained before they stop;
//     its admin endpoint (/status, /events, /metrics) on --autoscaler-admin (127.0.0.1:9902);
//   - the demo model repository, created on first run under $XDG_STATE_HOME/surge/up (or
//     ~/.local/state/surge/up): the TorchScript MLP of `surge model demo` when libtorch is built
//     in, else (or with --synthetic) a synthetic model with the same name and shapes.
// A live status line on a TTY (RPS, p99, replicas, last scaling event), plain lines otherwise.
// Prints "surge up ready: listening on A (admin B, autoscaler C)" once the first replicas serve
// through the gateway (until then the gateway answers 503 with Retry-After; a bounded wait, see
// --ready-timeout). SIGINT/SIGTERM: stop the autoscaler (replicas drained, then SIGTERM), then
// the gateway. Replica logs live in a temporary directory removed on exit (kept, and printed,
// when a replica failed), or in --run-dir.
// --min-replicas 0 (or a --config ScaledObject with minReplicaCount 0): scale to zero — the
// gateway's activator holds requests while no replica is ready and wakes the autoscaler, whose
// KEDA step starts the first replica; idle for --scale-to-zero-after, the model goes back to 0
// (docs/up.md, "Scale to zero"; docs/design/activator.md).
// Wiring only. Exit 2 on usage/config errors, 1 on runtime failures.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/app/autoscaler.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/node.h"
#include "config/units.h"
#include "gateway/cluster.h"
#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "metrics/registry.h"
#include "metrics/text_parser.h"
#ifdef SURGE_HAVE_TORCH
#include "runtime/torch/demo_model.h"
#endif

namespace surge::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDemoModel = "mlp";

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "up",
      .synopsis = {"[options]"},
      .description =
          "The whole stack on this machine: the gateway, the autoscaler with local `surge serve`\n"
          "replicas of a demo model (2 at first), and a live status line. Ctrl-C stops "
          "everything.\n"
          "See docs/up.md.\n",
      .flags =
          {
              {.name = "--config",
               .value_name = "FILE",
               .help = "autoscale.yaml: your scaling policy (hpa / scaled_object, predictive, "
                       "panic...; its `target` is replaced by surge up's)"},
              {.name = "--model-repository",
               .value_name = "DIR",
               .help = "serve your models instead of the demo model"},
              {.name = "--synthetic",
               .help = "use the synthetic demo model even when libtorch is built in",
               .type = FlagType::kBool},
              {.name = "--synthetic-latency",
               .value_name = "DUR",
               .help = "the synthetic model's time per batch, plus 0.1 ms per row",
               .type = FlagType::kDuration,
               .default_value = "5ms",
               .min = 0.0001,
               .max = 60},
              {.name = "--synthetic-max-batch",
               .value_name = "N",
               .help = "rows the synthetic model batches at most (1: one request at a time)",
               .type = FlagType::kInt,
               .default_value = "64",
               .min = 1,
               .max = 4096},
              {.name = "--listen",
               .value_name = "HOST:PORT",
               .help = "gateway clients",
               .default_value = "0.0.0.0:8080"},
              {.name = "--admin",
               .value_name = "HOST:PORT",
               .help = "gateway admin API and its stats page at /",
               .default_value = "127.0.0.1:9901"},
              {.name = "--autoscaler-admin",
               .value_name = "H:P|off",
               .help = "autoscaler dashboard at /, /status, /events, /metrics",
               .default_value = "127.0.0.1:9902"},
              {.name = "--sync-period",
               .value_name = "DUR",
               .help = "autoscaler sync period (default 5s; overrides --config's)",
               .type = FlagType::kDuration,
               .min = 0.1},
              // The gateway's per-try timeout (docs/design/gateway.md, "Per-try timeout"): 2 s is
              // far above what the demo model takes even queued, and bounds what a hung replica
              // costs a request.
              {.name = "--per-try-timeout",
               .value_name = "DUR",
               .help = "a replica that sends no response head within DUR is abandoned, counted "
                       "as failed and the request retried on another (0 = off, for inferences "
                       "that are long)",
               .type = FlagType::kDuration,
               .default_value = "2s"},
              {.name = "--min-replicas",
               .value_name = "N",
               .help = "replicas at least; 0 = scale to zero when idle: requests wait in the "
                       "gateway while the first replica starts",
               .type = FlagType::kInt,
               .default_value = "2",
               .min = 0,
               .max = 1000},
              {.name = "--scale-to-zero-after",
               .value_name = "DUR",
               .help = "with --min-replicas 0: idle this long (no request) → 0 replicas "
                       "(KEDA's cooldownPeriod)",
               .type = FlagType::kDuration,
               .default_value = "30s",
               .min = 1},
              {.name = "--hold-queue",
               .value_name = "N",
               .help = "with scale to zero: requests the gateway holds at most while no replica "
                       "is ready; more get 503 with Retry-After",
               .type = FlagType::kInt,
               .default_value = "1000",
               .min = 1,
               .max = 1000000},
              {.name = "--hold-timeout",
               .value_name = "DUR",
               .help = "with scale to zero: a held request waits this long at most (then 503)",
               .type = FlagType::kDuration,
               .default_value = "60s",
               .min = 0.001},
              {.name = "--max-replicas",
               .value_name = "N",
               .help = "replicas at most (default 8; with --config: the HPA's)",
               .type = FlagType::kInt,
               .default_value = "8",
               .min = 2,
               .max = 1000},
              {.name = "--state-dir",
               .value_name = "DIR",
               .help = "demo model and history (default $XDG_STATE_HOME/surge/up)"},
              {.name = "--run-dir",
               .value_name = "DIR",
               .help = "replica logs here, kept on exit (default: a temporary directory, removed "
                       "on exit unless a replica failed)"},
              {.name = "--ready-timeout",
               .value_name = "DUR",
               .help = "the first replicas must serve through the gateway within DUR, else "
                       "surge up stops with an error naming the replica log",
               .type = FlagType::kDuration,
               .default_value = "90s",
               .min = 1},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold (default: warn on a TTY, else info)",
               .choices = {"debug", "info", "warn", "error"}},
              logFormatFlag(),
          },
  };
  return spec;
}

std::string defaultStateDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) {
    return (fs::path(x) / "surge" / "up").string();
  }
  if (const char* h = std::getenv("HOME"); h && *h) {
    return (fs::path(h) / ".local" / "state" / "surge" / "up").string();
  }
  return ".surge/up";
}

// The synthetic demo model: how long a batch takes and how many rows it batches.
struct SyntheticModel {
  int64_t base_latency_us = 5000;
  int64_t max_batch = 64;
};

// A synthetic model with the demo MLP's name and shapes: base latency per batch (5 ms) plus
// 0.1 ms per row, batched dynamically (64 rows at most) — it costs time, not CPU, so many replicas
// fit on a small machine. One instance: a replica runs one batch at a time.
std::string syntheticDemoConfig(const SyntheticModel& m) {
  return std::string("name: \"") + kDemoModel +
         "\"\n"
         "backend: \"synthetic\"\n"
         "max_batch_size: " + std::to_string(m.max_batch) + "\n"
         "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 512 ] } ]\n"
         "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 16 ] } ]\n"
         "dynamic_batching { max_queue_delay_microseconds: " +
         (m.max_batch > 1 ? "2000" : "0") +
         " }\n"
         "parameters { key: \"base_latency_us\" value { string_value: \"" +
         std::to_string(m.base_latency_us) +
         "\" } }\n"
         "parameters { key: \"per_item_latency_us\" value { string_value: \"100\" } }\n";
}

// Creates the demo repository under state_dir (the torch model on first run; the synthetic one's
// config each run, as the flags say); returns its path.
StatusOr<std::string> ensureDemoRepository(const std::string& state_dir, bool synthetic,
                                           const SyntheticModel& synthetic_model) {
  const fs::path repo = fs::path(state_dir) / (synthetic ? "models-synthetic" : "models-torch");
  const fs::path model = repo / kDemoModel;
  std::error_code ec;
  if (!synthetic && fs::exists(model / "config.pbtxt", ec)) return repo.string();
  fs::create_directories(model / "1", ec);
  if (ec) return internalError("cannot create " + (model / "1").string() + ": " + ec.message());
  if (synthetic) {
    std::ofstream out(model / "config.pbtxt");
    out << syntheticDemoConfig(synthetic_model);
    if (!out) return internalError("cannot write " + (model / "config.pbtxt").string());
    return repo.string();
  }
#ifdef SURGE_HAVE_TORCH
  runtime::DemoModelOptions options;
  options.name = kDemoModel;
  RETURN_IF_ERROR(runtime::writeDemoModel(repo.string(), options));
  return repo.string();
#else
  return internalError("libtorch is not built in");
#endif
}

// The first model directory of a repository (for the printed examples).
std::string firstModel(const std::string& repo) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(repo, ec)) {
    if (e.is_directory() && fs::exists(e.path() / "config.pbtxt")) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names.empty() ? kDemoModel : names.front();
}

// The scale-to-zero policy: a KEDA ScaledObject with minReplicaCount 0 and one surge-gateway
// trigger (the gateway's request rate plus its held requests; 50 rps per replica, active above
// 0): the first held request activates it, `cooldown` without a request deactivates it.
std::string zeroPolicyYaml(int max_replicas, Duration cooldown, const std::string& gw_admin_url) {
  const auto secs = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(cooldown).count());
  return "scaled_object:\n"
         "  metadata: {name: surge-up}\n"
         "  spec:\n"
         "    scaleTargetRef: {name: surge-up}\n"
         "    minReplicaCount: 0\n"
         "    maxReplicaCount: " +
         std::to_string(max_replicas) +
         "\n"
         "    cooldownPeriod: " +
         std::to_string(secs) +
         "\n"
         "    triggers:\n"
         "      - type: surge-gateway\n"
         "        metadata: {serverAddress: \"" +
         gw_admin_url +
         "\", threshold: \"50\", activationThreshold: \"0\"}\n"
         "    advanced:\n"
         "      horizontalPodAutoscalerConfig:\n"
         "        behavior:\n"
         "          scaleUp: {stabilizationWindowSeconds: 0}\n"
         "          scaleDown:\n"
         "            stabilizationWindowSeconds: 30\n"
         "            policies: [{type: Percent, value: 50, periodSeconds: 15}]\n";
}

// The default policy: requests_per_second per replica, a 30 s scale-down window.
std::string defaultPolicyYaml(int min_replicas, int max_replicas) {
  return "hpa:\n"
         "  apiVersion: autoscaling/v2\n"
         "  kind: HorizontalPodAutoscaler\n"
         "  metadata: {name: surge-up}\n"
         "  spec:\n"
         "    minReplicas: " +
         std::to_string(std::max(min_replicas, 1)) +
         "\n"
         "    maxReplicas: " +
         std::to_string(max_replicas) +
         "\n"
         "    metrics:\n"
         "      - type: Pods\n"
         "        pods:\n"
         "          metric: {name: requests_per_second}\n"
         "          target: {type: AverageValue, averageValue: \"50\"}\n"
         "    behavior:\n"
         "      scaleUp: {stabilizationWindowSeconds: 0}\n"
         "      scaleDown:\n"
         "        stabilizationWindowSeconds: 30\n"
         "        policies: [{type: Percent, value: 50, periodSeconds: 15}]\n";
}

std::string hostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

std::string clientHost(const std::string& listen) {
  std::string h = hostOf(listen);
  return (h == "0.0.0.0" || h == "::" || h == "[::]" || h.empty()) ? "127.0.0.1" : h;
}

// RPS and p99 of the gateway between two reads of its registry.
class TrafficMeter {
 public:
  explicit TrafficMeter(const metrics::Registry& registry) : registry_(registry) {}
  void sample(TimePoint now, double* rps, std::optional<double>* p99) {
    auto page = metrics::parseText(registry_.render());
    if (!page.isOk()) return;
    const double total = page->sum("surge_gateway_requests_total");
    std::map<double, double> buckets;
    for (const auto* s : page->find("surge_gateway_request_duration_seconds_bucket")) {
      const std::string* le = s->label("le");
      if (!le) continue;
      const double bound = *le == "+Inf" ? INFINITY : std::strtod(le->c_str(), nullptr);
      buckets[bound] += s->value;
    }
    if (have_last_) {
      const double dt = toSeconds(now - last_time_);
      *rps = dt > 0 ? (total - last_total_) / dt : 0;
      std::vector<std::pair<double, double>> delta;
      for (const auto& [bound, count] : buckets) {
        delta.emplace_back(bound, count - last_buckets_[bound]);
      }
      *p99 = metrics::histogramQuantile(0.99, delta);
    }
    have_last_ = true;
    last_time_ = now;
    last_total_ = total;
    last_buckets_ = std::move(buckets);
  }

 private:
  const metrics::Registry& registry_;
  bool have_last_ = false;
  TimePoint last_time_{};
  double last_total_ = 0;
  std::map<double, double> last_buckets_;
};

std::string clockTime(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

// ---- the steps of runUp: parse → build config → start gateway → start replicas/controller →
// status loop → shutdown. Each step prints its own error and yields the exit code on failure.

// What the command line asks for.
struct UpOptions {
  std::string config_path, repo, listen, admin, scaler_admin, state_dir, run_dir;
  std::optional<Duration> sync_period;
  Duration per_try_timeout{};
  Duration ready_timeout{};
  Duration scale_to_zero_after{};
  Duration hold_timeout{};
  int64_t hold_queue = 0;
  int min_replicas = 2;
  bool zero = false;  // scale to zero (--min-replicas 0, or --config's minReplicaCount 0)
  int max_replicas = 0;
  bool synthetic = false;
  SyntheticModel synthetic_model;
  bool log_level_set = false;
};

std::optional<UpOptions> parseUpOptions(const std::vector<std::string>& argv, int* exit_code) {
  auto args = parseOrExit(spec(), argv, exit_code);
  if (!args) return std::nullopt;
  UpOptions o;
  o.config_path = args->str("--config");
  o.repo = args->str("--model-repository");
  o.synthetic = args->boolean("--synthetic");
  for (const char* flag : {"--synthetic-latency", "--synthetic-max-batch"}) {
    if (args->has(flag) && !o.synthetic) {
      *exit_code = usageError(spec(), std::string(flag) + " shapes the synthetic demo model: "
                                                          "give --synthetic too");
      return std::nullopt;
    }
  }
  o.synthetic_model.base_latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(args->duration("--synthetic-latency"))
          .count();
  o.synthetic_model.max_batch = args->integer("--synthetic-max-batch");
  o.listen = args->str("--listen");
  o.admin = args->str("--admin");
  o.scaler_admin = args->str("--autoscaler-admin");
  if (o.scaler_admin == "off" || o.scaler_admin == "none") o.scaler_admin.clear();
  o.state_dir = args->str("--state-dir");
  o.run_dir = args->str("--run-dir");
  o.ready_timeout = args->duration("--ready-timeout");
  if (args->has("--sync-period")) o.sync_period = args->duration("--sync-period");
  o.per_try_timeout = args->duration("--per-try-timeout");
  if ((o.per_try_timeout != Duration::zero() && o.per_try_timeout < std::chrono::milliseconds(1)) ||
      o.per_try_timeout > std::chrono::seconds(60)) {
    *exit_code = usageError(spec(),
                            "--per-try-timeout wants 0 (off) or a duration in 1ms..60s, "
                            "found '" +
                                args->str("--per-try-timeout") + "'");
    return std::nullopt;
  }
  o.max_replicas = static_cast<int>(args->integer("--max-replicas"));
  o.min_replicas = static_cast<int>(args->integer("--min-replicas"));
  o.scale_to_zero_after = args->duration("--scale-to-zero-after");
  o.hold_queue = args->integer("--hold-queue");
  o.hold_timeout = args->duration("--hold-timeout");
  if (o.min_replicas > o.max_replicas) {
    *exit_code = usageError(spec(), "--min-replicas (" + std::to_string(o.min_replicas) +
                                        ") must not exceed --max-replicas (" +
                                        std::to_string(o.max_replicas) + ")");
    return std::nullopt;
  }
  o.log_level_set = args->has("--log-level");
  if (o.log_level_set) setLogLevelByName(args->str("--log-level"));
  // Flag values: the error line names the flag and the value, then the hint.
  for (const auto& [flag, addr] :
       {std::pair<const char*, const std::string*>{"--listen", &o.listen},
        {"--admin", &o.admin},
        {"--autoscaler-admin", &o.scaler_admin}}) {
    if (addr == &o.scaler_admin && addr->empty()) continue;  // off
    if (Status s = checkHostPort(flag, *addr, true); !s.isOk()) {
      *exit_code = usageError(spec(), s.message() + (addr == &o.scaler_admin ? " (or off)" : ""));
      return std::nullopt;
    }
  }
  if (std::error_code ec; !o.run_dir.empty() && fs::exists(o.run_dir, ec) &&
                          !fs::is_directory(o.run_dir, ec)) {
    *exit_code = usageError(spec(), "--run-dir: '" + o.run_dir + "' is not a directory");
    return std::nullopt;
  }
  if (!o.repo.empty() && !fs::is_directory(o.repo)) {
    *exit_code = usageError(spec(), "--model-repository: '" + o.repo + "' is not a directory");
    return std::nullopt;
  }
  return o;
}

// The scaling policy: --config's, or the default one; `target` is surge up's own.
std::optional<autoscale::AutoscalePolicy> buildPolicy(const UpOptions& o, int* exit_code) {
  *exit_code = 2;
  StatusOr<config::Node> root =
      o.config_path.empty()
          ? config::Node::loadString(defaultPolicyYaml(o.min_replicas, o.max_replicas), "surge-up")
          : config::Node::loadFile(o.config_path);
  if (!root.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", root.status().message().c_str());
    return std::nullopt;
  }
  auto parsed = autoscale::parseAutoscalePolicy(*root);
  if (!parsed.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", parsed.status().message().c_str());
    return std::nullopt;
  }
  autoscale::AutoscalePolicy policy = std::move(parsed).value();
  if (!o.config_path.empty() && root->has("target")) {
    std::fprintf(stderr,
                 "surge up: note: %s: `target` is ignored (surge up runs local replicas of "
                 "--model-repository behind its own gateway)\n",
                 root->location().c_str());
  }
  if (o.config_path.empty()) policy.sync_period = std::chrono::seconds(5);
  if (o.sync_period) policy.sync_period = *o.sync_period;
  policy.admin_listen = o.scaler_admin;
  return policy;
}

// --min-replicas 0 without --config: the scale-to-zero policy, once the gateway's admin URL is
// known (its trigger reads the gateway). Keeps buildPolicy's sync period and admin.
std::optional<autoscale::AutoscalePolicy> buildZeroPolicy(const UpOptions& o,
                                                          const autoscale::AutoscalePolicy& base,
                                                          const std::string& gw_admin_url,
                                                          int* exit_code) {
  auto root = config::Node::loadString(
      zeroPolicyYaml(o.max_replicas, o.scale_to_zero_after, gw_admin_url), "surge-up");
  auto parsed = root.isOk() ? autoscale::parseAutoscalePolicy(*root)
                            : StatusOr<autoscale::AutoscalePolicy>(root.status());
  if (!parsed.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", parsed.status().message().c_str());
    *exit_code = 1;
    return std::nullopt;
  }
  autoscale::AutoscalePolicy policy = std::move(parsed).value();
  policy.sync_period = base.sync_period;
  policy.admin_listen = base.admin_listen;
  policy.predictive = base.predictive;
  return policy;
}

// The model repository: --model-repository, or the demo one (made on first run). Sets o->repo to
// an absolute path and o->state_dir; *note says why the synthetic model replaces the torch one.
bool resolveRepository(UpOptions* o, autoscale::AutoscalePolicy* policy, std::string* note,
                       int* exit_code) {
  note->clear();
  if (o->state_dir.empty()) o->state_dir = defaultStateDir();
  if (o->repo.empty()) {
#ifndef SURGE_HAVE_TORCH
    if (!o->synthetic) {
      *note = "libtorch is not built into this surge: serving the synthetic demo model instead";
      o->synthetic = true;
    }
#endif
    auto made = ensureDemoRepository(o->state_dir, o->synthetic, o->synthetic_model);
    if (!made.isOk()) {
      std::fprintf(stderr, "surge up: demo model: %s\n", made.status().message().c_str());
      *exit_code = 1;
      return false;
    }
    o->repo = *made;
  }  // else: checked by parseUpOptions
  o->repo = fs::absolute(o->repo).string();
  if (policy->predictive.enabled &&
      policy->predictive.history_file == autoscale::PredictiveConfig{}.history_file) {
    policy->predictive.history_file = (fs::path(o->state_dir) / "rps-history.csv").string();
  }
  return true;
}

// Blocks SIGINT and SIGTERM before any thread starts: only the status loop's sigtimedwait sees
// them. Raises the descriptor soft limit to the hard one (a proxy holds two per request).
sigset_t blockStopSignalsAndRaiseFdLimit() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  return stop_signals;
}

// The gateway, running on its own thread until stop().
class UpGateway {
 public:
  explicit UpGateway(const gateway::GatewayOptions& options)
      : cluster_(options.cluster, SteadyClock::instance()),
        gateway_(options, cluster_, registry_) {}
  ~UpGateway() { stop(); }

  Status start() {
    RETURN_IF_ERROR(gateway_.start());
    thread_ = std::thread([this] { gateway_.run(); });
    return Status::ok();
  }
  void stop() {
    if (!thread_.joinable()) return;
    gateway_.requestShutdown();
    thread_.join();
  }
  uint16_t port() const { return gateway_.port(); }
  uint16_t adminPort() const { return gateway_.adminPort(); }
  // How many of `addresses` the balancers can pick now (in the published host set, eligible).
  gateway::Gateway& gateway() { return gateway_; }
  int routable(const std::vector<std::string>& addresses) const {
    auto set = cluster_.snapshot();
    const TimePoint now = SteadyClock::instance().now();
    int n = 0;
    for (const auto& h : set->hosts) {
      if (h->eligible(now) &&
          std::find(addresses.begin(), addresses.end(), h->address()) != addresses.end()) {
        ++n;
      }
    }
    return n;
  }
  const metrics::Registry& registry() const { return registry_; }

 private:
  gateway::Cluster cluster_;
  metrics::Registry registry_;
  gateway::Gateway gateway_;
  std::thread thread_;
};

std::unique_ptr<UpGateway> startGateway(const UpOptions& o, int* exit_code) {
  gateway::GatewayOptions options;
  options.listen = o.listen;
  options.admin.listen = o.admin;
  options.drain_timeout = std::chrono::seconds(10);
  options.per_try_timeout = o.per_try_timeout;
  // New replicas are warm (they join only once ready) but their caches and the OS are not: ramp
  // their share from 10% to 100% over 10 s (Envoy's slow_start_window), demo-sized.
  options.cluster.host_set.slow_start = std::chrono::seconds(10);
  if (o.zero) {  // scale to zero: hold requests while no replica is ready
    options.activator.enabled = true;
    options.activator.queue_size = o.hold_queue;
    options.activator.timeout = o.hold_timeout;
  }
  if (Status s = gateway::validateGatewayConfig(options); !s.isOk()) {
    std::fprintf(stderr, "surge up: gateway: %s\n", s.message().c_str());
    *exit_code = 2;
    return nullptr;
  }
  auto gw = std::make_unique<UpGateway>(options);
  if (Status s = gw->start(); !s.isOk()) {
    std::fprintf(stderr, "surge up: gateway: %s\n", s.message().c_str());
    *exit_code = s.code() == StatusCode::kAlreadyExists ? 2 : 1;  // address in use: config error
    return nullptr;
  }
  return gw;
}

// The autoscaler with the local actuator: `surge serve` replicas of o.repo joined to the gateway
// (its admin API at gw_admin_url) when ready.
std::unique_ptr<autoscale::Autoscaler> startAutoscaler(const UpOptions& o,
                                                       const autoscale::AutoscalePolicy& policy,
                                                       const std::string& gw_admin_url,
                                                       int* exit_code) {
  const int32_t target_max = std::max<int32_t>(policy.hpa.max_replicas, 2);
  const std::string target_yaml =
      "target:\n"
      "  kind: local\n"
      "  model_repository: \"" +
      o.repo +
      "\"\n"
      "  gateway: {admin: \"" +
      gw_admin_url +
      "\"}\n"
      "  min_replicas: " +
      // The floor: 0 to scale to zero; --min-replicas with the built-in policy; else 2.
      std::to_string(o.zero ? 0 : (o.config_path.empty() ? o.min_replicas : 2)) +
      "\n"
      "  max_replicas: " +
      std::to_string(target_max) +
      "\n"
      "  drain_timeout: 10s\n"
      "  termination_grace_period: 10s\n" +
      // Scale to zero: a held request waits for the first replica's ready probe; probe it (and
      // join it to the gateway) within 50 ms of ready rather than 250 ms.
      (o.zero ? std::string("  probe: {period: 50ms}\n") : std::string()) +
      (o.run_dir.empty() ? std::string()
                         : "  run_dir: \"" + fs::absolute(o.run_dir).string() + "\"\n");
  auto target_root = config::Node::loadString(target_yaml, "surge-up-target");
  if (!target_root.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", target_root.status().message().c_str());
    *exit_code = 1;
    return nullptr;
  }
  autoscale::AutoscaleConfig config;
  config.target_kind = autoscale::TargetKind::kLocal;
  config.target = (*target_root)["target"];
  config.policy = policy;
  autoscale::AutoscalerRunOptions run_options;
  run_options.gateway_metrics_url = gw_admin_url + "/metrics";
  auto scaler = autoscale::Autoscaler::create(config, run_options);
  if (!scaler.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", scaler.status().message().c_str());
    *exit_code = 2;
    return nullptr;
  }
  if (Status s = (*scaler)->start(); !s.isOk()) {
    std::fprintf(stderr, "surge up: autoscaler: %s\n", s.message().c_str());
    (*scaler)->stop();
    *exit_code = s.code() == StatusCode::kAlreadyExists ? 2 : 1;
    return nullptr;
  }
  return std::move(scaler).value();
}

// The last non-empty line of a file (a replica's log), "" when none.
std::string lastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last;
}

enum class ReadyWait { kReady, kSignal, kTimeout, kCrashLoop };

// Waits until `wanted` replicas are ready (their probes pass) and routable through the gateway
// (eligible in its published host set), or a stop signal (*sig), or `timeout`, or a crash loop
// (2 x wanted replica failures: two waves of a bad repository). Polls every 100 ms.
ReadyWait waitForReplicas(const sigset_t& stop_signals, const UpGateway& gw,
                          autoscale::LocalActuator& actuator, int wanted, Duration timeout,
                          int* sig) {
  const TimePoint deadline = SteadyClock::instance().now() + timeout;
  for (;;) {
    std::vector<std::string> ready;
    if (auto pods = actuator.listPods(); pods.isOk()) {
      for (const auto& p : *pods) {
        if (!p.deleted && p.ready && p.ready->status && !p.address.empty()) {
          ready.push_back(p.address);
        }
      }
    }
    if (static_cast<int>(ready.size()) >= wanted && gw.routable(ready) >= wanted) {
      return ReadyWait::kReady;
    }
    if (actuator.crashCount() >= 2 * wanted) return ReadyWait::kCrashLoop;
    if (SteadyClock::instance().now() >= deadline) return ReadyWait::kTimeout;
    timespec tick{0, 100'000'000};
    const int s = sigtimedwait(&stop_signals, nullptr, &tick);
    if (s == SIGINT || s == SIGTERM) {
      *sig = s;
      return ReadyWait::kSignal;
    }
  }
}

// Why the replicas are not ready, naming the log to read: a not-ready replica's (the newest),
// else the newest log in the run directory.
std::string notReadyMessage(ReadyWait why, autoscale::LocalActuator& actuator, int wanted,
                            Duration timeout) {
  int ready = 0;
  std::string log;
  if (auto pods = actuator.listPods(); pods.isOk()) {
    for (const auto& p : *pods) {
      if (p.deleted) continue;
      if (p.ready && p.ready->status) {
        ++ready;
      } else {
        log = actuator.runDir() + "/" + p.name + ".log";
      }
    }
  }
  if (log.empty()) {  // every replica crashed and none runs now: the newest log
    std::error_code ec;
    fs::file_time_type newest{};
    for (const auto& e : fs::directory_iterator(actuator.runDir(), ec)) {
      if (e.path().extension() != ".log") continue;
      auto t = e.last_write_time(ec);
      if (!ec && (log.empty() || t > newest)) {
        newest = t;
        log = e.path().string();
      }
    }
  }
  char head[256];
  if (why == ReadyWait::kCrashLoop) {
    std::snprintf(head, sizeof(head), "replicas keep failing (%lld failures, %d of %d ready)",
                  static_cast<long long>(actuator.crashCount()), ready, wanted);
  } else {
    std::snprintf(head, sizeof(head), "%d of %d replicas ready after %gs (--ready-timeout)", ready,
                  wanted, toSeconds(timeout));
  }
  std::string msg = head;
  if (!log.empty()) {
    msg += "; see the replica log " + log;
    const std::string last = lastLine(log);
    if (!last.empty()) msg += " (last line: " + last + ")";
  }
  return msg;
}

// "surge up ready: listening on ..." and what to try next.
void printBanner(const UpOptions& o, const autoscale::AutoscalePolicy& policy, const UpGateway& gw,
                 const autoscale::Autoscaler& scaler, const std::string& note) {
  const std::string model = firstModel(o.repo);
  std::error_code exe_ec;
  std::string self = fs::read_symlink("/proc/self/exe", exe_ec).string();
  if (exe_ec || self.empty()) self = "surge";
  const std::string gw_url = "http://" + clientHost(o.listen) + ":" + std::to_string(gw.port());
  const std::string scaler_url =
      o.scaler_admin.empty()
          ? ""
          : "http://" + clientHost(o.scaler_admin) + ":" + std::to_string(scaler.adminPort());
  std::printf("surge up ready: listening on %s:%u (admin %s:%u, autoscaler %s)\n",
              hostOf(o.listen).c_str(), gw.port(), hostOf(o.admin).c_str(), gw.adminPort(),
              scaler_url.empty() ? "admin off" : scaler_url.substr(7).c_str());
  if (!note.empty()) std::printf("note: %s\n", note.c_str());
  std::printf(
      "\nModel repository: %s (model '%s'), replicas %d..%d, sync every %gs\n"
      "Try, in another terminal:\n"
      "  curl -s %s/v2/models/%s                       # metadata\n"
      "  %s load --url %s --model %s --rate 300 --duration 60s   # makes it scale\n"
      "  curl -s %s/events                      # scaling decisions (kubectl describe hpa)\n"
      "  curl -s %s/status\n"
      "Inference (a request body shaped from the metadata):\n"
      "  curl -s %s/v2/models/%s/infer -H 'Content-Type: application/json' \\\n"
      "       -d \"$(python3 -c 'import json;print(json.dumps({\"inputs\":[{\"name\":\"INPUT0\","
      "\"datatype\":\"FP32\",\"shape\":[1,512],\"data\":[0.5]*512}]}))')\"\n"
      "Ctrl-C stops everything.\n\n",
      o.repo.c_str(), model.c_str(), o.zero ? 0 : policy.hpa.min_replicas, policy.hpa.max_replicas,
      toSeconds(policy.sync_period), gw_url.c_str(), model.c_str(), self.c_str(), gw_url.c_str(),
      model.c_str(), scaler_url.empty() ? "<autoscaler admin>" : scaler_url.c_str(),
      scaler_url.empty() ? "<autoscaler admin>" : scaler_url.c_str(), gw_url.c_str(),
      model.c_str());
  std::fflush(stdout);
}

// One status line: "rps ... p99 ... replicas R ready/T (desired D)  last: <event>".
std::string statusLine(double rps, const std::optional<double>& p99, autoscale::Autoscaler& scaler,
                       const std::vector<autoscale::AutoscaleEvent>& events) {
  int ready = 0, total = 0;
  if (auto pods = scaler.actuator().listPods(); pods.isOk()) {
    for (const auto& p : *pods) {
      if (p.deleted) continue;
      total++;
      if (p.ready && p.ready->status) ready++;
    }
  }
  autoscale::AutoscalerStatus st = scaler.controller().status();
  std::string last;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->from != it->to) {
      last = clockTime(it->unix_ms) + " " + std::to_string(it->from) + "->" +
             std::to_string(it->to) + " " + it->message;
      break;
    }
  }
  char p99_text[32] = "-";
  if (p99) std::snprintf(p99_text, sizeof(p99_text), "%.1fms", *p99 * 1000);
  // "—" until the autoscaler's first decision (its syncs only wait while replicas start).
  const std::string desired = st.decided ? std::to_string(st.desired_replicas) : "\u2014";
  char line[512];
  std::snprintf(line, sizeof(line), "rps %7.1f  p99 %8s  replicas %d ready/%d (desired %s)%s%s",
                rps, p99_text, ready, total, desired.c_str(),
                last.empty() ? "" : "  last: ", last.c_str());
  return line;
}

// The live status until SIGINT or SIGTERM: one rewritten line on a TTY; otherwise a plain line
// every max(sync period, 5 s) and on every new event. Returns the signal.
int statusLoop(const sigset_t& stop_signals, const UpGateway& gw, autoscale::Autoscaler& scaler,
               Duration sync_period, bool tty) {
  TrafficMeter meter(gw.registry());
  const Duration plain_every = std::max<Duration>(sync_period, std::chrono::seconds(5));
  TimePoint next_plain = SteadyClock::instance().now();
  uint64_t last_event_seen = 0;
  double rps = 0;
  std::optional<double> p99;
  for (;;) {
    timespec one_second{1, 0};
    const int sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) {
      if (tty) endStatusLine();
      return sig;
    }
    const TimePoint now = SteadyClock::instance().now();
    meter.sample(now, &rps, &p99);
    const auto events = scaler.controller().events().snapshot();
    const std::string line = statusLine(rps, p99, scaler, events);
    if (tty) {
      std::string s = line;
      if (s.size() > 160) s = s.substr(0, 157) + "...";
      showStatusLine(s);  // common/logging.h: log lines erase it and redraw it
    } else {
      const uint64_t newest = events.empty() ? 0 : events.back().sequence;
      if (now >= next_plain || newest != last_event_seen) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        next_plain = now + plain_every;
        last_event_seen = newest;
      }
    }
  }
}

// The autoscaler first (replicas drained in the gateway, then SIGTERM), then the gateway.
void shutdown(int sig, autoscale::Autoscaler& scaler, UpGateway& gw) {
  std::printf("surge up: %s: stopping (draining replicas, then the gateway)\n",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  gw.gateway().setActivationListener(nullptr);
  scaler.stop();
  gw.stop();
  std::printf("surge up: stopped\n");
}

}  // namespace

int runUp(const std::vector<std::string>& argv) {
  int exit_code = 0;
  std::optional<UpOptions> options = parseUpOptions(argv, &exit_code);
  if (!options) return exit_code;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  if (!options->log_level_set && tty) setLogLevel(LogLevel::kWarn);

  std::optional<autoscale::AutoscalePolicy> policy = buildPolicy(*options, &exit_code);
  if (!policy) return exit_code;
  options->zero = options->config_path.empty()
                      ? options->min_replicas == 0
                      : policy->scaled_object && policy->scaled_object->min_replica_count == 0;
  std::string note;
  if (!resolveRepository(&*options, &*policy, &note, &exit_code)) return exit_code;

  const sigset_t stop_signals = blockStopSignalsAndRaiseFdLimit();
  std::unique_ptr<UpGateway> gw = startGateway(*options, &exit_code);
  if (!gw) return exit_code;
  const std::string gw_admin_url =
      "http://" + clientHost(options->admin) + ":" + std::to_string(gw->adminPort());
  if (options->zero && options->config_path.empty()) {
    policy = buildZeroPolicy(*options, *policy, gw_admin_url, &exit_code);
    if (!policy) return exit_code;
  }
  std::unique_ptr<autoscale::Autoscaler> scaler =
      startAutoscaler(*options, *policy, gw_admin_url, &exit_code);
  if (!scaler) return exit_code;  // ~UpGateway stops the gateway
  if (options->zero) {
    // The first held request wakes the autoscaler at once (not at its next sync).
    autoscale::Controller* controller = &scaler->controller();
    gw->gateway().setActivationListener([controller] { controller->syncSoon(); });
  }

  autoscale::LocalActuator& actuator = scaler->actuator();
  if (options->zero) {
    std::printf("surge up: scale to zero: no replica until the first request (held by the "
                "gateway on %s:%u up to %gs), back to 0 after %gs without one (logs in %s)\n",
                hostOf(options->listen).c_str(), gw->port(), toSeconds(options->hold_timeout),
                toSeconds(options->scale_to_zero_after), actuator.runDir().c_str());
    printBanner(*options, *policy, *gw, *scaler, note);
    const int sig = statusLoop(stop_signals, *gw, *scaler, policy->sync_period, tty);
    shutdown(sig, *scaler, *gw);
    return 0;
  }
  const int wanted = std::max(1, actuator.config().min_replicas);
  std::printf("surge up: starting %d replicas (logs in %s); until they serve, the gateway on "
              "%s:%u answers 503\n",
              wanted, actuator.runDir().c_str(), hostOf(options->listen).c_str(), gw->port());
  std::fflush(stdout);
  const TimePoint t0 = SteadyClock::instance().now();
  int sig = 0;
  const ReadyWait waited =
      waitForReplicas(stop_signals, *gw, actuator, wanted, options->ready_timeout, &sig);
  if (waited == ReadyWait::kTimeout || waited == ReadyWait::kCrashLoop) {
    std::fprintf(stderr, "surge up: %s\n",
                 notReadyMessage(waited, actuator, wanted, options->ready_timeout).c_str());
    actuator.keepRunDir();
    gw->gateway().setActivationListener(nullptr);
    scaler->stop();
    gw->stop();
    std::fprintf(stderr, "surge up: stopped; replica logs kept in %s\n",
                 actuator.runDir().c_str());
    return 1;
  }
  if (waited == ReadyWait::kReady) {
    char took[32];
    std::snprintf(took, sizeof(took), "%.1f", toSeconds(SteadyClock::instance().now() - t0));
    SURGE_LOG(kInfo, "up",
              std::to_string(wanted) + " replicas serve through the gateway after " + took + " s");
    printBanner(*options, *policy, *gw, *scaler, note);
    sig = statusLoop(stop_signals, *gw, *scaler, policy->sync_period, tty);
  }
  shutdown(sig, *scaler, *gw);
  if (actuator.runDirKept()) {
    std::printf("surge up: a replica failed during the run; replica logs kept in %s\n",
                actuator.runDir().c_str());
  }
  return 0;
}

}  // namespace surge::cli
