// `surge plan`: size a deployment from queueing theory. Parses flags and/or a YAML file (same
// keys in snake_case; flags win) into planner::PlanInputs, runs planner::makePlan and prints a
// table or, with --json, one object with the sections classic_formula, littles_law, queueing,
// availability, cost (docs/planning.md). Bad input: one line naming the flag or file:line:col
// and key, exit 2.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "config/node.h"
#include "config/suggest.h"
#include "config/units.h"
#include "planner/plan.h"
#include "planner/profile.h"

namespace surge::cli {
namespace {

using planner::PlanInputs;

enum class Kind {
  kPositive,          // number > 0
  kFraction,          // [0, 1]
  kOpenFraction,      // (0, 1)
  kHalfOpenFraction,  // (0, 1]
  kNonNegative,       // ≥ 0
  kCount,             // integer
  kDuration,          // > 0, seconds or with a unit
  kDistribution,      // exponential | deterministic | general
};

// One planner input: its YAML key, its flag and what the flag's --help says. The flags of the
// command line are made from this table (spec() below); values from the file and the flags
// are checked by the same convert().
struct Field {
  const char* key;   // YAML key
  const char* flag;  // command-line flag
  Kind kind;
  double lo = 0, hi = 0;  // kCount / kNonNegative / kPositive upper bounds
  const char* value_name = "";
  const char* help = "";
  const char* section = "";  // a --help heading before this flag
};

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"peak_rps", "--peak-rps", Kind::kPositive, 0, 1e12, "N", "peak request rate (req/s)",
       "Classic formula (replicas = peak / per-replica rate + headroom + failure buffer + N+1):"},
      {"instance_rps", "--instance-rps", Kind::kPositive, 0, 1e12, "N",
       "req/s one replica sustains (single_instance_rps)"},
      {"failure_rate", "--failure-rate", Kind::kFraction, 0, 0, "F",
       "failure buffer as a fraction of base (default 0.01)"},
      {"spike_headroom", "--spike-headroom", Kind::kNonNegative, 0, 100, "F",
       "spike headroom fraction (default 0.2); the queueing model sizes for the design rate = "
       "peak × (1 + F)"},
      {"redundancy", "--redundancy", Kind::kCount, 0, 10'000'000, "N",
       "extra replicas, the N of N+1 (default 1)"},
      {"price_per_hour", "--price-per-hour", Kind::kNonNegative, 0, 1e9, "P",
       "$ per replica-hour (default 0.10)"},
      {"service_time", "--service-time", Kind::kDuration, 0, 0, "T",
       "mean service time: seconds (0.05) or with a unit (50ms)",
       "Queueing model (one shared queue in front of all replicas):"},
      {"slots", "--slots", Kind::kCount, 1, 10'000'000, "K",
       "parallel requests per replica (default 1)"},
      {"service_distribution", "--service-distribution", Kind::kDistribution, 0, 0, "D",
       "exponential (M/M/c, default), deterministic (M/D/c, exact) or general (G/G/c, "
       "Allen-Cunneen; percentiles heuristic)"},
      {"cs2", "--cs2", Kind::kNonNegative, 0, 10000, "X",
       "general: squared coefficient of variation of service (1)"},
      {"ca2", "--ca2", Kind::kNonNegative, 0, 10000, "X",
       "general: squared coefficient of variation of arrivals (1)"},
      {"percentile", "--percentile", Kind::kOpenFraction, 0, 0, "P",
       "response-time percentile as a fraction (default 0.99)"},
      {"latency_target", "--latency-target", Kind::kDuration, 0, 0, "T",
       "target for that percentile (size the smallest count)"},
      {"replicas", "--replicas", Kind::kCount, 1, 10'000'000, "N",
       "evaluate N replicas instead of solving"},
      {"replica_availability", "--replica-availability", Kind::kHalfOpenFraction, 0, 0, "A",
       "probability each replica is up, e.g. 0.99", "Availability (replaces the fixed N+1):"},
      {"availability_target", "--availability-target", Kind::kOpenFraction, 0, 0, "A",
       "P(enough replicas up) to reach (default 0.999)"},
  };
  return table;
}

