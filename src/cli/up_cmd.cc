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
// Prints "surge up listening on A (admin B, autoscaler C)" when the gateway and the autoscaler
// run. SIGINT/SIGTERM: stop the autoscaler (replicas drained, then SIGTERM), then the gateway.
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
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/autoscaler.h"
#include "cli/commands.h"
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

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge up [options]\n\n"
      "The whole stack on this machine: the gateway, the autoscaler with local `surge serve`\n"
      "replicas of a demo model (2 at first), and a live status line. Ctrl-C stops everything.\n"
      "See docs/up.md.\n"
      "  --config FILE              autoscale.yaml: your scaling policy (hpa / scaled_object,\n"
      "                             predictive, panic...; its `target` is replaced by surge up's)\n"
      "  --model-repository DIR     serve your models instead of the demo model\n"
      "  --synthetic                use the synthetic demo model even when libtorch is built in\n"
      "  --listen HOST:PORT         gateway clients (default 0.0.0.0:8080)\n"
      "  --admin HOST:PORT          gateway admin API (default 127.0.0.1:9901)\n"
      "  --autoscaler-admin H:P|off autoscaler /status, /events, /metrics (default 127.0.0.1:9902)\n"
      "  --sync-period DUR          autoscaler sync period (default 5s; overrides --config's)\n"
      "  --per-try-timeout DUR      a replica that sends no response head within DUR is\n"
      "                             abandoned, counted as failed and the request retried on\n"
      "                             another (default 2s; 0 = off, for inferences that are long)\n"
      "  --max-replicas N           replicas at most (default 8; with --config: the HPA's)\n"
      "  --state-dir DIR            demo model and history (default $XDG_STATE_HOME/surge/up)\n"
      "  --log-level LEVEL          debug, info, warn, error (default: warn on a TTY, else info)\n");
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

// A synthetic model with the demo MLP's name and shapes: ~5 ms per batch plus 0.1 ms per row,
// batched dynamically — it costs time, not CPU, so many replicas fit on a small machine.
std::string syntheticDemoConfig() {
  return std::string("name: \"") + kDemoModel +
         "\"\n"
         "backend: \"synthetic\"\n"
         "max_batch_size: 64\n"
         "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 512 ] } ]\n"
         "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 16 ] } ]\n"
         "dynamic_batching { max_queue_delay_microseconds: 2000 }\n"
         "parameters { key: \"base_latency_us\" value { string_value: \"5000\" } }\n"
         "parameters { key: \"per_item_latency_us\" value { string_value: \"100\" } }\n";
}

