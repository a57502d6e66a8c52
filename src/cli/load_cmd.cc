// `surge load`: the load generator for benchmarks and demos — Open Inference Protocol requests
// against `surge serve` or the gateway, closed loop (N connections), open loop (scheduled sends,
// latency from the intended time) or a perf_analyzer-like concurrency sweep. Wiring only — the
// loadgen/ module does the work. Exit 2 on bad flags, 1 when the server cannot be reached.
// --protocol grpc: the same runs over inference.GRPCInferenceService/ModelInfer
// (loadgen/grpc_driver.h); --url is then HOST:PORT or grpc://HOST:PORT (default 127.0.0.1:8001).
// SIGINT/SIGTERM during the run stop it and print the summary of what was measured (marked
// interrupted); a second SIGINT exits at once. --max-error-rate / --max-p99 make the exit code a
// verdict (1 when one fails). Exit codes: docs/load.md, "Exit codes".
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "loadgen/driver.h"
#include "loadgen/grpc_driver.h"
#include "loadgen/infer_body.h"
#include "loadgen/report.h"
#include "loadgen/schedule.h"
#include "loadgen/server_metrics.h"
#include "loadgen/thresholds.h"
#include "net/url.h"

namespace surge::cli {
namespace {

using loadgen::LevelResult;
using loadgen::WindowStats;

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "load",
      .synopsis = {"--url http://HOST:PORT --model NAME [options]",
                   "--protocol grpc --url HOST:PORT --model NAME [options]"},
      .description =
          "Load generator for the Open Inference Protocol (surge serve, the gateway, "
          "Triton).\nSee docs/load.md.\n",
      .flags =
          {
              {.name = "--url",
               .value_name = "URL",
               .help = "server or gateway (default http://127.0.0.1:8000; with --protocol grpc: "
                       "HOST:PORT or grpc://HOST:PORT, default 127.0.0.1:8001)"},
              {.name = "--protocol",
               .value_name = "P",
               .help = "http (JSON bodies) or grpc (ModelInfer, raw tensors, a few channels)",
               .default_value = "http",
               .choices = {"http", "grpc"}},
              {.name = "--binary",
               .help = "HTTP: send the inputs as binary tensor data (Triton's extension, "
                       "Inference-Header-Content-Length) and ask for binary outputs",
               .type = FlagType::kBool},
              {.name = "--grpc-channels",
               .value_name = "N",
               .help = "with --protocol grpc: channels (TCP connections) the requests are "
                       "spread over",
               .type = FlagType::kInt,
               .default_value = "4",
               .min = 1,
               .max = 256},
              {.name = "--model",
               .value_name = "NAME",
               .help = "model; its metadata shapes the random inputs"},
              {.name = "--input",
               .value_name = "FILE",
               .help = "send this JSON infer request body instead"},
              {.name = "--path",
               .value_name = "PATH",
               .help = "request target (default /v2/models/NAME/infer)"},
              {.name = "--batch",
               .value_name = "N",
               .help = "rows per request",
               .type = FlagType::kInt,
               .default_value = "1",
               .min = 1,
               .max = 1 << 20},
              {.name = "--seed",
               .value_name = "N",
               .help = "random seed of the generated inputs",
               .type = FlagType::kInt,
               .default_value = "1",
               .min = 0,
               .max = 0x7fffffff},
              section("Closed loop:"),
              {.name = "--concurrency",
               .value_name = "N",
               .help = "connections, each sends when its answer arrives",
               .type = FlagType::kInt,
               .default_value = "1",
               .min = 1,
               .max = 100000},
              {.name = "--duration",
               .value_name = "DUR",
               .help = "run length",
               .type = FlagType::kDuration,
               .default_value = "10s",
               .min = 0,
               .min_exclusive = true},
              section("Open loop (sends at scheduled times, latency from the intended send time):"),
              {.name = "--rate",
               .value_name = "R",
               .help = "constant requests/s for --duration",
               .type = FlagType::kDouble,
               .min = 0,
               .min_exclusive = true},
              {.name = "--rate-profile",
               .value_name = "SPEC",
               .help = "step:100,200,400@10s (each held 10s) or ramp:100..1000@60s"},
              {.name = "--trace",
               .value_name = "FILE.csv",
               .help = "rows timestamp,rps (seconds); the last row holds 1s"},
              {.name = "--max-connections",
               .value_name = "N",
               .help = "connection pool cap",
               .type = FlagType::kInt,
               .default_value = "1024",
               .min = 1,
               .max = 100000},
              section("Sweep (like perf_analyzer):"),
              {.name = "--sweep",
               .value_name = "1,2,4,8",
               .help = "concurrency levels, each measured until 3 consecutive windows' "
                       "throughputs are within --stability"},
              {.name = "--window",
               .value_name = "DUR",
               .help = "measurement window",
               .type = FlagType::kDuration,
               .default_value = "2s",
               .min = 0,
               .min_exclusive = true},
              {.name = "--stability",
               .value_name = "PCT",
               .help = "percentage",
               .type = FlagType::kDouble,
               .default_value = "10",
               .min = 0,
               .max = 100,
               .min_exclusive = true,
               .max_exclusive = true},
              {.name = "--max-windows",
               .value_name = "N",
               .help = "per level",
               .type = FlagType::kInt,
               .default_value = "10",
               .min = 3,
               .max = 1000},
              section("Thresholds (exit 1 when one fails, like k6):"),
              {.name = "--max-error-rate",
               .value_name = "R",
               .help = "fail when the share of failed requests (non-2xx, transport errors, "
                       "open-loop drops) exceeds R: a fraction 0..1 (0.01) or a percentage (1%)"},
              {.name = "--max-p99",
               .value_name = "DUR",
               .help = "fail when the p99 latency exceeds DUR (e.g. 250ms)",
               .type = FlagType::kDuration,
               .min = 0,
               .min_exclusive = true},
              section("Output:"),
              {.name = "--json",
               .help = "one JSON object on stdout (schema surge.load/v1) instead of the table",
               .type = FlagType::kBool},
              {.name = "--timeout",
               .value_name = "DUR",
               .help = "per-request timeout (counts as status 0)",
               .type = FlagType::kDuration,
               .default_value = "30s",
               .min = 0,
               .min_exclusive = true},
          },
  };
  return spec;
}

