// `surge sim`: the discrete-event traffic simulator (src/sim/, docs/simulation.md). Loads one
// sim.yaml (or several with --compare, run on the first one's traffic), runs each through surge's
// own balancers, batch policy and autoscaler on virtual time, prints a summary table (or JSON) and
// with --out writes the time series (CSV), the chart (SVG) and the summary. Bad input: one line
// naming file:line:col and the field, exit 2.
// --compare runs the configurations in parallel (one thread each, at most --jobs, default the
// hardware's cores); every run owns its engine, scaler and random streams and only reads the
// shared traffic curve, so the results are those of a serial run. Long runs show their progress
// on stderr (docs/simulation.md, "Progress").
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "sim/autoscaler.h"
#include "sim/report.h"
#include "sim/sim_config.h"
#include "sim/simulator.h"

namespace surge::cli {
namespace {

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "sim",
      .synopsis = {"--config sim.yaml [--out DIR] [--seed N] [--json]",
                   "--compare a.yaml b.yaml ... [--out DIR] [--seed N] [--json]"},
      .description =
          "Replay traffic through surge's own balancers, batch policy and autoscaler on a virtual\n"
          "clock (a discrete-event simulation) and report latency, SLO violations and cost.\n",
      .flags =
          {
              {.name = "--config",
               .value_name = "FILE",
               .help = "the simulation (traffic, service, replicas, gateway, autoscaler, slo)"},
              {.name = "--compare",
               .value_name = "F1 F2 ...",
               .help = "run several configurations on the traffic of the first (its traffic, "
                       "duration, start and random seed) into one table and one chart",
               .repeatable = true,
               .greedy = true},
              {.name = "--out",
               .value_name = "DIR",
               .help = "write DIR/summary.json, DIR/summary.txt, DIR/chart.svg and the time "
                       "series DIR/<name>.csv (one per configuration)"},
              {.name = "--seed",
               .value_name = "N",
               .help = "override the config's random seed (same seed, same results)"},
              {.name = "--duration",
               .value_name = "D",
               .help = "override the simulated duration (e.g. 1h, 24h)",
               .type = FlagType::kDuration,
               .min = 0,
               .min_exclusive = true},
              {.name = "--json",
               .help = "print the summary as JSON (schema surge.sim/v1) instead of a table",
               .type = FlagType::kBool},
              {.name = "--jobs",
               .value_name = "N",
               .help = "runs simulated at once with --compare (0: one per core; 1: serial; the "
                       "results are the same)",
               .type = FlagType::kInt,
               .default_value = "0",
               .min = 0,
               .max = 1024},
              {.name = "--progress",
               .value_name = "WHEN",
               .help = "progress on stderr: auto (once a run has taken 2 s, about one line a "
                       "second; one updated line on a terminal), always, never",
               .default_value = "auto",
               .choices = {"auto", "always", "never"}},
          },
      .epilog =
          "Example: surge sim --compare examples/sim/hpa-defaults.yaml "
          "examples/sim/predictive.yaml \\\n"
          "           --out /tmp/sim\n",
  };
  return spec;
}

bool writeFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    std::fprintf(stderr, "surge sim: cannot write %s: %s\n", path.string().c_str(),
                 std::strerror(errno));
    return false;
  }
  return true;
}