// Creates the demo repository under state_dir on first run; returns its path.
StatusOr<std::string> ensureDemoRepository(const std::string& state_dir, bool synthetic) {
  const fs::path repo = fs::path(state_dir) / (synthetic ? "models-synthetic" : "models-torch");
  const fs::path model = repo / kDemoModel;
  std::error_code ec;
  if (fs::exists(model / "config.pbtxt", ec)) return repo.string();
  fs::create_directories(model / "1", ec);
  if (ec) return internalError("cannot create " + (model / "1").string() + ": " + ec.message());
  if (synthetic) {
    std::ofstream out(model / "config.pbtxt");
    out << syntheticDemoConfig();
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

// The default policy: requests_per_second per replica, a 30 s scale-down window.
std::string defaultPolicyYaml(int max_replicas) {
  return "hpa:\n"
         "  apiVersion: autoscaling/v2\n"
         "  kind: HorizontalPodAutoscaler\n"
         "  metadata: {name: surge-up}\n"
         "  spec:\n"
         "    minReplicas: 2\n"
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

}  // namespace

int runUp(const std::vector<std::string>& args) {
  std::string config_path, repo, listen = "0.0.0.0:8080", admin = "127.0.0.1:9901",
                                 scaler_admin = "127.0.0.1:9902", state_dir, log_level;
  std::optional<Duration> sync_period;
  // The gateway's per-try timeout (docs/design/gateway.md, "Per-try timeout"): 2 s is far above
  // what the demo model takes even queued, and bounds what a hung replica costs a request.
  Duration per_try_timeout = std::chrono::seconds(2);
  int max_replicas = 8;
  bool synthetic = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "surge up: %s needs a value\n", a.c_str());
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
    } else if (a == "--model-repository") {
      if (!value(&repo)) return 2;
    } else if (a == "--synthetic") {
      synthetic = true;
    } else if (a == "--listen") {
      if (!value(&listen)) return 2;
    } else if (a == "--admin") {
      if (!value(&admin)) return 2;
    } else if (a == "--autoscaler-admin") {
      if (!value(&scaler_admin)) return 2;
      if (scaler_admin == "off" || scaler_admin == "none") scaler_admin.clear();
    } else if (a == "--state-dir") {
      if (!value(&state_dir)) return 2;
    } else if (a == "--log-level") {
      if (!value(&log_level)) return 2;
      if (!setLogLevelByName(log_level)) {
        std::fprintf(stderr, "surge up: unknown --log-level '%s'\n", log_level.c_str());
        return 2;
      }
    } else if (a == "--sync-period") {
      if (!value(&v)) return 2;
      auto d = config::parseDuration(v);
      if (!d.isOk() || *d < std::chrono::milliseconds(100)) {
        std::fprintf(stderr, "surge up: --sync-period wants a duration >= 100ms, found '%s'\n",
                     v.c_str());
        return 2;
      }
      sync_period = *d;
    } else if (a == "--per-try-timeout") {
      if (!value(&v)) return 2;
      auto d = config::parseDuration(v);
      if (!d.isOk() || (*d != Duration::zero() && *d < std::chrono::milliseconds(1)) ||
          *d > std::chrono::seconds(60)) {
        std::fprintf(stderr,
                     "surge up: --per-try-timeout wants 0 (off) or a duration in 1ms..60s, found "
                     "'%s'\n",
                     v.c_str());
        return 2;
      }
      per_try_timeout = *d;
    } else if (a == "--max-replicas") {
      if (!value(&v)) return 2;
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 2 || n > 1000) {
        std::fprintf(stderr, "surge up: --max-replicas wants 2..1000\n");
        return 2;
      }
      max_replicas = static_cast<int>(n);
    } else {
      std::fprintf(stderr, "surge up: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  for (const std::string* addr : {&listen, &admin}) {
    if (Status s = gateway::validateHostPort(*addr, true); !s.isOk()) {
      std::fprintf(stderr, "surge up: %s: %s\n", addr->c_str(), s.message().c_str());
      return 2;
    }
  }
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  if (log_level.empty() && tty) setLogLevel(LogLevel::kWarn);

  // ---- the scaling policy --------------------------------------------------------------------
  autoscale::AutoscalePolicy policy;
  {
    StatusOr<config::Node> root =
        config_path.empty() ? config::Node::loadString(defaultPolicyYaml(max_replicas), "surge-up")
                            : config::Node::loadFile(config_path);
    if (!root.isOk()) {
      std::fprintf(stderr, "surge up: %s\n", root.status().message().c_str());
      return 2;
    }
    auto parsed = autoscale::parseAutoscalePolicy(*root);
    if (!parsed.isOk()) {
      std::fprintf(stderr, "surge up: %s\n", parsed.status().message().c_str());
      return 2;
    }
    policy = std::move(parsed).value();
    if (!config_path.empty() && root->has("target")) {
      std::fprintf(stderr,
                   "surge up: note: %s: `target` is ignored (surge up runs local replicas of "
                   "--model-repository behind its own gateway)\n",
                   root->location().c_str());
    }
    if (config_path.empty()) policy.sync_period = std::chrono::seconds(5);
  }
  if (sync_period) policy.sync_period = *sync_period;
  policy.admin_listen = scaler_admin;

  // ---- the model repository ------------------------------------------------------------------
  if (state_dir.empty()) state_dir = defaultStateDir();
  std::string note;
  if (repo.empty()) {
#ifndef SURGE_HAVE_TORCH
    if (!synthetic) {
      note = "libtorch is not built into this surge: serving the synthetic demo model instead";
      synthetic = true;
    }
#endif
    auto made = ensureDemoRepository(state_dir, synthetic);
    if (!made.isOk()) {
      std::fprintf(stderr, "surge up: demo model: %s\n", made.status().message().c_str());
      return 1;
    }
    repo = *made;
  } else if (!fs::is_directory(repo)) {
    std::fprintf(stderr, "surge up: --model-repository %s: not a directory\n", repo.c_str());
    return 2;
  }
  repo = fs::absolute(repo).string();
  if (policy.predictive.enabled && policy.predictive.history_file ==
                                       autoscale::PredictiveConfig{}.history_file) {
    policy.predictive.history_file = (fs::path(state_dir) / "rps-history.csv").string();
  }

  // Block the stop signals before any thread starts: only the sigtimedwait below sees them.
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

  // ---- the gateway ---------------------------------------------------------------------------
  gateway::GatewayOptions gw_options;
  gw_options.listen = listen;
  gw_options.admin.listen = admin;
  gw_options.drain_timeout = std::chrono::seconds(10);
  gw_options.per_try_timeout = per_try_timeout;
  // New replicas are warm (they join only once ready) but their caches and the OS are not: ramp
  // their share from 10% to 100% over 10 s (Envoy's slow_start_window), demo-sized.
  gw_options.cluster.host_set.slow_start = std::chrono::seconds(10);
  if (Status s = gateway::validateGatewayConfig(gw_options); !s.isOk()) {
    std::fprintf(stderr, "surge up: gateway: %s\n", s.message().c_str());
    return 2;
  }
  gateway::Cluster cluster(gw_options.cluster, SteadyClock::instance());
  metrics::Registry registry;
  gateway::Gateway gw(gw_options, cluster, registry);
  if (Status s = gw.start(); !s.isOk()) {
    std::fprintf(stderr, "surge up: gateway: %s\n", s.message().c_str());
    return s.code() == StatusCode::kAlreadyExists ? 2 : 1;  // address in use: a config error
  }
  std::thread gw_thread([&gw] { gw.run(); });
  auto stopGateway = [&] {
    gw.requestShutdown();
    gw_thread.join();
  };
  const std::string gw_admin_url =
      "http://" + clientHost(admin) + ":" + std::to_string(gw.adminPort());

  // ---- the autoscaler and its replicas --------------------------------------------------------
  const int32_t target_max = std::max<int32_t>(policy.hpa.max_replicas, 2);
  const std::string target_yaml =
      "target:\n"
      "  kind: local\n"
      "  model_repository: \"" +
      repo +
      "\"\n"
      "  gateway: {admin: \"" +
      gw_admin_url +
      "\"}\n"
      "  min_replicas: 2\n"
      "  max_replicas: " +
      std::to_string(target_max) +
      "\n"
      "  drain_timeout: 10s\n"
      "  termination_grace_period: 10s\n";
  auto target_root = config::Node::loadString(target_yaml, "surge-up-target");
  if (!target_root.isOk()) {
    std::fprintf(stderr, "surge up: %s\n", target_root.status().message().c_str());
    stopGateway();
    return 1;
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
    stopGateway();
    return 2;
  }
  if (Status s = (*scaler)->start(); !s.isOk()) {
    std::fprintf(stderr, "surge up: autoscaler: %s\n", s.message().c_str());
    (*scaler)->stop();
    stopGateway();
    return s.code() == StatusCode::kAlreadyExists ? 2 : 1;
  }

  const std::string model = firstModel(repo);
  std::error_code exe_ec;
  std::string self = fs::read_symlink("/proc/self/exe", exe_ec).string();
  if (exe_ec || self.empty()) self = "surge";
  const std::string gw_url = "http://" + clientHost(listen) + ":" + std::to_string(gw.port());
  const std::string scaler_url =
      scaler_admin.empty()
          ? ""
          : "http://" + clientHost(scaler_admin) + ":" + std::to_string((*scaler)->adminPort());
  std::printf("surge up listening on %s:%u (admin %s:%u, autoscaler %s)\n", hostOf(listen).c_str(),
              gw.port(), hostOf(admin).c_str(), gw.adminPort(),
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
      repo.c_str(), model.c_str(), policy.hpa.min_replicas, policy.hpa.max_replicas,
      toSeconds(policy.sync_period), gw_url.c_str(), model.c_str(), self.c_str(), gw_url.c_str(),
      model.c_str(),
      scaler_url.empty() ? "<autoscaler admin>" : scaler_url.c_str(),
      scaler_url.empty() ? "<autoscaler admin>" : scaler_url.c_str(), gw_url.c_str(),
      model.c_str());
  std::fflush(stdout);

  // ---- status line until a stop signal --------------------------------------------------------
  TrafficMeter meter(registry);
  autoscale::Controller& controller = (*scaler)->controller();
  autoscale::LocalActuator& actuator = (*scaler)->actuator();
  const Duration plain_every = std::max<Duration>(policy.sync_period, std::chrono::seconds(5));
  TimePoint next_plain = SteadyClock::instance().now();
  uint64_t last_event_seen = 0;
  double rps = 0;
  std::optional<double> p99;
  int sig = 0;
  for (;;) {
    timespec one_second{1, 0};
    sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    const TimePoint now = SteadyClock::instance().now();
    meter.sample(now, &rps, &p99);
    int ready = 0, total = 0;
    if (auto pods = actuator.listPods(); pods.isOk()) {
      for (const auto& p : *pods) {
        if (p.deleted) continue;
        total++;
        if (p.ready && p.ready->status) ready++;
      }
    }
    autoscale::AutoscalerStatus st = controller.status();
    std::string last;
    auto events = controller.events().snapshot();
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->from != it->to) {
        last = clockTime(it->unix_ms) + " " + std::to_string(it->from) + "->" +
               std::to_string(it->to) + " " + it->message;
        break;
      }
    }
    char p99_text[32] = "-";
    if (p99) std::snprintf(p99_text, sizeof(p99_text), "%.1fms", *p99 * 1000);
    char line[512];
    std::snprintf(line, sizeof(line), "rps %7.1f  p99 %8s  replicas %d ready/%d (desired %d)%s%s",
                  rps, p99_text, ready, total, st.desired_replicas, last.empty() ? "" : "  last: ",
                  last.c_str());
    if (tty) {
      std::string s = line;
      if (s.size() > 160) s = s.substr(0, 157) + "...";
      std::printf("\r\033[K%s", s.c_str());
      std::fflush(stdout);
    } else {
      const uint64_t newest = events.empty() ? 0 : events.back().sequence;
      if (now >= next_plain || newest != last_event_seen) {
        std::printf("%s\n", line);
        std::fflush(stdout);
        next_plain = now + plain_every;
        last_event_seen = newest;
      }
    }
  }
  if (tty) std::printf("\n");
  std::printf("surge up: %s: stopping (draining replicas, then the gateway)\n",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*scaler)->stop();
  stopGateway();
  std::printf("surge up: stopped\n");
  return 0;
}

}  // namespace surge::cli
