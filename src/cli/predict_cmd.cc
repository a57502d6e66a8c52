// `surge predict`: the predictive scaler from the command line (docs/predictive.md).
//   surge predict --history F --at TIME --rps-per-replica N   forecast + recommended replicas
//   surge predict synth --days 28 --seed 1 [--shape S] > trace.csv   a synthetic seasonal trace
//   surge predict evaluate --history F --holdout-days 7        MAPE on held-out days: the
//                          baselines, the harmonic regression and the combination, 10m to 7d
// Wiring only: autoscale/predict/ does the work. Exit 2 on bad flags or input, 1 on I/O failure.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autoscale/predict/combined_forecaster.h"
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
      {"evaluate", "MAPE on held-out days: baselines, harmonic regression, combination"},
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
          "with a combination of \"same time last week\", \"same time on the last day of the same\n"
          "kind\" and a harmonic regression, chosen per horizon by backtests on the history, and\n"
          "recommend ceil(--quantile forecast / rps-per-replica) replicas, at least\n"
          "--min-replicas. See docs/predictive.md.\n",
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
              {.name = "--quantile",
               .value_name = "Q",
               .help = "size for this quantile of the forecast (0.5 = the point forecast)",
               .type = FlagType::kDouble,
               .default_value = "0.9",
               .min = 0.01,
               .max = 0.99},
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
              {.name = "--shape",
               .value_name = "NAME",
               .help = "start from a named shape (weekly, daily, trend, holiday, flash; "
                       "docs/predictive.md); the other flags given override it",
               .choices = autoscale::syntheticShapeNames()},
              {.name = "--holidays",
               .value_name = "DAYS",
               .help = "comma-separated day numbers (0 = the first day) that are holidays: "
                       "weekend level and shape"},
              {.name = "--business-hours",
               .help = "weekdays follow a business-hours curve (steep ramps at 08:00 and 18:00)",
               .type = FlagType::kBool},
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
          "forecasts those days and prints the MAPE next to the seasonal-naive baseline; then\n"
          "compares, per 5-minute bucket and at horizons of 10m, 1h, 1d and 7d (rolling origins),\n"
          "the baselines \"same time last week\" and \"same time on the last day of the same\n"
          "kind\", the harmonic regression and the combination, with the coverage of the\n"
          "combination's --quantile.\n",
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
              {.name = "--quantile",
               .value_name = "Q",
               .help = "the upper quantile whose coverage the comparison reports",
               .type = FlagType::kDouble,
               .default_value = "0.9",
               .min = 0.01,
               .max = 0.99},
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