// Progress of the runs, written by the simulating threads (at each interval tick) and read by
// the reporting thread.
struct RunProgress {
  std::atomic<double> simulated_s{0};
  std::atomic<double> total_s{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<double> started_s{-1};  // wall seconds since the start of all runs; -1: queued
};

std::string clockText(double s) {
  char buf[64];
  long t = static_cast<long>(s);
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

// "surge sim: simulated 6h12m of 24h00m (26%), 2 runs, 1.84M req/s simulated, ETA 12s".
std::string progressLine(const std::vector<RunProgress>& runs, double wall_s, double rate) {
  double done = 0, total = 0;
  for (const auto& r : runs) {
    done += r.simulated_s.load();
    total += r.total_s.load();
  }
  double f = total > 0 ? std::min(1.0, done / total) : 0;
  double each_total = runs.empty() ? 0 : total / static_cast<double>(runs.size());
  // ETA: the slowest running run's own extrapolation, and never less than the overall one (runs
  // still queued behind --jobs).
  double eta_s = f > 0 ? wall_s * (1 - f) / f : -1;
  for (const auto& r : runs) {
    double started = r.started_s.load(), t = r.total_s.load(), sim = r.simulated_s.load();
    if (started < 0 || t <= 0 || sim >= t) continue;
    if (sim <= 0) {
      eta_s = -1;  // not measurable yet (a forecaster fitting its history)
      break;
    }
    double fi = sim / t;
    eta_s = std::max(eta_s, (wall_s - started) * (1 - fi) / fi);
  }
  char buf[256];
  std::string eta = f < 1 && eta_s >= 0 ? clockText(eta_s + 0.5) : "-";
  std::snprintf(buf, sizeof buf,
                "surge sim: simulated %s of %s (%.0f%%)%s, %.2fM req/s simulated, ETA %s",
                clockText(f * each_total).c_str(), clockText(each_total).c_str(), 100 * f,
                runs.size() > 1 ? (", " + std::to_string(runs.size()) + " runs").c_str() : "",
                rate / 1e6, f >= 1 ? "0s" : eta.c_str());
  return buf;
}

std::string safeFileName(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  return out.empty() ? "run" : out;
}

}  // namespace

int runSim(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  // --config is the first run (the traffic of all), --compare files follow.
  std::vector<std::string> files = args->all("--compare");
  if (args->has("--config")) files.insert(files.begin(), args->str("--config"));
  const std::string out_dir = args->str("--out");
  const bool json = args->boolean("--json");
  const bool compare = args->has("--compare");
  std::optional<uint64_t> seed;
  if (args->has("--seed")) {
    const std::string& v = args->str("--seed");
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-') {
      return usageError(spec(), "--seed: expected a non-negative integer, found '" + v + "'");
    }
    seed = n;
  }
  std::optional<Duration> duration;
  if (args->has("--duration")) duration = args->duration("--duration");
  if (files.empty()) return usageError(spec(), "give --config FILE or --compare FILE...");
  if (compare && files.size() < 2) {
    return usageError(spec(), "--compare needs at least two configuration files");
  }

