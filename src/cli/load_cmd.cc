// `surge load`: the load generator for benchmarks and demos — Open Inference Protocol requests
// against `surge serve` or the gateway, closed loop (N connections), open loop (scheduled sends,
// latency from the intended time) or a perf_analyzer-like concurrency sweep. Wiring only — the
// loadgen/ module does the work. Exit 2 on bad flags, 1 when the server cannot be reached.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "loadgen/driver.h"
#include "loadgen/infer_body.h"
#include "loadgen/report.h"
#include "loadgen/schedule.h"
#include "loadgen/server_metrics.h"

namespace surge::cli {
namespace {

using loadgen::LevelResult;
using loadgen::WindowStats;

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge load --url http://HOST:PORT --model NAME [options]\n\n"
      "Load generator for the Open Inference Protocol (surge serve, the gateway, Triton).\n"
      "See docs/load.md.\n"
      "  --url URL              server or gateway (default http://127.0.0.1:8000)\n"
      "  --model NAME           model; its metadata shapes the random inputs\n"
      "  --input FILE           send this JSON infer request body instead\n"
      "  --path PATH            request target (default /v2/models/NAME/infer)\n"
      "  --batch N              rows per request (default 1)\n"
      "  --seed N               seed of the random inputs (default 1)\n"
      "Closed loop:\n"
      "  --concurrency N        connections, each sends when its answer arrives (default 1)\n"
      "  --duration DUR         run length (default 10s)\n"
      "Open loop (sends at scheduled times, latency from the intended send time):\n"
      "  --rate R               constant requests/s for --duration\n"
      "  --rate-profile SPEC    step:100,200,400@10s (each held 10s) or ramp:100..1000@60s\n"
      "  --trace FILE.csv       rows timestamp,rps (seconds); the last row holds 1s\n"
      "  --max-connections N    connection pool cap (default 1024)\n"
      "Sweep (like perf_analyzer):\n"
      "  --sweep 1,2,4,8        concurrency levels, each measured until 3 consecutive windows'\n"
      "                         throughputs are within --stability\n"
      "  --window DUR           measurement window (default 2s)\n"
      "  --stability PCT        default 10\n"
      "  --max-windows N        per level (default 10)\n"
      "Output:\n"
      "  --json                 one JSON object on stdout (schema surge.load/v1) instead of the table\n"
      "  --timeout DUR          per-request timeout (default 30s; counts as status 0)\n");
}

bool parseInt(const std::string& s, long min, long max, long* out) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