// The command line: the fields above (syntax checked by the parser: a number, an integer, a
// duration; ranges by convert(), which also checks the --config file), then input/output flags.
const CommandSpec& spec() {
  static const CommandSpec spec = [] {
    CommandSpec c{
        .path = "plan",
        .synopsis = {"--peak-rps N --instance-rps N [options]"},
        .description =
            "Size a deployment: the classic capacity formula (exact), Little's law, a queueing "
            "model\n"
            "sized for a latency percentile, binomial availability spares, and cost.\n",
        .epilog =
            "Example: surge plan --peak-rps 5000 --instance-rps 200 --service-time 5ms \\\n"
            "           --latency-target 50ms --replica-availability 0.99\n",
    };
    for (const Field& f : fields()) {
      if (*f.section != '\0') c.flags.push_back(section(f.section));
      Flag flag{.name = f.flag, .value_name = f.value_name, .help = f.help};
      if (f.kind == Kind::kCount) {
        flag.type = FlagType::kInt;
      } else if (f.kind == Kind::kDuration) {
        flag.type = FlagType::kDuration;
      } else if (f.kind != Kind::kDistribution) {
        flag.type = FlagType::kDouble;
      }
      if (f.kind == Kind::kPositive) flag.help += " [required]";  // here or in --config
      c.flags.push_back(std::move(flag));
    }
    c.flags.push_back(section("Input/output:"));
    c.flags.push_back(
        {.name = "--profile",
         .value_name = "FILE",
         .help = "measured inputs from `surge load --json` against ONE replica: instance_rps "
                 "(best stable level), service_time (mean latency at the lightest level), slots "
                 "(Little's law); --config and flags override them"});
    c.flags.push_back({.name = "--config",
                       .value_name = "FILE",
                       .help = "YAML with the same keys in snake_case (peak_rps: 5000); flags "
                               "override it"});
    c.flags.push_back({.name = "--json",
                       .help = "one JSON object (seconds, fractions) instead of the table",
                       .type = FlagType::kBool});
    return c;
  }();
  return spec;
}

// One raw value with where it came from: "--peak-rps" or "plan.yaml:3:11: peak_rps".
struct Raw {
  std::string text;
  std::string where;
};

struct Value {
  double number = 0;
  int64_t count = 0;
  std::string word;
  std::string where;
};

std::string fmtNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