// "1d", "7d" for whole days, else durationText ("10m", "1h").
std::string horizonText(int64_t s) {
  if (s > 0 && s % autoscale::kSecondsPerDay == 0) {
    return std::to_string(s / autoscale::kSecondsPerDay) + "d";
  }
  return durationText(s);
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

  const double quantile = args->number("--quantile");
  autoscale::CombinedForecaster combined;
  if (Status s = combined.fit(*samples); !s.isOk()) return fail(s);
  const autoscale::SeasonalForecaster& model = combined.harmonic();
  const double forecast = combined.forecast(at);
  const double sized = combined.forecastQuantile(at, quantile);
  const int32_t replicas =
      autoscale::predictiveReplicas(sized, rps_per_replica, static_cast<int32_t>(min_replicas));
  const std::string at_rfc = autoscale::formatRfc3339(at);

  if (args->boolean("--json")) {
    nlohmann::ordered_json j;
    j["at"] = at_rfc;
    j["at_unix"] = at;
    j["lead_seconds"] = at - last;
    j["forecast_rps"] = forecast;
    j["quantile"] = quantile;
    j["forecast_quantile_rps"] = sized;
    j["rps_per_replica"] = rps_per_replica;
    j["min_replicas"] = min_replicas;
    j["replicas"] = replicas;
    nlohmann::ordered_json m;
    m["kind"] = "combination";
    m["summary"] = combined.summary();
    m["backtested"] = combined.backtested();
    m["weekly_trend"] = combined.weeklyTrend();
    nlohmann::ordered_json bands = nlohmann::ordered_json::array();
    for (int b = 0; b < autoscale::kHorizonBands; ++b) {
      const autoscale::BandChoice& c = combined.bands()[b];
      nlohmann::ordered_json weights = nlohmann::ordered_json::object();
      for (int i = 0; i < autoscale::kComponentCount; ++i) {
        if (c.weights[i] != 0) {
          weights[autoscale::componentName(static_cast<autoscale::Component>(i))] = c.weights[i];
        }
      }
      bands.push_back({{"band", autoscale::horizonBandName(b)},
                       {"weights", weights},
                       {"backtest_mape", c.backtest_mape}});
    }
    m["bands"] = bands;
    m["harmonic_kind"] = model.flat() ? "flat_mean" : "seasonal_regression";
    m["harmonic_summary"] = model.summary();
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
  std::printf("Model: %s\n", combined.summary().c_str());
  const std::string lead = at >= last ? "+" + durationText(at - last) + " after the last sample"
                                      : durationText(last - at) + " before the last sample";
  std::printf("Predicted traffic at %s (%s): %s req/s, %s quantile %s req/s\n", at_rfc.c_str(),
              lead.c_str(), fixed(forecast, 1).c_str(), g(quantile).c_str(),
              fixed(sized, 1).c_str());
  std::printf("Recommended replicas for %s: %d (ceil(%s / %s), at least %lld)\n", at_rfc.c_str(),
              replicas, fixed(sized, 1).c_str(), g(rps_per_replica).c_str(),
              static_cast<long long>(min_replicas));
  return 0;
}

int runSynth(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(synthSpec(), argv, &exit_code);
  if (!args) return exit_code;
  autoscale::SyntheticTraceOptions o;
  const bool shaped = args->has("--shape");
  if (shaped) {
    auto shape = autoscale::syntheticShape(args->str("--shape"));
    if (!shape.isOk()) return usageError(synthSpec(), "--shape: " + shape.status().message());
    o = *shape;
  }
  // With --shape, only the flags given override it; without, every flag's default applies.
  auto set = [&](const char* name, double* field) {
    if (!shaped || args->has(name)) *field = args->number(name);
  };
  set("--days", &o.days);
  set("--base", &o.base);
  set("--amplitude", &o.amplitude);
  set("--weekend-dip", &o.weekend_dip);
  set("--trend", &o.trend_per_week);
  set("--noise", &o.noise);
  set("--wander", &o.wander);
  set("--spikes", &o.spikes_per_day);
  set("--spike-magnitude", &o.spike_magnitude);
  o.days = args->number("--days");
  o.step_seconds = wholeSeconds(*args, "--step");
  if (args->boolean("--business-hours")) o.business_hours = true;
  if (args->has("--holidays")) {
    o.holidays.clear();
    const std::string& list = args->str("--holidays");
    size_t pos = 0;
    while (pos <= list.size()) {
      const size_t comma = std::min(list.find(',', pos), list.size());
      const std::string_view item = std::string_view(list).substr(pos, comma - pos);
      int day = -1;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), day);
      if (item.empty() || ec != std::errc() || end != item.data() + item.size() || day < 0) {
        return usageError(synthSpec(), "--holidays: '" + std::string(item) +
                                           "' is not a day number (0, 1, ...; comma-separated)");
      }
      o.holidays.push_back(day);
      pos = comma + 1;
    }
  }
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
  autoscale::ComparisonOptions compare;
  compare.holdout_seconds = options.holdout_seconds;
  compare.quantile = args->number("--quantile");
  auto c = autoscale::compareForecasters(*samples, compare);
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
    nlohmann::ordered_json cmp;
    if (c.isOk()) {
      cmp["quantile"] = c->quantile;
      cmp["holdout_buckets"] = c->holdout_buckets;
      cmp["summary"] = c->summary;
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const autoscale::HorizonComparison& h : c->horizons) {
        rows.push_back({{"horizon_seconds", h.horizon_seconds},
                        {"horizon", horizonText(h.horizon_seconds)},
                        {"same_time_last_week", stats(h.last_week)},
                        {"same_time_last_day_of_kind", stats(h.last_day)},
                        {"harmonic", stats(h.harmonic)},
                        {"combination", stats(h.combination)},
                        {"combination_quantile_coverage", h.coverage},
                        {"skipped", h.skipped}});
      }
      cmp["horizons"] = rows;
      const autoscale::HorizonComparison& w = c->hourly_from_split;
      cmp["hourly_from_split"] = {{"same_time_last_week", stats(w.last_week)},
                                  {"same_time_last_day_of_kind", stats(w.last_day)},
                                  {"harmonic", stats(w.harmonic)},
                                  {"combination", stats(w.combination)},
                                  {"combination_quantile_coverage", w.coverage},
                                  {"skipped", w.skipped}};
    } else {
      cmp["error"] = c.status().message();
    }
    j["comparison"] = cmp;
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
  if (!c.isOk()) {
    std::printf("\nNo comparison of the baselines: %s\n", c.status().message().c_str());
    return 0;
  }
  std::printf("\nMAPE per 5-minute bucket, rolling origins (each forecast sees only the buckets "
              "that ended by its time minus the horizon):\n");
  std::printf("Combination: %s\n\n", c->summary.c_str());
  const std::string cover = "q" + fixed(100 * c->quantile, 0) + " coverage";
  std::printf("  %-8s %10s %10s %10s %12s %14s %8s\n", "horizon", "last week", "last day",
              "harmonic", "combination", cover.c_str(), "buckets");
  for (const autoscale::HorizonComparison& h : c->horizons) {
    std::printf("  %-8s %10s %10s %10s %12s %14s %8zu\n", horizonText(h.horizon_seconds).c_str(),
                pct(h.last_week.mape).c_str(), pct(h.last_day.mape).c_str(),
                pct(h.harmonic.mape).c_str(), pct(h.combination.mape).c_str(),
                pct(h.coverage).c_str(), h.combination.scored);
  }
  const autoscale::HorizonComparison& w = c->hourly_from_split;
  if (w.combination.scored > 0) {
    std::printf("  %-8s %10s %10s %10s %12s %14s %8zu\n", "hourly*", pct(w.last_week.mape).c_str(),
                pct(w.last_day.mape).c_str(), pct(w.harmonic.mape).c_str(),
                pct(w.combination.mape).c_str(), pct(w.coverage).c_str(), w.combination.scored);
  }
  std::printf("\n(last week = same time last week; last day = same time on the last weekday, or "
              "weekend day for a weekend; hourly* = every held-out hour's mean forecast from the "
              "split alone, column 'buckets' counting hours)\n");
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