int bad(const std::string& flag, const std::string& why) {
  std::fprintf(stderr, "surge load: %s: %s\n", flag.c_str(), why.c_str());
  return 2;
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

int runLoad(const std::vector<std::string>& args) {
  std::string url = "http://127.0.0.1:8000", model, input, path, rate, rate_profile, trace, sweep;
  std::string duration_s = "10s", window_s = "2s", timeout_s = "30s";
  long batch = 1, concurrency = 1, max_conns = 1024, max_windows = 10, seed = 1;
  double stability = 10;
  bool json = false, concurrency_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (!value(&v)) {
      if (a.rfind("--", 0) != 0) return bad(a, "unexpected argument");
      if (a == "--url" || a == "--model" || a == "--input" || a == "--path" || a == "--batch" ||
          a == "--seed" || a == "--concurrency" || a == "--duration" || a == "--rate" ||
          a == "--rate-profile" || a == "--trace" || a == "--max-connections" ||
          a == "--sweep" || a == "--window" || a == "--stability" || a == "--max-windows" ||
          a == "--timeout") {
        return bad(a, "needs a value");
      }
      return bad(a, "unknown option (see surge load --help)");
    } else if (a == "--url") {
      url = v;
    } else if (a == "--model") {
      model = v;
    } else if (a == "--input") {
      input = v;
    } else if (a == "--path") {
      path = v;
    } else if (a == "--batch") {
      if (!parseInt(v, 1, 1 << 20, &batch)) return bad(a, "want an integer >= 1");
    } else if (a == "--seed") {
      if (!parseInt(v, 0, 0x7fffffffL, &seed)) return bad(a, "want an integer >= 0");
    } else if (a == "--concurrency") {
      if (!parseInt(v, 1, 100000, &concurrency)) return bad(a, "want an integer in [1, 100000]");
      concurrency_set = true;
    } else if (a == "--duration") {
      duration_s = v;
    } else if (a == "--rate") {
      rate = v;
    } else if (a == "--rate-profile") {
      rate_profile = v;
    } else if (a == "--trace") {
      trace = v;
    } else if (a == "--max-connections") {
      if (!parseInt(v, 1, 100000, &max_conns)) return bad(a, "want an integer in [1, 100000]");
    } else if (a == "--sweep") {
      sweep = v;
    } else if (a == "--window") {
      window_s = v;
    } else if (a == "--stability") {
      char* end = nullptr;
      stability = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(stability > 0 && stability < 100)) {
        return bad(a, "want a percentage in (0, 100)");
      }
    } else if (a == "--max-windows") {
      if (!parseInt(v, 3, 1000, &max_windows)) return bad(a, "want an integer in [3, 1000]");
    } else if (a == "--timeout") {
      timeout_s = v;
    } else {
      return bad(a, "unknown option (see surge load --help)");
    }
  }

  auto duration = loadgen::parseDuration(duration_s);
  if (!duration.isOk() || *duration <= Duration(0)) return bad("--duration", "want e.g. 10s");
  auto window = loadgen::parseDuration(window_s);
  if (!window.isOk() || *window <= Duration(0)) return bad("--window", "want e.g. 2s");
  auto timeout = loadgen::parseDuration(timeout_s);
  if (!timeout.isOk() || *timeout <= Duration(0)) return bad("--timeout", "want e.g. 30s");
  int open_flags = !rate.empty() + !rate_profile.empty() + !trace.empty();
  if (open_flags > 1) return bad("--rate", "use only one of --rate, --rate-profile, --trace");
  if (open_flags == 1 && !sweep.empty()) return bad("--sweep", "not with an open-loop rate");
  if (!sweep.empty() && concurrency_set) return bad("--sweep", "not with --concurrency");
  auto url_parts = loadgen::parseUrl(url);
  if (!url_parts.isOk()) return bad("--url", url_parts.status().message());
  if (model.empty() && input.empty()) return bad("--model", "required (or --input FILE)");
  if (path.empty()) {
    if (model.empty()) return bad("--path", "required with --input and no --model");
    path = url_parts->second + "/v2/models/" + model + "/infer";
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
    char* end = nullptr;
    double r = std::strtod(rate.c_str(), &end);
    if (*end != '\0' || !(r > 0)) return bad("--rate", "want requests/s > 0");
    profile = loadgen::RateProfile::constant(r, *duration);
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
                              : std::chrono::duration<double>(*duration).count();
  config.window_s = sweep.empty() ? 0 : std::chrono::duration<double>(*window).count();

  std::string body;
  if (!input.empty()) {
    std::ifstream f(input);
    if (!f) return bad("--input", "cannot read " + input);
    std::stringstream ss;
    ss << f.rdbuf();
    body = ss.str();
  }

  loadgen::Target target;
  target.host_port = url_parts->first;
  target.path = path;
  loadgen::LoadDriver probe(target, *timeout);
  if (Status s = probe.init(); !s.isOk()) return bad("--url", s.message());
  const std::string prefix = url_parts->second;
  if (body.empty()) {
    auto meta = probe.fetch("GET", prefix + "/v2/models/" + model);
    if (!meta.isOk()) {
      std::fprintf(stderr, "surge load: %s\n", meta.status().message().c_str());
      return 1;
    }
    if (meta->status != 200) {
      std::fprintf(stderr, "surge load: model metadata %s/v2/models/%s: HTTP %d %s\n",
                   url.c_str(), model.c_str(), meta->status, meta->body.c_str());
      return 1;
    }
    auto b = loadgen::buildInferBody(meta->body, static_cast<int>(batch), config.seed);
    if (!b.isOk()) return bad("--model", b.status().message());
    body = *b;
  } else {
    auto ready = probe.fetch("GET", prefix + "/v2/health/ready");
    if (!ready.isOk()) {
      std::fprintf(stderr, "surge load: %s\n", ready.status().message().c_str());
      return 1;
    }
  }
  config.body_bytes = body.size();
  target.body = body;

  loadgen::LoadDriver driver(target, *timeout);
  if (Status s = driver.init(); !s.isOk()) return bad("--url", s.message());
  const bool tty = isatty(2) == 1;
  std::string level_label;
  if (tty) {
    driver.setProgress([&](const loadgen::Progress& p) {
      std::fprintf(stderr, "\r%s[%6.1fs] %llu done, %llu errors, %zu in flight, %zu conns   ",
                   level_label.c_str(), p.elapsed_s, static_cast<unsigned long long>(p.completed),
                   static_cast<unsigned long long>(p.errors), p.in_flight, p.connections);
      std::fflush(stderr);
    });
  }
  auto scrapeBatch = [&]() -> std::optional<loadgen::BatchTotals> {
    auto page = probe.fetch("GET", prefix + "/metrics");
    if (!page.isOk() || page->status != 200) return std::nullopt;
    return loadgen::batchTotals(page->body);
  };

  std::vector<LevelResult> results;
  if (profile) {
    level_label = "open ";
    auto before = scrapeBatch();
    WindowStats w = driver.runOpen(*profile, static_cast<int>(max_conns), *timeout);
    LevelResult r = summarize({w}, 0, "open");
    r.dropped = w.dropped;
    r.target_rps = profile->expectedRequests() /
                   std::max(1e-9, std::chrono::duration<double>(profile->totalLength()).count());
    r.avg_batch = loadgen::averageBatch(before, scrapeBatch());
    results.push_back(r);
  } else {
    const double tol = stability / 100;
    for (int c : levels) {
      level_label = "c=" + std::to_string(c) + " ";
      auto before = scrapeBatch();
      std::vector<WindowStats> windows;
      bool stable = true;
      if (sweep.empty()) {
        windows = driver.runClosed(c, *duration, [](const auto&) { return false; });
      } else {
        windows = driver.runClosed(c, *window, [&](const std::vector<WindowStats>& ws) {
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
      r.avg_batch = loadgen::averageBatch(before, scrapeBatch());
      results.push_back(r);
    }
  }
  if (tty) std::fprintf(stderr, "\r%80s\r", "");
  if (json) {
    std::printf("%s\n", loadgen::toJson(config, results).c_str());
  } else {
    std::printf("%s", loadgen::formatTable(results).c_str());
  }
  return 0;
}

}  // namespace surge::cli