std::optional<double> parseDouble(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Checks `raw` against `f`; the error message starts with raw.where.
StatusOr<Value> convert(const Field& f, const Raw& raw) {
  Value v;
  v.where = raw.where;
  auto bad = [&](const std::string& what) {
    return invalidArgument(raw.where + ": " + what + ", found '" + raw.text + "'");
  };
  switch (f.kind) {
    case Kind::kDuration: {
      auto d = config::parseDuration(raw.text);
      if (!d.isOk()) return invalidArgument(raw.where + ": " + d.status().message());
      v.number = static_cast<double>(d->count()) / 1e9;
      if (!(v.number > 0)) return bad("must be > 0 (seconds, or with a unit: 50ms)");
      return v;
    }
    case Kind::kDistribution: {
      if (!planner::parseServiceDistribution(raw.text)) {
        return invalidArgument(
            raw.where + ": unknown value '" + raw.text +
            "' (expected one of: exponential, deterministic, general" +
            config::didYouMean(raw.text, {"exponential", "deterministic", "general"}) + ")");
      }
      v.word = raw.text;
      return v;
    }
    case Kind::kCount: {
      int64_t n = 0;
      const char* end = raw.text.data() + raw.text.size();
      auto r = std::from_chars(raw.text.data(), end, n);
      if (raw.text.empty() || r.ec != std::errc() || r.ptr != end)
        return bad("expected an integer");
      if (n < static_cast<int64_t>(f.lo) || n > static_cast<int64_t>(f.hi)) {
        return bad("must be between " + fmtNumber(f.lo) + " and " + fmtNumber(f.hi));
      }
      v.count = n;
      return v;
    }
    default:
      break;
  }
  auto d = parseDouble(raw.text);
  if (!d) return bad("expected a number");
  const double x = *d;
  switch (f.kind) {
    case Kind::kPositive:
      if (!(x > 0 && x <= f.hi)) return bad("must be > 0 and at most " + fmtNumber(f.hi));
      break;
    case Kind::kNonNegative:
      if (!(x >= 0 && x <= f.hi)) return bad("must be between 0 and " + fmtNumber(f.hi));
      break;
    case Kind::kFraction:
      if (!(x >= 0 && x <= 1)) return bad("must be a fraction between 0 and 1");
      break;
    case Kind::kOpenFraction:
      if (!(x > 0 && x < 1)) {
        return bad(std::string("must be a fraction strictly between 0 and 1") +
                   (x > 1 && x < 100 ? " (write 0.99 for 99%)" : ""));
      }
      break;
    case Kind::kHalfOpenFraction:
      if (!(x > 0 && x <= 1)) {
        return bad(std::string("must be a fraction in (0, 1]") +
                   (x > 1 && x <= 100 ? " (write 0.99 for 99%)" : ""));
      }
      break;
    default:
      break;
  }
  v.number = x;
  return v;
}

// Reads the YAML file's keys into `raw` (flags are applied afterwards and win).
Status loadConfig(const std::string& path, std::map<std::string, Raw>* raw) {
  ASSIGN_OR_RETURN(config::Node root, config::Node::loadFile(path));
  if (root.isNull()) return Status::ok();
  if (!root.isMap()) return root.error("expected a map of plan inputs (peak_rps: 5000, ...)");
  std::vector<std::string_view> keys;
  for (const Field& f : fields()) keys.push_back(f.key);
  RETURN_IF_ERROR(root.checkKeysIn(keys));
  for (const Field& f : fields()) {
    config::Node n = root[f.key];
    if (n.isNull()) continue;
    ASSIGN_OR_RETURN(std::string text, n.asString());
    (*raw)[f.key] = Raw{text, n.location() + ": " + n.path()};
  }
  return Status::ok();
}

// What --profile derived, for the output.
struct ProfileUse {
  std::string path;
  planner::ProfileEstimate estimate;
};

// Reads a `surge load --json` report (schema surge.load/v1) into raw planner inputs.
Status loadProfile(const std::string& path, std::map<std::string, Raw>* raw, ProfileUse* use) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return invalidArgument("cannot open profile " + path);
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return invalidArgument(path + ": not a JSON object (expected `surge load --json` output)");
  }
  if (!j.contains("schema") || j["schema"] != "surge.load/v1") {
    return invalidArgument(path + ": schema: expected \"surge.load/v1\" (the output of `surge "
                           "load --json`)");
  }
  if (!j.contains("levels") || !j["levels"].is_array() || j["levels"].empty()) {
    return invalidArgument(path + ": levels: expected a non-empty array");
  }
  std::vector<planner::LoadLevel> levels;
  const auto& arr = j["levels"];
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto& l = arr[i];
    const std::string where = path + ": levels[" + std::to_string(i) + "]";
    if (!l.is_object()) return invalidArgument(where + ": expected an object");
    auto number = [&](const char* key, double* out) -> Status {
      if (!l.contains(key) || !l[key].is_number()) {
        return invalidArgument(where + "." + key + ": expected a number");
      }
      *out = l[key].get<double>();
      return Status::ok();
    };
    planner::LoadLevel level;
    level.closed = l.value("mode", std::string("closed")) != "open";
    double x = 0;
    if (level.closed) {
      RETURN_IF_ERROR(number("concurrency", &x));
      level.concurrency = static_cast<int64_t>(x);
    } else {
      RETURN_IF_ERROR(number("target_rps", &x));
      level.target_rps = x;
    }
    RETURN_IF_ERROR(number("requests", &x));
    level.requests = static_cast<int64_t>(x);
    RETURN_IF_ERROR(number("ok", &x));
    level.ok = static_cast<int64_t>(x);
    RETURN_IF_ERROR(number("errors", &x));
    level.errors = static_cast<int64_t>(x);
    RETURN_IF_ERROR(number("ok_rps", &level.ok_rps));
    if (!l.contains("latency_s") || !l["latency_s"].is_object() ||
        !l["latency_s"].contains("mean") || !l["latency_s"]["mean"].is_number()) {
      return invalidArgument(where + ".latency_s.mean: expected a number");
    }
    level.mean_latency_s = l["latency_s"]["mean"].get<double>();
    level.stable = l.value("stable", true);
    levels.push_back(level);
  }
  auto e = planner::estimateFromLoadLevels(levels);
  if (!e.isOk()) return invalidArgument(path + ": " + e.status().message());
  use->path = path;
  use->estimate = *e;
  char num[64];
  auto put = [&](const char* key, double v, const std::string& where) {
    std::snprintf(num, sizeof(num), "%.9g", v);
    (*raw)[key] = Raw{num, where};
  };
  put("instance_rps", e->instance_rps,
      path + ": levels[" + std::to_string(e->instance_level) + "].ok_rps");
  put("service_time", e->service_time_s,
      path + ": levels[" + std::to_string(e->service_level) + "].latency_s.mean");
  (*raw)["slots"] = Raw{std::to_string(e->slots), path + ": slots = round(ok_rps x latency)"};
  return Status::ok();
}

