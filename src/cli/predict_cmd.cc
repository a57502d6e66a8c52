// `surge predict`: the predictive scaler from the command line (docs/predictive.md).
//   surge predict --history F --at TIME --rps-per-replica N   forecast + replicas (the seed's example)
//   surge predict synth --days 28 --seed 1 > trace.csv         a synthetic seasonal trace
//   surge predict evaluate --history F --holdout-days 7        MAPE on held-out days vs seasonal naive
// Wiring only: autoscale/predict/ does the work. Exit 2 on bad flags or input, 1 on I/O failure.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autoscale/predict/evaluate.h"
#include "autoscale/predict/forecaster.h"
#include "autoscale/predict/history.h"
#include "autoscale/predict/synthetic_trace.h"
#include "cli/commands.h"
#include "common/random.h"
#include "config/suggest.h"
#include "config/units.h"

namespace surge::cli {
namespace {

using autoscale::RpsSample;

void usage(FILE* out) {
  std::fprintf(
      out,
      "Usage: surge predict --history FILE --at TIME --rps-per-replica N [options]\n"
      "       surge predict synth [--days 28 --seed 1 ...] > trace.csv\n"
      "       surge predict evaluate --history FILE [--holdout-days 7 --horizon 10m]\n\n"
      "Forecast the request rate from a history (CSV timestamp,rps; Unix seconds or RFC 3339)\n"
      "with a regression on daily and weekly seasonality and a trend, and recommend\n"
      "ceil(forecast / rps-per-replica) replicas, at least --min-replicas. See docs/predictive.md.\n\n"
      "Forecast:\n"
      "  --history FILE          the recorded request rate (what the autoscaler appends)\n"
      "  --at TIME               RFC 3339 (2026-02-02T09:00:00Z), Unix seconds, or +DURATION\n"
      "                          after the last sample (+10m); cover a replica's cold start\n"
      "  --rps-per-replica N     req/s one replica sustains (> 0)\n"
      "  --min-replicas N        floor of the recommendation (default 2, the seed's HA minimum)\n"
      "  --json                  one JSON object instead of text\n"
      "synth (CSV on stdout or --out):\n"
      "  --days D (28)  --seed N (1)  --step DUR (15s)  --start TIME (2026-01-05T00:00:00Z)\n"
      "  --base RPS (500)          mean weekday rate at the start\n"
      "  --amplitude F (0.6)       diurnal swing, fraction of the level\n"
      "  --weekend-dip F (0.3)     weekend level reduction\n"
      "  --trend F (0.02)          growth per week, fraction\n"
      "  --noise F (0.05)          per-sample relative Gaussian noise\n"
      "  --wander F (0.03)         slow level drift (AR(1), 1 h correlation), relative sd\n"
      "  --spikes N (2)            random spikes per day\n"
      "  --spike-magnitude F (1.5) peak extra rate of a spike, fraction\n"
      "  --out FILE                write there instead of stdout\n"
      "evaluate:\n"
      "  --history FILE            the trace\n"
      "  --holdout-days D (7)      fit on everything before the last D days, forecast those\n"
      "  --horizon DUR (10m)       each forecast uses only data known DUR before its time\n"
      "  --json                    one JSON object instead of text\n\n"
      "Example: surge predict synth --days 28 > trace.csv\n"
      "         surge predict --history trace.csv --at +10m --rps-per-replica 100\n");
}

struct FlagSpec {
  const char* name;
  bool takes_value;
};

// "--name value" or "--name=value"; the last occurrence wins. Errors name the flag.
StatusOr<std::map<std::string, std::string>> parseFlags(const std::vector<std::string>& args,
                                                        size_t start,
                                                        const std::vector<FlagSpec>& specs) {
  std::map<std::string, std::string> out;
  std::vector<std::string_view> names;
  for (const FlagSpec& f : specs) names.push_back(f.name);
  for (size_t i = start; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (size_t eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    } else {
      return invalidArgument("unexpected argument '" + a + "'");
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : specs) {
      if (a == f.name) spec = &f;
    }
    if (spec == nullptr) {
      return invalidArgument("unknown option '" + a + "'" + config::didYouMean(a, names));
    }
    if (!spec->takes_value) {
      if (inline_value) return invalidArgument(a + " takes no value");
      out[a] = "";
      continue;
    }
    if (inline_value) {
      out[a] = *inline_value;
    } else if (i + 1 < args.size()) {
      out[a] = args[++i];
    } else {
      return invalidArgument(a + " needs a value");
    }
  }
  return out;
}

StatusOr<double> number(const std::map<std::string, std::string>& flags, const std::string& name,
                        double fallback, double lo, double hi, bool lo_open = false) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  const std::string& s = it->second;
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    return invalidArgument(name + ": expected a number, found '" + s + "'");
  }
  if ((lo_open ? !(v > lo) : !(v >= lo)) || v > hi) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), ": must be %s %g and at most %g, found '", lo_open ? ">" : ">=",
                  lo, hi);
    return invalidArgument(name + buf + s + "'");
  }
  return v;
}

