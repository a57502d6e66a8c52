#include "loadgen/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace surge::loadgen {

std::string toJson(const RunConfig& c, const std::vector<LevelResult>& levels,
                   const RunOutcome& outcome) {
  nlohmann::ordered_json j;
  j["schema"] = "surge.load/v1";
  auto& cfg = j["config"];
  cfg["url"] = c.url;
  cfg["model"] = c.model;
  cfg["path"] = c.path;
  cfg["mode"] = c.mode;
  cfg["batch"] = c.batch;
  cfg["concurrency"] = c.concurrency;
  cfg["rate"] = c.rate_spec;
  cfg["duration_s"] = c.duration_s;
  cfg["window_s"] = c.window_s;
  cfg["seed"] = c.seed;
  cfg["body_bytes"] = c.body_bytes;
  j["levels"] = nlohmann::ordered_json::array();
  for (const auto& l : levels) {
    nlohmann::ordered_json o;
    o["mode"] = l.mode;
    o["concurrency"] = l.concurrency;
    o["target_rps"] = l.target_rps;
    o["duration_s"] = l.duration_s;
    o["requests"] = l.requests;
    o["ok"] = l.ok;
    o["errors"] = l.errorCount();
    nlohmann::ordered_json by_status = nlohmann::ordered_json::object();
    for (const auto& [status, count] : l.errors) by_status[std::to_string(status)] = count;
    o["errors_by_status"] = by_status;
    o["dropped"] = l.dropped;
    o["rps"] = l.rps;
    o["ok_rps"] = l.ok_rps;
    o["latency_s"] = {{"mean", l.mean_s}, {"min", l.min_s}, {"p50", l.p50_s}, {"p90", l.p90_s},
                      {"p95", l.p95_s},   {"p99", l.p99_s}, {"p999", l.p999_s},
                      {"max", l.max_s}};
    o["avg_batch"] = l.avg_batch ? nlohmann::ordered_json(*l.avg_batch) : nullptr;
    o["windows"] = l.windows;
    o["stable"] = l.stable;
    o["max_send_lateness_s"] = l.max_lateness_s;
    o["interrupted"] = l.interrupted;
    j["levels"].push_back(std::move(o));
  }
  j["interrupted"] = outcome.interrupted;
  if (outcome.interrupted) j["signal"] = outcome.signal;
  j["elapsed_s"] = outcome.elapsed_s;
  j["thresholds"] = nlohmann::ordered_json::array();
  for (const auto& t : outcome.thresholds) {
    nlohmann::ordered_json o;
    o["name"] = t.name;
    o["level"] = t.level;
    o["limit"] = t.limit;
    o["measured"] = t.measured_any ? nlohmann::ordered_json(t.measured) : nullptr;
    o["ok"] = t.ok;
    o["message"] = t.message;
    j["thresholds"].push_back(std::move(o));
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string formatTable(const std::vector<LevelResult>& levels, const RunOutcome& outcome) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-6s %11s %10s %10s %10s %10s %10s %8s %9s\n", "mode", "conc",
                "target/s", "infer/s", "p50 ms", "p95 ms", "p99 ms", "errors", "avg batch");
  out += line;
  for (const auto& l : levels) {
    char batch[32] = "-";
    if (l.avg_batch) std::snprintf(batch, sizeof batch, "%.2f", *l.avg_batch);
    char target[32] = "-";
    if (l.target_rps > 0) std::snprintf(target, sizeof target, "%.1f", l.target_rps);
    std::snprintf(line, sizeof line, "%-6s %11d %10s %10.1f %10.3f %10.3f %10.3f %8llu %9s%s\n",
                  l.mode.c_str(), l.concurrency, target, l.rps, l.p50_s * 1e3, l.p95_s * 1e3,
                  l.p99_s * 1e3, static_cast<unsigned long long>(l.errorCount()), batch,
                  l.stable ? "" : "  (unstable)");
    out += line;
    if (l.interrupted) {
      out.pop_back();
      out += "  (interrupted)\n";
    }
  }
  if (outcome.interrupted) {
    std::snprintf(line, sizeof line, "interrupted by %s after %.1f s: partial results\n",
                  outcome.signal.c_str(), outcome.elapsed_s);
    out += line;
  }
  for (const auto& t : outcome.thresholds) out += "threshold " + t.message + "\n";
  return out;
}

}  // namespace surge::loadgen