// Builds PlanInputs from converted values; cross-field rules name the flag or file:line.
StatusOr<PlanInputs> buildInputs(const std::map<std::string, Value>& v) {
  PlanInputs in;
  auto has = [&](const char* k) { return v.count(k) > 0; };
  auto num = [&](const char* k) { return v.at(k).number; };
  if (!has("peak_rps")) return invalidArgument("--peak-rps is required (or peak_rps in --config)");
  if (!has("instance_rps")) {
    return invalidArgument("--instance-rps is required (or instance_rps in --config)");
  }
  in.classic.peak_rps = num("peak_rps");
  in.classic.instance_rps = num("instance_rps");
  if (has("failure_rate")) in.classic.failure_rate = num("failure_rate");
  if (has("spike_headroom")) in.classic.spike_headroom = num("spike_headroom");
  if (has("redundancy")) in.classic.redundancy = v.at("redundancy").count;
  if (has("price_per_hour")) in.classic.price_per_hour = num("price_per_hour");

  if (!has("service_time")) {
    for (const char* k :
         {"slots", "service_distribution", "cs2", "ca2", "percentile", "replicas"}) {
      if (has(k)) {
        return invalidArgument(v.at(k).where + ": needs a service time (--service-time)");
      }
    }
  } else {
    in.service_time = num("service_time");
    if (!has("latency_target") && !has("replicas")) {
      return invalidArgument(v.at("service_time").where +
                             ": needs --latency-target (to size) or --replicas N (to evaluate)");
    }
  }
  if (has("slots")) in.slots = v.at("slots").count;
  if (has("service_distribution")) {
    in.distribution = *planner::parseServiceDistribution(v.at("service_distribution").word);
  }
  for (const char* k : {"cs2", "ca2"}) {
    if (has(k) && in.distribution != planner::ServiceDistribution::kGeneral) {
      return invalidArgument(v.at(k).where +
                             ": applies only to --service-distribution general (exponential "
                             "has cs2 = 1, deterministic cs2 = 0; arrivals are Poisson, ca2 = 1)");
    }
  }
  if (has("cs2")) in.cs2 = num("cs2");
  if (has("ca2")) in.ca2 = num("ca2");
  if (has("percentile")) in.percentile = num("percentile");
  if (has("latency_target")) in.latency_target = num("latency_target");
  if (has("replicas")) in.replicas = v.at("replicas").count;
  if (has("availability_target") && !has("replica_availability")) {
    return invalidArgument(v.at("availability_target").where +
                           ": needs --replica-availability (the probability each replica is up)");
  }
  if (has("replica_availability")) in.replica_availability = num("replica_availability");
  if (has("availability_target")) in.availability_target = num("availability_target");
  return in;
}