StatusOr<int64_t> integer(const std::map<std::string, std::string>& flags,
                          const std::string& name, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  const std::string& s = it->second;
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return invalidArgument(name + ": expected an integer, found '" + s + "'");
  }
  if (v < lo || v > hi) {
    return invalidArgument(name + ": must be between " + std::to_string(lo) + " and " +
                           std::to_string(hi) + ", found '" + s + "'");
  }
  return v;
}

StatusOr<int64_t> seconds(const std::map<std::string, std::string>& flags, const std::string& name,
                          int64_t fallback, int64_t lo) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  auto d = config::parseDuration(it->second);
  if (!d.isOk()) return invalidArgument(name + ": " + d.status().message());
  const int64_t s = static_cast<int64_t>(d->count() / 1'000'000'000);
  if (s < lo) {
    return invalidArgument(name + ": must be at least " + std::to_string(lo) + "s, found '" +
                           it->second + "'");
  }
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string g(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string durationText(int64_t s) {
  if (s < 0) return "-" + config::formatDuration(std::chrono::seconds(-s));
  return config::formatDuration(std::chrono::seconds(s));
}

int fail(const Status& s, int code = 2) {
  std::fprintf(stderr, "surge predict: %s\n", s.message().c_str());
  return code;
}

// Loads and checks a non-empty history; the error names the file.
StatusOr<std::vector<RpsSample>> history(const std::map<std::string, std::string>& flags) {
  auto it = flags.find("--history");
  if (it == flags.end()) return invalidArgument("--history FILE is required");
  ASSIGN_OR_RETURN(std::vector<RpsSample> samples, autoscale::loadRpsHistory(it->second));
  if (samples.empty()) return invalidArgument(it->second + ": no samples");
  return samples;
}

int runForecast(const std::vector<std::string>& args) {
  auto flags = parseFlags(args, 0,
                          {{"--history", true},
                           {"--at", true},
                           {"--rps-per-replica", true},
                           {"--min-replicas", true},
                           {"--json", false},
                           {"--help", false}});
  if (!flags.isOk()) {
    fail(flags.status());
    std::fprintf(stderr, "Run 'surge predict --help'.\n");
    return 2;
  }
  if (flags->count("--help")) {
    usage(stdout);
    return 0;
  }
  if (!flags->count("--at")) return fail(invalidArgument("--at TIME is required"));
  if (!flags->count("--rps-per-replica")) {
    return fail(invalidArgument("--rps-per-replica N is required (req/s one replica sustains)"));
  }
  auto rps_per_replica = number(*flags, "--rps-per-replica", 0, 0, 1e12, /*lo_open=*/true);
  if (!rps_per_replica.isOk()) return fail(rps_per_replica.status());
  auto min_replicas = integer(*flags, "--min-replicas", 2, 0, 1'000'000);
  if (!min_replicas.isOk()) return fail(min_replicas.status());
  auto samples = history(*flags);
  if (!samples.isOk()) return fail(samples.status());

  int64_t first = samples->front().unix_seconds, last = first;
  for (const RpsSample& s : *samples) {
    first = std::min(first, s.unix_seconds);
    last = std::max(last, s.unix_seconds);
  }
  const std::string& at_text = flags->at("--at");
  int64_t at = 0;
  if (!at_text.empty() && at_text[0] == '+') {
    auto d = config::parseDuration(std::string_view(at_text).substr(1));
    if (!d.isOk()) return fail(invalidArgument("--at: " + d.status().message()));
    at = last + static_cast<int64_t>(d->count() / 1'000'000'000);
  } else {
    auto t = autoscale::parseTimestamp(at_text);
    if (!t.isOk()) return fail(invalidArgument("--at: " + t.status().message()));
    at = *t;
  }

  autoscale::SeasonalForecaster model;
  if (Status s = model.fit(*samples); !s.isOk()) return fail(s);
  const double forecast = model.forecast(at);
  const int32_t replicas = autoscale::predictiveReplicas(
      forecast, *rps_per_replica, static_cast<int32_t>(*min_replicas));
  const std::string at_rfc = autoscale::formatRfc3339(at);
  const std::string& path = flags->at("--history");

  if (flags->count("--json")) {
    nlohmann::ordered_json j;
    j["at"] = at_rfc;
    j["at_unix"] = at;
    j["lead_seconds"] = at - last;
    j["forecast_rps"] = forecast;
    j["rps_per_replica"] = *rps_per_replica;
    j["min_replicas"] = *min_replicas;
    j["replicas"] = replicas;
    nlohmann::ordered_json m;
    m["kind"] = model.flat() ? "flat_mean" : "seasonal_regression";
    m["summary"] = model.summary();
    nlohmann::ordered_json coefficients = nlohmann::ordered_json::object();
    const auto names = model.featureNames();
    for (size_t i = 0; i < model.coefficients().size() && i < names.size(); ++i) {
      coefficients[names[i]] = model.coefficients()[i];
    }
    m["coefficients"] = coefficients;
    m["residual_sigma_rps"] = model.residualSigma();
    m["residual_phi"] = model.residualPhi();
    j["model"] = m;
    j["history"] = {{"path", path},
                    {"samples", samples->size()},
                    {"first", autoscale::formatRfc3339(first)},
                    {"last", autoscale::formatRfc3339(last)}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("History: %zu samples from %s to %s (%s)\n", samples->size(),
              autoscale::formatRfc3339(first).c_str(), autoscale::formatRfc3339(last).c_str(),
              path.c_str());
  std::printf("Model: %s\n", model.summary().c_str());
  const std::string lead = at >= last ? "+" + durationText(at - last) + " after the last sample"
                                      : durationText(last - at) + " before the last sample";
  std::printf("Predicted traffic at %s (%s): %s req/s\n", at_rfc.c_str(), lead.c_str(),
              fixed(forecast, 1).c_str());
  std::printf("Recommended replicas for %s: %d (ceil(%s / %s), at least %lld)\n", at_rfc.c_str(),
              replicas, fixed(forecast, 1).c_str(), g(*rps_per_replica).c_str(),
              static_cast<long long>(*min_replicas));
  return 0;
}

int runSynth(const std::vector<std::string>& args) {
  auto flags = parseFlags(args, 1,
                          {{"--days", true},
                           {"--seed", true},
                           {"--step", true},
                           {"--start", true},
                           {"--base", true},
                           {"--amplitude", true},
                           {"--weekend-dip", true},
                           {"--trend", true},
                           {"--noise", true},
                           {"--wander", true},
                           {"--spikes", true},
                           {"--spike-magnitude", true},
                           {"--out", true},
                           {"--help", false}});
  if (!flags.isOk()) {
    fail(flags.status());
    std::fprintf(stderr, "Run 'surge predict --help'.\n");
    return 2;
  }
  if (flags->count("--help")) {
    usage(stdout);
    return 0;
  }
  autoscale::SyntheticTraceOptions o;
  std::vector<Status> errors;
  auto take = [&](StatusOr<double> v, double* out) {
    if (v.isOk()) {
      *out = *v;
    } else {
      errors.push_back(v.status());
    }
  };
  take(number(*flags, "--days", o.days, 0, 3660, true), &o.days);
  take(number(*flags, "--base", o.base, 0, 1e9, true), &o.base);
  take(number(*flags, "--amplitude", o.amplitude, 0, 1), &o.amplitude);
  take(number(*flags, "--weekend-dip", o.weekend_dip, 0, 0.99), &o.weekend_dip);
  take(number(*flags, "--trend", o.trend_per_week, -1, 10), &o.trend_per_week);
  take(number(*flags, "--noise", o.noise, 0, 1), &o.noise);
  take(number(*flags, "--wander", o.wander, 0, 0.5), &o.wander);
  take(number(*flags, "--spikes", o.spikes_per_day, 0, 1000), &o.spikes_per_day);
  take(number(*flags, "--spike-magnitude", o.spike_magnitude, 0, 100), &o.spike_magnitude);
  if (!errors.empty()) return fail(errors.front());
  auto seed = integer(*flags, "--seed", 1, 0, INT64_MAX);
  if (!seed.isOk()) return fail(seed.status());
  auto step = seconds(*flags, "--step", o.step_seconds, 1);
  if (!step.isOk()) return fail(step.status());
  o.step_seconds = *step;
  if (flags->count("--start")) {
    auto t = autoscale::parseTimestamp(flags->at("--start"));
    if (!t.isOk()) return fail(invalidArgument("--start: " + t.status().message()));
    o.start_unix_seconds = *t;
  }
  Random rng(static_cast<uint64_t>(*seed));
  auto trace = autoscale::generateSyntheticTrace(o, rng);
  if (!trace.isOk()) return fail(trace.status());

  std::string text = "timestamp,rps\n";
  text.reserve(trace->size() * 20);
  char line[64];
  for (const RpsSample& s : *trace) {
    int n = std::snprintf(line, sizeof(line), "%lld,%.3f\n", static_cast<long long>(s.unix_seconds),
                          s.rps);
    text.append(line, static_cast<size_t>(n));
  }
  FILE* out = stdout;
  const bool to_file = flags->count("--out") > 0;
  if (to_file) {
    out = std::fopen(flags->at("--out").c_str(), "w");
    if (out == nullptr) {
      return fail(unavailable("--out: cannot write '" + flags->at("--out") + "'"), 1);
    }
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  const bool closed = to_file ? std::fclose(out) == 0 : std::fflush(out) == 0;
  if (!ok || !closed) return fail(unavailable("write failed"), 1);
  return 0;
}

int runEvaluate(const std::vector<std::string>& args) {
  auto flags = parseFlags(args, 1,
                          {{"--history", true},
                           {"--holdout-days", true},
                           {"--horizon", true},
                           {"--json", false},
                           {"--help", false}});
  if (!flags.isOk()) {
    fail(flags.status());
    std::fprintf(stderr, "Run 'surge predict --help'.\n");
    return 2;
  }
  if (flags->count("--help")) {
    usage(stdout);
    return 0;
  }
  auto holdout_days = number(*flags, "--holdout-days", 7, 0, 3660, true);
  if (!holdout_days.isOk()) return fail(holdout_days.status());
  auto horizon = seconds(*flags, "--horizon", 600, 0);
  if (!horizon.isOk()) return fail(horizon.status());
  auto samples = history(*flags);
  if (!samples.isOk()) return fail(samples.status());
  autoscale::EvaluationOptions options;
  options.holdout_seconds =
      static_cast<int64_t>(std::llround(*holdout_days * autoscale::kSecondsPerDay));
  options.horizon_seconds = *horizon;
  const size_t total = samples->size();
  auto r = autoscale::evaluateHoldout(std::move(samples).value(), options);
  if (!r.isOk()) return fail(r.status());
  const std::string& path = flags->at("--history");

  if (flags->count("--json")) {
    auto stats = [](const autoscale::ErrorStats& s) {
      return nlohmann::ordered_json{{"mape", s.mape}, {"scored", s.scored}};
    };
    nlohmann::ordered_json j;
    j["history"] = path;
    j["samples"] = total;
    j["split"] = autoscale::formatRfc3339(r->split_unix_seconds);
    j["train_samples"] = r->train_samples;
    j["holdout_samples"] = r->holdout_samples;
    j["skipped"] = r->skipped;
    j["horizon_seconds"] = *horizon;
    j["model_summary"] = r->model_summary;
    j["model"] = stats(r->model);
    j["regression_only"] = stats(r->seasonal_only);
    j["seasonal_naive"] = stats(r->naive);
    j["model_per_bucket"] = stats(r->model_bucket);
    j["seasonal_naive_per_bucket"] = stats(r->naive_bucket);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  auto pct = [](double v) { return fixed(100 * v, 2) + " %"; };
  std::printf("History: %zu samples (%s); fit on %zu before %s, %zu held out (%s days)\n", total,
              path.c_str(), r->train_samples,
              autoscale::formatRfc3339(r->split_unix_seconds).c_str(), r->holdout_samples,
              g(*holdout_days).c_str());
  std::printf("Model: %s\n", r->model_summary.c_str());
  std::printf("Horizon %s: each forecast sees only data known %s before its time\n\n",
              durationText(*horizon).c_str(), durationText(*horizon).c_str());
  std::printf("  %-38s %12s %16s\n", "MAPE", "per sample", "per 5m bucket");
  std::printf("  %-38s %12s %16s\n", "model (regression + recent residual)", pct(r->model.mape).c_str(),
              pct(r->model_bucket.mape).c_str());
  std::printf("  %-38s %12s %16s\n", "regression alone", pct(r->seasonal_only.mape).c_str(), "");
  std::printf("  %-38s %12s %16s\n", "seasonal naive (same time last week)",
              pct(r->naive.mape).c_str(), pct(r->naive_bucket.mape).c_str());
  std::printf("\nScored %zu held-out samples (%zu skipped: rps 0 or no sample a week earlier)\n",
              r->model.scored, r->skipped);
  return 0;
}

}  // namespace

int runPredict(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "synth") return runSynth(args);
  if (!args.empty() && args[0] == "evaluate") return runEvaluate(args);
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    std::fprintf(stderr,
                 "surge predict: unknown subcommand '%s'%s (expected synth, evaluate, or "
                 "flags)\nRun 'surge predict --help'.\n",
                 args[0].c_str(), config::didYouMean(args[0], {"synth", "evaluate"}).c_str());
    return 2;
  }
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  return runForecast(args);
}

}  // namespace surge::cli