bool parseInt(const std::string& s, long min, long max, long* out) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

int bad(const std::string& flag, const std::string& why) {
  return usageError(spec(), flag + ": " + why);
}

// A control call that failed: a URL the flags made unusable (InvalidArgument: --url's prefix) is
// a usage error, anything else (not reached, a malformed answer) a runtime failure.
int fetchFailed(const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument) return bad("--url", s.message());
  std::fprintf(stderr, "surge load: %s\n", s.message().c_str());
  return 1;
}

// Set by the first SIGINT/SIGTERM; the drivers poll it. A second SIGINT exits at once.
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void onStopSignal(int sig) {
  if (g_stop.load() && sig == SIGINT) {
    static const char msg[] = "\nsurge load: interrupted again, exiting\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(130);
  }
  g_signal.store(sig);
  if (!g_stop.exchange(true)) {
    static const char msg[] =
        "\nsurge load: stopping, printing what was measured (Ctrl-C again to exit at once)\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
  }
}

void installStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

LevelResult summarize(const std::vector<WindowStats>& windows, size_t first, std::string mode) {
  LevelResult r;
  r.mode = std::move(mode);
  loadgen::LatencyRecorder all(1 << 20);
  for (size_t i = first; i < windows.size(); ++i) {
    const auto& w = windows[i];
    all.merge(w.latency);
    r.ok += w.ok;
    for (const auto& [status, n] : w.errors) r.errors[status] += n;
    r.dropped += w.dropped;
    r.duration_s += w.seconds;
    r.concurrency = std::max(r.concurrency, w.connections);
    r.max_lateness_s = std::max(r.max_lateness_s, w.max_lateness_s);
  }
  r.requests = all.count();
  r.fillLatency(all);
  if (r.duration_s > 0) {
    r.rps = static_cast<double>(r.requests) / r.duration_s;
    r.ok_rps = static_cast<double>(r.ok) / r.duration_s;
  }
  r.windows = static_cast<int>(windows.size());
  return r;
}

}  // namespace