// ---- output -------------------------------------------------------------------------------------

nlohmann::ordered_json orNull(const std::optional<double>& x) {
  if (!x || !std::isfinite(*x)) return nullptr;
  return *x;
}

nlohmann::ordered_json toJson(const planner::Plan& p) {
  nlohmann::ordered_json j;
  j["classic_formula"] = {
      {"base_replicas", p.classic.base_replicas},
      {"spike_headroom_replicas", p.classic.spike_headroom_replicas},
      {"redundancy_replicas", p.classic.redundancy_replicas},
      {"failure_buffer_replicas", p.classic.failure_buffer_replicas},
      {"total_replicas", p.classic.total_replicas},
      {"monthly_cost", p.classic.monthly_cost},
      {"cost_per_million_requests", p.classic.cost_per_million_requests},
  };
  if (p.littles_law) {
    nlohmann::ordered_json l;
    l["concurrency"] = orNull(p.littles_law->concurrency);
    if (p.littles_law->min_stable_replicas) {
      l["min_stable_replicas"] = *p.littles_law->min_stable_replicas;
    } else {
      l["min_stable_replicas"] = nullptr;
    }
    j["littles_law"] = l;
  }
  if (p.queueing) {
    const auto& q = *p.queueing;
    nlohmann::ordered_json s;
    s["model"] = q.model;
    const planner::QueueMetrics* m = q.metrics ? &*q.metrics : nullptr;
    auto val = [&](auto get) -> nlohmann::ordered_json {
      if (!m) return nullptr;
      return orNull(get(*m));
    };
    s["replicas"] = m ? nlohmann::ordered_json(m->replicas) : nlohmann::ordered_json(nullptr);
    s["servers"] = m ? nlohmann::ordered_json(m->servers) : nlohmann::ordered_json(nullptr);
    s["offered_load"] = q.offered_load;
    s["utilization"] = val([](const auto& x) { return x.utilization; });
    s["p_wait"] = val([](const auto& x) { return x.p_wait; });
    s["mean_wait_s"] = val([](const auto& x) { return x.mean_wait; });
    s["mean_response_s"] = val([](const auto& x) { return x.mean_response; });
    s["wait_percentile_s"] = val([](const auto& x) { return x.wait_percentile; });
    s["response_percentile_s"] = val([](const auto& x) { return x.response_percentile; });
    s["feasible"] = q.feasible;
    s["reason"] = q.feasible ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(q.reason);
    j["queueing"] = s;
  }
  if (p.availability) {
    j["availability"] = {
        {"total_replicas", p.availability->total_replicas},
        {"spares", p.availability->spares},
        {"p_at_least_required_up", p.availability->p_at_least_required_up},
    };
  }
  if (p.cost) {
    j["cost"] = {
        {"monthly_cost", p.cost->monthly_cost},
        {"cost_per_million_requests", p.cost->cost_per_million_requests},
    };
  }
  return j;
}

std::string g(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

std::string money(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "$%.*f", decimals, v);
  return buf;
}

void row(const std::string& label, const std::string& value, const std::string& note = "") {
  std::printf("  %-28s %14s", label.c_str(), value.c_str());
  if (!note.empty()) std::printf("   %s", note.c_str());
  std::printf("\n");
}

