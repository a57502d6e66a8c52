// `surge predict`: the predictive scaler from the command line (docs/predictive.md).
//   surge predict --history F --at TIME --rps-per-replica N   forecast + recommended replicas
//   surge predict synth --days 28 --seed 1 > trace.csv         a synthetic seasonal trace
//   surge predict evaluate --history F --holdout-days 7        MAPE on held-out days vs naive
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
#include "cli/flags.h"
#include "common/random.h"
#include "config/suggest.h"
#include "config/units.h"

namespace surge::cli {
namespace {

using autoscale::RpsSample;

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> subs = {
      {"synth", "a synthetic seasonal trace (CSV timestamp,rps)"},
      {"evaluate", "MAPE on held-out days against the seasonal-naive baseline"},
  };
  return subs;
}

const CommandSpec& forecastSpec() {
  static const CommandSpec spec{
      .path = "predict",
      .synopsis = {"--history FILE --at TIME --rps-per-replica N [options]",
                   "synth [--days 28 --seed 1 ...] > trace.csv",
                   "evaluate --history FILE [--holdout-days 7 --horizon 10m]"},
      .description =
          "Forecast the request rate from a history (CSV timestamp,rps; Unix seconds or RFC 3339)\n"
          "with a regression on daily and weekly seasonality and a trend, and recommend\n"
          "ceil(forecast / rps-per-replica) replicas, at least --min-replicas. See\n"
          "docs/predictive.md.\n",
      .flags =
          {
              {.name = "--history",
               .value_name = "FILE",
               .help = "the recorded request rate (what the autoscaler appends)",
               .required = true},
              {.name = "--at",
               .value_name = "TIME",
               .help = "RFC 3339 (2026-02-02T09:00:00Z), Unix seconds, or +DURATION after the "
                       "last sample (+10m); cover a replica's cold start",
               .required = true},
              {.name = "--rps-per-replica",
               .value_name = "N",
               .help = "req/s one replica sustains",
               .type = FlagType::kDouble,
               .required = true,
               .min = 0,
               .max = 1e12,
               .min_exclusive = true},
              {.name = "--min-replicas",
               .value_name = "N",
               .help = "floor of the recommendation (the high-availability minimum)",
               .type = FlagType::kInt,
               .default_value = "2",
               .min = 0,
               .max = 1'000'000},
              {.name = "--json",
               .help = "one JSON object instead of text",
               .type = FlagType::kBool},
          },
      .subcommands = subcommands(),
      .epilog =
          "Example: surge predict synth --days 28 > trace.csv\n"
          "         surge predict --history trace.csv --at +10m --rps-per-replica 100\n",
  };
  return spec;
}

const CommandSpec& synthSpec() {
  auto number = [](std::string name, std::string value, std::string help, std::string def,
                   double lo, double hi, bool lo_open = false) {
    return Flag{.name = std::move(name),
                .value_name = std::move(value),
                .help = std::move(help),
                .type = FlagType::kDouble,
                .default_value = std::move(def),
                .min = lo,
                .max = hi,
                .min_exclusive = lo_open};
  };
  static const CommandSpec spec{
      .path = "predict synth",
      .synopsis = {"[--days 28 --seed 1 ...] > trace.csv"},
      .description =
          "A synthetic seasonal request-rate trace, CSV timestamp,rps on stdout or "
          "--out.\n",
      .flags =
          {
              number("--days", "D", "length of the trace", "28", 0, 3660, true),
              {.name = "--seed",
               .value_name = "N",
               .help = "random seed of the noise, wander and spikes",
               .type = FlagType::kInt,
               .default_value = "1",
               .min = 0},
              {.name = "--step",
               .value_name = "DUR",
               .help = "sample interval, whole seconds",
               .type = FlagType::kDuration,
               .default_value = "15s",
               .min = 1},
              {.name = "--start",
               .value_name = "TIME",
               .help = "the first sample, RFC 3339 or Unix seconds",
               .default_value = "2026-01-05T00:00:00Z"},
              number("--base", "RPS", "mean weekday rate at the start", "500", 0, 1e9, true),
              number("--amplitude", "F", "diurnal swing, fraction of the level", "0.6", 0, 1),
              number("--weekend-dip", "F", "weekend level reduction", "0.3", 0, 0.99),
              number("--trend", "F", "growth per week, fraction", "0.02", -1, 10),
              number("--noise", "F", "per-sample relative Gaussian noise", "0.05", 0, 1),
              number("--wander", "F", "slow level drift (AR(1), 1 h correlation), relative sd",
                     "0.03", 0, 0.5),
              number("--spikes", "N", "random spikes per day", "2", 0, 1000),
              number("--spike-magnitude", "F", "peak extra rate of a spike, fraction", "1.5", 0,
                     100),
              {.name = "--out", .value_name = "FILE", .help = "write there instead of stdout"},
          },
  };
  return spec;
}

const CommandSpec& evaluateSpec() {
  static const CommandSpec spec{
      .path = "predict evaluate",
      .synopsis = {"--history FILE [--holdout-days 7 --horizon 10m] [--json]"},
      .description =
          "Fits the forecaster on everything before the last --holdout-days days of the history,\n"
          "forecasts those days and prints the MAPE next to the seasonal-naive baseline.\n",
      .flags =
          {
              {.name = "--history", .value_name = "FILE", .help = "the trace", .required = true},
              {.name = "--holdout-days",
               .value_name = "D",
               .help = "fit on everything before the last D days, forecast those",
               .type = FlagType::kDouble,
               .default_value = "7",
               .min = 0,
               .max = 3660,
               .min_exclusive = true},
              {.name = "--horizon",
               .value_name = "DUR",
               .help = "each forecast uses only data known DUR before its time",
               .type = FlagType::kDuration,
               .default_value = "10m",
               .min = 0},
              {.name = "--json",
               .help = "one JSON object instead of text",
               .type = FlagType::kBool},
          },
  };
  return spec;
}

// Whole seconds of a duration flag (truncated, as the history's timestamps are).
int64_t wholeSeconds(const ParsedArgs& args, std::string_view name) {
  return std::chrono::duration_cast<std::chrono::seconds>(args.duration(name)).count();
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
StatusOr<std::vector<RpsSample>> history(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<RpsSample> samples, autoscale::loadRpsHistory(path));
  if (samples.empty()) return invalidArgument(path + ": no samples");
  return samples;
}

int runForecast(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(forecastSpec(), argv, &exit_code);
  if (!args) return exit_code;
  const double rps_per_replica = args->number("--rps-per-replica");
  const int64_t min_replicas = args->integer("--min-replicas");
  const std::string& path = args->str("--history");
  // --at first (a usage error, before the file is read): +DURATION after the last sample, or a
  // time.
  const std::string& at_text = args->str("--at");
  std::optional<int64_t> lead_seconds, at_time;
  if (!at_text.empty() && at_text[0] == '+') {
    auto d = config::parseDuration(std::string_view(at_text).substr(1));
    if (!d.isOk()) return usageError(forecastSpec(), "--at: " + d.status().message());
    lead_seconds = static_cast<int64_t>(d->count() / 1'000'000'000);
  } else {
    auto t = autoscale::parseTimestamp(at_text);
    if (!t.isOk()) return usageError(forecastSpec(), "--at: " + t.status().message());
    at_time = *t;
  }
  auto samples = history(path);
  if (!samples.isOk()) return fail(samples.status());

  int64_t first = samples->front().unix_seconds, last = first;
  for (const RpsSample& s : *samples) {
    first = std::min(first, s.unix_seconds);
    last = std::max(last, s.unix_seconds);
  }
  const int64_t at = lead_seconds ? last + *lead_seconds : *at_time;

  autoscale::SeasonalForecaster model;
  if (Status s = model.fit(*samples); !s.isOk()) return fail(s);
  const double forecast = model.forecast(at);
  const int32_t replicas =
      autoscale::predictiveReplicas(forecast, rps_per_replica, static_cast<int32_t>(min_replicas));
  const std::string at_rfc = autoscale::formatRfc3339(at);

  if (args->boolean("--json")) {
    nlohmann::ordered_json j;
    j["at"] = at_rfc;
    j["at_unix"] = at;
    j["lead_seconds"] = at - last;
    j["forecast_rps"] = forecast;
    j["rps_per_replica"] = rps_per_replica;
    j["min_replicas"] = min_replicas;
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
              replicas, fixed(forecast, 1).c_str(), g(rps_per_replica).c_str(),
              static_cast<long long>(min_replicas));
  return 0;
}

int runSynth(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(synthSpec(), argv, &exit_code);
  if (!args) return exit_code;
  autoscale::SyntheticTraceOptions o;
  o.days = args->number("--days");
  o.base = args->number("--base");
  o.amplitude = args->number("--amplitude");
  o.weekend_dip = args->number("--weekend-dip");
  o.trend_per_week = args->number("--trend");
  o.noise = args->number("--noise");
  o.wander = args->number("--wander");
  o.spikes_per_day = args->number("--spikes");
  o.spike_magnitude = args->number("--spike-magnitude");
  o.step_seconds = wholeSeconds(*args, "--step");
  auto t = autoscale::parseTimestamp(args->str("--start"));
  if (!t.isOk()) return usageError(synthSpec(), "--start: " + t.status().message());
  o.start_unix_seconds = *t;
  const int64_t seed = args->integer("--seed");
  Random rng(static_cast<uint64_t>(seed));
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
  const std::string& out_path = args->str("--out");
  const bool to_file = args->has("--out");
  if (to_file) {
    out = std::fopen(out_path.c_str(), "w");
    if (out == nullptr) return fail(unavailable("--out: cannot write '" + out_path + "'"), 1);
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  const bool closed = to_file ? std::fclose(out) == 0 : std::fflush(out) == 0;
  if (!ok || !closed) return fail(unavailable("write failed"), 1);
  return 0;
}

int runEvaluate(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(evaluateSpec(), argv, &exit_code);
  if (!args) return exit_code;
  const double holdout_days = args->number("--holdout-days");
  const int64_t horizon = wholeSeconds(*args, "--horizon");
  const std::string& path = args->str("--history");
  auto samples = history(path);
  if (!samples.isOk()) return fail(samples.status());
  autoscale::EvaluationOptions options;
  options.holdout_seconds =
      static_cast<int64_t>(std::llround(holdout_days * autoscale::kSecondsPerDay));
  options.horizon_seconds = horizon;
  const size_t total = samples->size();
  auto r = autoscale::evaluateHoldout(std::move(samples).value(), options);
  if (!r.isOk()) return fail(r.status());

  if (args->boolean("--json")) {
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
    j["horizon_seconds"] = horizon;
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
              g(holdout_days).c_str());
  std::printf("Model: %s\n", r->model_summary.c_str());
  std::printf("Horizon %s: each forecast sees only data known %s before its time\n\n",
              durationText(horizon).c_str(), durationText(horizon).c_str());
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
  const std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (!args.empty() && args[0] == "synth") return runSynth(rest);
  if (!args.empty() && args[0] == "evaluate") return runEvaluate(rest);
  if (args.empty()) {
    return usageError(forecastSpec(),
                      "give --history FILE --at TIME --rps-per-replica N, or a subcommand "
                      "(synth, evaluate)");
  }
  return runForecast(args);
}

}  // namespace surge::cli