int runLoad(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  const bool grpc_mode = args->str("--protocol") == "grpc";
  const std::string url = args->has("--url") ? args->str("--url")
                          : grpc_mode        ? std::string("127.0.0.1:8001")
                                             : std::string("http://127.0.0.1:8000");
  const std::string model = args->str("--model"),
                    input = args->str("--input"), rate = args->str("--rate"),
                    rate_profile = args->str("--rate-profile"), trace = args->str("--trace"),
                    sweep = args->str("--sweep");
  std::string path = args->str("--path");
  const long batch = static_cast<long>(args->integer("--batch"));
  const long concurrency = static_cast<long>(args->integer("--concurrency"));
  const long max_conns = static_cast<long>(args->integer("--max-connections"));
  const long max_windows = static_cast<long>(args->integer("--max-windows"));
  const long seed = static_cast<long>(args->integer("--seed"));
  const double stability = args->number("--stability");
  const bool json = args->boolean("--json"), concurrency_set = args->has("--concurrency");
  const Duration duration = args->duration("--duration"), window = args->duration("--window"),
                 timeout = args->duration("--timeout");
  loadgen::Thresholds thresholds;
  if (args->has("--max-error-rate")) {
    auto r = loadgen::parseErrorRate(args->str("--max-error-rate"));
    if (!r.isOk()) return bad("--max-error-rate", r.status().message());
    thresholds.max_error_rate = *r;
    thresholds.max_error_rate_text = args->str("--max-error-rate");
  }
  if (args->has("--max-p99")) {
    thresholds.max_p99_s = toSeconds(args->duration("--max-p99"));
    thresholds.max_p99_text = args->str("--max-p99");
  }

  int open_flags = !rate.empty() + !rate_profile.empty() + !trace.empty();
  if (open_flags > 1) return bad("--rate", "use only one of --rate, --rate-profile, --trace");
  if (open_flags == 1 && !sweep.empty()) return bad("--sweep", "not with an open-loop rate");
  if (!sweep.empty() && concurrency_set) return bad("--sweep", "not with --concurrency");
  if (grpc_mode) {
    if (!path.empty()) return bad("--path", "not with --protocol grpc");
    if (model.empty()) return bad("--model", "required with --protocol grpc");
    if (args->boolean("--binary")) return bad("--binary", "HTTP only (gRPC sends raw tensors)");
    auto target = loadgen::parseGrpcTarget(url);
    if (!target.isOk()) return bad("--url", target.status().message());
  }
  auto url_parts = grpc_mode ? StatusOr<std::pair<std::string, std::string>>(
                                   std::make_pair(std::string(), std::string()))
                             : loadgen::parseUrl(url);
  if (!url_parts.isOk()) return bad("--url", url_parts.status().message());
  if (model.empty() && input.empty()) return bad("--model", "required (or --input FILE)");
  if (grpc_mode) {
    path = "/inference.GRPCInferenceService/ModelInfer";
  } else if (!path.empty()) {  // sent as written: it must be a request target
    if (path[0] != '/') return bad("--path", "must start with '/', found '" + path + "'");
    if (auto u = net::parseUrl("http://" + url_parts->first + path); !u.isOk()) {
      return bad("--path", u.status().message());
    }
  } else {
    if (model.empty()) return bad("--path", "required with --input and no --model");
    path = loadgen::modelPath(url_parts->second, model, "", "infer");  // any name: %-encoded
  }

  loadgen::RunConfig config;
  config.url = url;
  config.model = model;
  config.path = path;
  config.batch = static_cast<int>(batch);
  config.seed = static_cast<uint64_t>(seed);

  // Open-loop profile.
  std::optional<loadgen::RateProfile> profile;
  if (!rate.empty()) {
    profile = loadgen::RateProfile::constant(args->number("--rate"), duration);
    config.rate_spec = rate;
  } else if (!rate_profile.empty()) {
    auto p = loadgen::RateProfile::parse(rate_profile);
    if (!p.isOk()) return bad("--rate-profile", p.status().message());
    profile = *p;
    config.rate_spec = rate_profile;
  } else if (!trace.empty()) {
    std::ifstream f(trace);
    if (!f) return bad("--trace", "cannot read " + trace);
    std::stringstream ss;
    ss << f.rdbuf();
    auto p = loadgen::RateProfile::parseTrace(ss.str(), trace);
    if (!p.isOk()) return bad("--trace", p.status().message());
    profile = *p;
    config.rate_spec = "trace:" + trace;
  }
  std::vector<int> levels;
  if (!sweep.empty()) {
    std::stringstream ss(sweep);
    std::string item;
    while (std::getline(ss, item, ',')) {
      long c = 0;
      if (!parseInt(item, 1, 100000, &c)) return bad("--sweep", "bad level '" + item + "'");
      levels.push_back(static_cast<int>(c));
    }
    if (levels.empty()) return bad("--sweep", "no levels");
  } else if (!profile) {
    levels.push_back(static_cast<int>(concurrency));
  }
  config.concurrency = levels;
  config.mode = profile ? "open" : (sweep.empty() ? "closed" : "sweep");
  config.duration_s = profile ? std::chrono::duration<double>(profile->totalLength()).count()
                              : std::chrono::duration<double>(duration).count();
  config.window_s = sweep.empty() ? 0 : std::chrono::duration<double>(window).count();

  std::string body;
  if (!input.empty()) {
    std::ifstream f(input);
    if (!f) return bad("--input", "cannot read " + input);
    std::stringstream ss;
    ss << f.rdbuf();
    body = ss.str();
  }

  const bool tty = isatty(2) == 1;
  std::string level_label;
  auto progress = [&](const loadgen::Progress& p) {
    std::fprintf(stderr, "\r%s[%6.1fs] %llu done, %llu errors, %zu in flight, %zu conns   ",
                 level_label.c_str(), p.elapsed_s, static_cast<unsigned long long>(p.completed),
                 static_cast<unsigned long long>(p.errors), p.in_flight, p.connections);
    std::fflush(stderr);
  };
  std::unique_ptr<loadgen::LoadDriver> probe, driver;
  std::unique_ptr<loadgen::GrpcLoadDriver> grpc_driver;
  const std::string prefix = url_parts->second;
  if (grpc_mode) {
    grpc_driver = std::make_unique<loadgen::GrpcLoadDriver>(
        *loadgen::parseGrpcTarget(url), timeout,
        static_cast<int>(args->integer("--grpc-channels")));
    if (Status s = grpc_driver->init(); !s.isOk()) return fetchFailed(s);
    if (body.empty()) {
      auto meta = grpc_driver->metadataJson(model);
      if (!meta.isOk()) {
        std::fprintf(stderr, "surge load: %s\n", meta.status().message().c_str());
        return 1;
      }
      auto b = loadgen::buildInferBody(*meta, static_cast<int>(batch), config.seed);
      if (!b.isOk()) return bad("--model", b.status().message());
      body = *b;
    }
    auto request = loadgen::grpcInferRequestFromJson(body, model);
    if (!request.isOk()) return bad(input.empty() ? "--model" : "--input", request.status().message());
    config.body_bytes = request->size();
    grpc_driver->setRequest(std::move(*request));
    if (tty) grpc_driver->setProgress(progress);
    grpc_driver->setStopFlag(&g_stop);
  } else {
    loadgen::Target target;
    target.host_port = url_parts->first;
    target.path = path;
    probe = std::make_unique<loadgen::LoadDriver>(target, timeout);
    if (Status s = probe->init(); !s.isOk()) return bad("--url", s.message());
    if (body.empty()) {
      const std::string meta_path = loadgen::modelPath(prefix, model);
      auto meta = probe->fetch("GET", meta_path);
      if (!meta.isOk()) return fetchFailed(meta.status());
      if (meta->status != 200) {
        std::fprintf(stderr, "surge load: model metadata http://%s%s: HTTP %d %s\n",
                     url_parts->first.c_str(), meta_path.c_str(), meta->status,
                     meta->body.c_str());
        return 1;
      }
      auto b = loadgen::buildInferBody(meta->body, static_cast<int>(batch), config.seed);
      if (!b.isOk()) return bad("--model", b.status().message());
      body = *b;
    } else {
      auto ready = probe->fetch("GET", prefix + "/v2/health/ready");
      if (!ready.isOk()) return fetchFailed(ready.status());
    }
    if (args->boolean("--binary")) {
      auto bin = loadgen::binaryInferBody(body);
      if (!bin.isOk()) return bad(input.empty() ? "--model" : "--input", bin.status().message());
      body = std::move(bin->body);
      target.headers.emplace_back("Content-Type", "application/octet-stream");
      target.headers.emplace_back("Inference-Header-Content-Length",
                                  std::to_string(bin->json_length));
    }
    config.body_bytes = body.size();
    target.body = body;
    driver = std::make_unique<loadgen::LoadDriver>(target, timeout);
    if (Status s = driver->init(); !s.isOk()) return bad("--url", s.message());
    if (tty) driver->setProgress(progress);
    driver->setStopFlag(&g_stop);
  }
  // The batch sizes come from the server's /metrics over HTTP; with --protocol grpc there is no
  // HTTP URL to scrape, so avg_batch stays null.
  auto scrapeBatch = [&]() -> std::optional<loadgen::BatchTotals> {
    if (!probe) return std::nullopt;
    auto page = probe->fetch("GET", prefix + "/metrics");
    if (!page.isOk() || page->status != 200) return std::nullopt;
    return loadgen::batchTotals(page->body);
  };
  auto runClosed = [&](int c, Duration w,
                       const std::function<bool(const std::vector<WindowStats>&)>& more) {
    return grpc_driver ? grpc_driver->runClosed(c, w, more) : driver->runClosed(c, w, more);
  };
  auto runOpen = [&](const loadgen::RateProfile& p, int max, Duration drain) {
    return grpc_driver ? grpc_driver->runOpen(p, max, drain) : driver->runOpen(p, max, drain);
  };

  // From here on, Ctrl-C stops the run and prints what was measured.
  installStopHandlers();
  const auto run_start = std::chrono::steady_clock::now();
  std::vector<LevelResult> results;
  if (profile) {
    level_label = "open ";
    auto before = scrapeBatch();
    WindowStats w = runOpen(*profile, static_cast<int>(max_conns), timeout);
    LevelResult r = summarize({w}, 0, "open");
    r.dropped = w.dropped;
    r.target_rps = profile->expectedRequests() /
                   std::max(1e-9, std::chrono::duration<double>(profile->totalLength()).count());
    r.interrupted = g_stop.load();
    if (!r.interrupted) r.avg_batch = loadgen::averageBatch(before, scrapeBatch());
    results.push_back(r);
  } else {
    const double tol = stability / 100;
    for (int c : levels) {
      if (g_stop.load()) break;
      level_label = "c=" + std::to_string(c) + " ";
      auto before = scrapeBatch();
      std::vector<WindowStats> windows;
      bool stable = true;
      if (sweep.empty()) {
        windows = runClosed(c, duration, [](const auto&) { return false; });
      } else {
        windows = runClosed(c, window, [&](const std::vector<WindowStats>& ws) {
          if (ws.size() >= 3) {
            double lo = 1e300, hi = 0, sum = 0;
            for (size_t i = ws.size() - 3; i < ws.size(); ++i) {
              double rps = static_cast<double>(ws[i].requests()) / std::max(1e-9, ws[i].seconds);
              lo = std::min(lo, rps);
              hi = std::max(hi, rps);
              sum += rps;
            }
            if (sum <= 0 || (hi - lo) <= tol * (sum / 3)) return false;
          }
          if (ws.size() >= static_cast<size_t>(max_windows)) {
            stable = false;
            return false;
          }
          return true;
        });
      }
      size_t first = windows.size() > 3 ? windows.size() - 3 : 0;
      LevelResult r = summarize(windows, first, "closed");
      r.windows = static_cast<int>(windows.size());
      r.stable = stable;
      r.interrupted = g_stop.load();
      // A level interrupted before any answer adds nothing to the levels before it.
      if (r.interrupted && r.requests == 0 && !results.empty()) break;
      if (!r.interrupted) r.avg_batch = loadgen::averageBatch(before, scrapeBatch());
      results.push_back(r);
    }
  }
  if (tty) std::fprintf(stderr, "\r%80s\r", "");
  loadgen::RunOutcome outcome;
  outcome.interrupted = g_stop.load();
  outcome.signal = g_signal.load() == SIGTERM ? "SIGTERM" : "SIGINT";
  outcome.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  outcome.thresholds = loadgen::evaluateThresholds(thresholds, results);
  bool failed = false;
  for (const auto& t : outcome.thresholds) failed = failed || !t.ok;
  if (json) {
    std::printf("%s\n", loadgen::toJson(config, results, outcome).c_str());
    for (const auto& t : outcome.thresholds) {
      if (!t.ok) std::fprintf(stderr, "surge load: threshold %s\n", t.message.c_str());
    }
  } else {
    std::printf("%s", loadgen::formatTable(results, outcome).c_str());
  }
  std::fflush(stdout);
  // A failed threshold is the verdict even on partial results; otherwise an interrupted run
  // exits as the shell expects of a command killed by that signal (128 + signal number).
  if (failed) return 1;
  if (outcome.interrupted) return 128 + (g_signal.load() == SIGTERM ? SIGTERM : SIGINT);
  return 0;
}

}  // namespace surge::cli