void printTable(const planner::Plan& p, const PlanInputs& in) {
  const auto& s = p.classic;
  std::printf(
      "surge plan: peak %s req/s, design rate %s req/s (peak × (1 + %s spike headroom))\n\n",
      g(in.classic.peak_rps).c_str(), g(p.design_rate).c_str(),
      g(in.classic.spike_headroom).c_str());
  std::printf(
      "Classic formula (base + headroom + failure buffer + N+1; total = ceil of the exact sum)\n");
  row("base replicas", g(s.base_replicas),
      g(in.classic.peak_rps) + " / " + g(in.classic.instance_rps) + " req/s per replica");
  row("spike headroom replicas", g(s.spike_headroom_replicas),
      g(in.classic.spike_headroom) + " × base");
  row("redundancy replicas", std::to_string(s.redundancy_replicas),
      "N+" + std::to_string(s.redundancy_replicas));
  row("failure buffer replicas", g(s.failure_buffer_replicas),
      g(in.classic.failure_rate) + " × base");
  row("total replicas", std::to_string(s.total_replicas));
  row("monthly cost", money(s.monthly_cost),
      std::to_string(s.total_replicas) + " × " + money(in.classic.price_per_hour, 4) +
          "/h × 720 h");
  row("cost per million requests", money(s.cost_per_million_requests, 4), "at the peak rate");

  if (p.littles_law) {
    std::printf("\nLittle's law\n");
    if (p.littles_law->concurrency) {
      row("concurrency", g(*p.littles_law->concurrency),
          "peak × latency target = " + g(in.classic.peak_rps) + " × " +
              planner::formatSeconds(*in.latency_target));
    }
    if (p.littles_law->min_stable_replicas) {
      row("min stable replicas", std::to_string(*p.littles_law->min_stable_replicas),
          "floor(design rate × service time / slots) + 1");
    }
  }

  if (p.queueing) {
    const auto& q = *p.queueing;
    const std::string label = planner::percentileLabel(in.percentile);
    std::printf("\nQueueing: %s, one shared queue, ", q.model.c_str());
    if (q.evaluated) {
      std::printf("evaluating %lld replicas", static_cast<long long>(*in.replicas));
    } else {
      std::printf("sized for %s response <= %s", label.c_str(),
                  planner::formatSeconds(*in.latency_target).c_str());
    }
    std::printf(" at %s req/s\n", g(p.design_rate).c_str());
    if (q.metrics) {
      const auto& m = *q.metrics;
      const std::string h = m.percentile_is_heuristic ? " (heuristic)" : "";
      row("replicas", std::to_string(m.replicas));
      row("servers", std::to_string(m.servers), std::to_string(in.slots) + " slot(s) per replica");
      row("offered load", g(m.offered_load), "Erlangs (design rate × service time)");
      row("utilization", g(m.utilization * 100, 4) + "%");
      row("P(wait)", g(m.p_wait, 4), m.percentile_is_heuristic ? "Erlang C" : "");
      row("mean wait", planner::formatSeconds(m.mean_wait));
      row("mean response", planner::formatSeconds(m.mean_response));
      row(label + " wait" + h, planner::formatSeconds(m.wait_percentile));
      row(label + " response" + h, planner::formatSeconds(m.response_percentile),
          in.latency_target ? "target " + planner::formatSeconds(*in.latency_target) : "");
    } else {
      row("offered load", g(q.offered_load), "Erlangs");
    }
    row("feasible", q.feasible ? "yes" : "no");
    if (!q.feasible) std::printf("  reason: %s\n", q.reason.c_str());
  }

  if (p.availability) {
    const auto& a = *p.availability;
    std::printf("\nAvailability: each replica up with probability %s, target %s\n",
                g(*in.replica_availability).c_str(), g(in.availability_target).c_str());
    row("required replicas", std::to_string(a.required_replicas),
        p.queueing ? "latency-sized" : "ceil(design rate / instance_rps)");
    row("spares", std::to_string(a.spares), "instead of the classic fixed N+1");
    row("total replicas", std::to_string(a.total_replicas));
    row("P(>= required up)", g(a.p_at_least_required_up, 8));
  }

  if (p.cost) {
    std::printf("\nCost of the recommendation (%lld replicas at %s/h)\n",
                static_cast<long long>(p.recommended_replicas),
                money(in.classic.price_per_hour, 4).c_str());
    row("monthly cost", money(p.cost->monthly_cost), "30-day month");
    row("cost per million requests", money(p.cost->cost_per_million_requests, 4),
        "at the peak rate (as the classic formula)");
  }
}