  std::vector<sim::SimConfig> configs;
  for (const auto& f : files) {
    auto c = sim::loadSimConfig(f);
    if (!c.isOk()) {
      std::fprintf(stderr, "surge sim: %s\n", c.status().message().c_str());
      return 2;
    }
    configs.push_back(std::move(c).value());
  }
  if (!configs[0].has_traffic) {
    std::fprintf(stderr, "surge sim: %s: traffic: missing required field\n", files[0].c_str());
    return 2;
  }
  sim::SimConfig& first = configs[0];
  if (seed) first.seed = *seed;
  if (duration) first.duration = *duration;
  // Every run replays the first configuration's traffic (same curve, noise and seed).
  for (size_t i = 1; i < configs.size(); ++i) {
    configs[i].traffic = first.traffic;
    configs[i].has_traffic = true;
    configs[i].duration = first.duration;
    configs[i].start_unix = first.start_unix;
    configs[i].seed = first.seed;
  }
  // Names must be distinct: they label columns and files.
  for (size_t i = 0; i < configs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (configs[j].name == configs[i].name) {
        configs[i].name.append("-").append(std::to_string(i + 1));
      }
    }
  }
  sim::RateCurve curve = sim::makeRateCurve(first);
  std::vector<std::unique_ptr<sim::Scaler>> scalers;
  for (const auto& c : configs) {
    auto s = sim::makeScaler(c, curve);
    if (!s.isOk()) {
      std::fprintf(stderr, "surge sim: %s\n", s.status().message().c_str());
      return 2;
    }
    scalers.push_back(std::move(s).value());
  }

  // The runs, in parallel: a worker takes the next configuration until none is left.
  const size_t n = configs.size();
  size_t jobs = static_cast<size_t>(args->integer("--jobs"));
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min(jobs, n);
  std::vector<std::optional<StatusOr<sim::SimResult>>> outcomes(n);
  std::vector<RunProgress> progress(n);
  for (size_t i = 0; i < n; ++i) progress[i].total_s.store(toSeconds(configs[i].duration));
  std::atomic<size_t> next{0};
  const auto wall0 = std::chrono::steady_clock::now();
  std::mutex mu;
  std::condition_variable cv;
  size_t finished = 0;
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      RunProgress& p = progress[i];
      p.started_s.store(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count());
      auto r = sim::runSimulation(configs[i], curve, scalers[i].get(),
                                  [&p](const sim::SimProgress& sp) {
                                    p.simulated_s.store(sp.simulated_s,
                                                        std::memory_order_relaxed);
                                    p.requests.store(sp.requests, std::memory_order_relaxed);
                                  });
      p.simulated_s.store(p.total_s.load());
      std::lock_guard<std::mutex> lock(mu);
      outcomes[i].emplace(std::move(r));
      ++finished;
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 0; t < jobs; ++t) workers.emplace_back(work);
  // The main thread reports the progress while the workers run.
  const std::string when = args->str("--progress");
  const bool tty = isatty(2) == 1;
  bool shown = false;
  auto report = [&](bool final_line) {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    uint64_t reqs = 0;
    for (const auto& p : progress) reqs += p.requests.load();
    std::string line =
        progressLine(progress, wall, wall > 0 ? static_cast<double>(reqs) / wall : 0);
    if (tty) {
      std::fprintf(stderr, "\r%-100s%s", line.c_str(), final_line ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    shown = true;
  };
  {
    std::unique_lock<std::mutex> lock(mu);
    auto next_line = wall0 + std::chrono::seconds(when == "always" ? 1 : 2);
    while (!cv.wait_until(lock, next_line, [&] { return finished == n; })) {
      if (when != "never") report(false);
      next_line += std::chrono::seconds(1);
    }
  }
  for (auto& w : workers) w.join();
  if (when == "always" || (when == "auto" && shown)) report(true);
  std::vector<sim::SimResult> results;
  for (size_t i = 0; i < n; ++i) {
    auto& r = *outcomes[i];
    if (!r.isOk()) {
      std::fprintf(stderr, "surge sim: %s: %s\n", files[i].c_str(), r.status().message().c_str());
      return 2;
    }
    results.push_back(std::move(r).value());
  }
  std::vector<sim::SimSummary> summaries;
  for (const auto& r : results) summaries.push_back(r.summary);
  std::string table = sim::formatSummaryTable(summaries);
  std::string summary_json = sim::summaryJson(summaries, first.seed);
  std::fputs(json ? summary_json.c_str() : table.c_str(), stdout);

  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) {
      std::fprintf(stderr, "surge sim: cannot create %s: %s\n", out_dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
    std::filesystem::path dir(out_dir);
    std::vector<std::string> names;
    std::vector<const std::vector<sim::IntervalRow>*> series;
    for (size_t i = 0; i < results.size(); ++i) {
      names.push_back(configs[i].name);
      series.push_back(&results[i].series);
      if (!writeFile(dir / (safeFileName(configs[i].name) + ".csv"),
                     sim::seriesCsv(results[i].series))) {
        return 1;
      }
    }
    char pct[32];
    std::snprintf(pct, sizeof pct, "p%.4g", first.slo.percentile * 100);
    const std::string label(pct);
    if (!writeFile(dir / "chart.svg",
                   sim::chartSvg(names, series, toSeconds(first.slo.target) * 1e3, label)) ||
        !writeFile(dir / "summary.json", summary_json) || !writeFile(dir / "summary.txt", table)) {
      return 1;
    }
    if (!json) std::printf("wrote %s/{summary.json,summary.txt,chart.svg,*.csv}\n", out_dir.c_str());
  }
  return 0;
}

}  // namespace surge::cli
