#include "loadgen/thresholds.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace surge::loadgen {

StatusOr<double> parseErrorRate(std::string_view text) {
  std::string s(text);
  bool percent = !s.empty() && s.back() == '%';
  if (percent) s.pop_back();
  auto invalid = [&] {
    return Status(
        StatusCode::kInvalidArgument,
        "expected a fraction 0..1 (0.01) or a percentage (1%), found '" + std::string(text) + "'");
  };
  if (s.empty() || s[0] == '+' || s[0] == '-' || s[0] == ' ') return invalid();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || errno != 0 || !std::isfinite(v) || v < 0) return invalid();
  // Only decimal digits and one point: no "inf", "nan", hex or exponents.
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.')) return invalid();
  }
  if (percent) {
    if (v > 100) return invalid();
    return v / 100;
  }
  if (v > 1) {
    return Status(StatusCode::kInvalidArgument, "a fraction must be between 0 and 1, found '" +
                                                    std::string(text) +
                                                    "' (write a percentage as " + s + "%)");
  }
  return v;
}

double errorRate(const LevelResult& l) {
  double total = static_cast<double>(l.requests + l.dropped);
  if (total <= 0) return 0;
  return static_cast<double>(l.errorCount() + l.dropped) / total;
}

namespace {

std::string levelName(const LevelResult& l) {
  if (l.mode == "open") return "open";
  return l.mode + " c=" + std::to_string(l.concurrency);
}

std::string pct(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100);
  return buf;
}

std::string msText(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1fms", s * 1e3);
  return buf;
}

}  // namespace

std::vector<ThresholdResult> evaluateThresholds(const Thresholds& t,
                                                const std::vector<LevelResult>& levels) {
  std::vector<ThresholdResult> out;
  for (const auto& l : levels) {
    const bool prefix_level = levels.size() > 1;
    const std::string where = prefix_level ? " (" + levelName(l) + ")" : "";
    if (t.max_error_rate) {
      ThresholdResult r;
      r.name = "max-error-rate";
      r.level = levelName(l);
      r.limit = *t.max_error_rate;
      r.measured_any = l.requests + l.dropped > 0;
      r.measured = errorRate(l);
      r.ok = r.measured_any && r.measured <= r.limit;
      const uint64_t failed = l.errorCount() + l.dropped;
      r.message = "max-error-rate " + t.max_error_rate_text + where + ": " +
                  (r.ok ? "ok" : "FAILED") + ", " +
                  (r.measured_any ? "measured " + pct(r.measured) + " (" + std::to_string(failed) +
                                        " of " + std::to_string(l.requests + l.dropped) + " failed)"
                                  : std::string("no request was answered"));
      out.push_back(std::move(r));
    }
    if (t.max_p99_s) {
      ThresholdResult r;
      r.name = "max-p99";
      r.level = levelName(l);
      r.limit = *t.max_p99_s;
      r.measured_any = l.requests > 0;
      r.measured = l.p99_s;
      r.ok = r.measured_any && r.measured <= r.limit;
      r.message = "max-p99 " + t.max_p99_text + where + ": " + (r.ok ? "ok" : "FAILED") + ", " +
                  (r.measured_any ? "measured p99 " + msText(r.measured)
                                  : std::string("no request was answered"));
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace surge::loadgen