// An input error: from a flag ("--percentile: ...", "--peak-rps is required ...") it is a usage
// error (the line and the hint); from --config or --profile (file:line:col or the file's name) one
// line. Exit 2 either way.
int inputError(const std::string& message) {
  if (message.rfind("--", 0) == 0) return usageError(spec(), message);
  std::fprintf(stderr, "surge plan: %s\n", message.c_str());
  return 2;
}

}  // namespace

int runPlan(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  std::map<std::string, Raw> raw;  // key → raw value (profile, then config, then flags)
  const std::string config_path = args->str("--config");
  const std::string profile_path = args->str("--profile");
  const bool json = args->boolean("--json");

  std::optional<ProfileUse> profile;
  if (!profile_path.empty()) {
    profile.emplace();
    if (Status s = loadProfile(profile_path, &raw, &*profile); !s.isOk()) {
      std::fprintf(stderr, "surge plan: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (!config_path.empty()) {
    if (Status s = loadConfig(config_path, &raw); !s.isOk()) {
      std::fprintf(stderr, "surge plan: %s\n", s.message().c_str());
      return 2;
    }
  }
  for (const Field& f : fields()) {
    if (args->has(f.flag)) raw[f.key] = Raw{args->str(f.flag), f.flag};
  }

  std::map<std::string, Value> values;
  for (const Field& f : fields()) {
    auto it = raw.find(f.key);
    if (it == raw.end()) continue;
    auto v = convert(f, it->second);
    if (!v.isOk()) return inputError(v.status().message());
    values[f.key] = *v;
  }
  auto inputs = buildInputs(values);
  if (!inputs.isOk()) return inputError(inputs.status().message());
  auto plan = planner::makePlan(*inputs);
  if (!plan.isOk()) {
    // The planner names fields in snake_case; say where the value came from instead.
    std::string message = plan.status().message();
    for (const auto& [key, v] : values) {
      if (message.rfind(key + ": ", 0) == 0) {
        message = v.where + message.substr(key.size());
        break;
      }
    }
    if (plan.status().code() == StatusCode::kInternal) {
      std::fprintf(stderr, "surge plan: %s\n", message.c_str());
      return 1;
    }
    return inputError(message);
  }
  if (json) {
    nlohmann::ordered_json out = toJson(*plan);
    if (profile) {
      // What the profile measured (the inputs actually used may be overridden by flags).
      out["profile"] = {{"file", profile->path},
                        {"instance_rps", profile->estimate.instance_rps},
                        {"service_time_s", profile->estimate.service_time_s},
                        {"slots", profile->estimate.slots}};
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    printTable(*plan, *inputs);
    if (profile) {
      std::printf(
          "\nmeasured by %s: instance_rps %.6g (levels[%zu]), service time %.6g s "
          "(levels[%zu]), slots %lld\n",
          profile->path.c_str(), profile->estimate.instance_rps, profile->estimate.instance_level,
          profile->estimate.service_time_s, profile->estimate.service_level,
          static_cast<long long>(profile->estimate.slots));
    }
  }
  return 0;
}

}  // namespace surge::cli
