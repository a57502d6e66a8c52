#include "loadgen/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace surge::loadgen {
namespace {

std::optional<double> parseNumber(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

Duration fromSeconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Status badRate(std::string_view text) {
  return invalidArgument("bad rate '" + std::string(text) + "' (want a number >= 0)");
}

}  // namespace

StatusOr<Duration> parseDuration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  auto num = parseNumber(text.substr(0, i));
  std::string_view unit = text.substr(i);
  double scale = 0;
  if (unit == "s" || unit.empty()) scale = 1;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "us") scale = 1e-6;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  if (!num || scale == 0 || *num < 0) {
    return invalidArgument("bad duration '" + std::string(text) + "' (want e.g. 10s, 500ms, 1m)");
  }
  return fromSeconds(*num * scale);
}

RateProfile RateProfile::constant(double rps, Duration length) {
  return RateProfile({RateSegment{length, rps, rps}});
}

StatusOr<RateProfile> RateProfile::parse(std::string_view spec) {
  auto at = spec.rfind('@');
  auto colon = spec.find(':');
  if (colon == std::string_view::npos || at == std::string_view::npos || at < colon) {
    return invalidArgument("bad rate profile '" + std::string(spec) +
                           "' (want step:R1,R2,...@DURATION or ramp:FROM..TO@DURATION)");
  }
  std::string_view kind = spec.substr(0, colon);
  std::string_view body = spec.substr(colon + 1, at - colon - 1);
  ASSIGN_OR_RETURN(Duration length, parseDuration(spec.substr(at + 1)));
  if (length <= Duration(0)) return invalidArgument("rate profile duration must be > 0");
  std::vector<RateSegment> segments;
  if (kind == "step") {
    while (true) {
      auto comma = body.find(',');
      std::string_view item = body.substr(0, comma);
      auto r = parseNumber(item);
      if (!r || *r < 0) return badRate(item);
      segments.push_back({length, *r, *r});
      if (comma == std::string_view::npos) break;
      body.remove_prefix(comma + 1);
    }
  } else if (kind == "ramp") {
    auto dots = body.find("..");
    if (dots == std::string_view::npos) {
      return invalidArgument("bad ramp '" + std::string(body) + "' (want FROM..TO)");
    }
    auto from = parseNumber(body.substr(0, dots));
    auto to = parseNumber(body.substr(dots + 2));
    if (!from || *from < 0) return badRate(body.substr(0, dots));
    if (!to || *to < 0) return badRate(body.substr(dots + 2));
    segments.push_back({length, *from, *to});
  } else {
    return invalidArgument("unknown rate profile kind '" + std::string(kind) +
                           "' (want step or ramp)");
  }
  return RateProfile(std::move(segments));
}

StatusOr<RateProfile> RateProfile::parseTrace(std::string_view text, std::string_view file_name,
                                              Duration last_hold) {
  std::vector<std::pair<double, double>> rows;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    auto where = [&] { return std::string(file_name) + ":" + std::to_string(line_no) + ": "; };
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.back() == '\r' || trimmed.back() == ' ')) {
      trimmed.remove_suffix(1);
    }
    while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto comma = trimmed.find(',');
    if (comma == std::string_view::npos) {
      return invalidArgument(where() + "expected 'timestamp,rps'");
    }
    auto ts = parseNumber(trimmed.substr(0, comma));
    auto rps = parseNumber(trimmed.substr(comma + 1));
    if (!ts && !rps && rows.empty()) continue;  // header row
    if (!ts || *ts < 0) return invalidArgument(where() + "bad timestamp (want seconds >= 0)");
    if (!rps || *rps < 0) return invalidArgument(where() + "bad rps (want a number >= 0)");
    if (!rows.empty() && *ts <= rows.back().first) {
      return invalidArgument(where() + "timestamps must increase");
    }
    rows.emplace_back(*ts, *rps);
  }
  if (rows.empty()) return invalidArgument(std::string(file_name) + ": no rows");
  std::vector<RateSegment> segments;
  if (rows.front().first > 0) segments.push_back({fromSeconds(rows.front().first), 0, 0});
  for (size_t i = 0; i < rows.size(); ++i) {
    Duration len = i + 1 < rows.size() ? fromSeconds(rows[i + 1].first - rows[i].first)
                                       : last_hold;
    segments.push_back({len, rows[i].second, rows[i].second});
  }
  return RateProfile(std::move(segments));
}

Duration RateProfile::totalLength() const {
  Duration t{0};
  for (const auto& s : segments_) t += s.length;
  return t;
}

double RateProfile::expectedRequests() const {
  double n = 0;
  for (const auto& s : segments_) n += (s.rps_from + s.rps_to) / 2 * toSeconds(s.length);
  return n;
}

double RateProfile::peakRps() const {
  double p = 0;
  for (const auto& s : segments_) p = std::max({p, s.rps_from, s.rps_to});
  return p;
}

std::optional<Duration> Schedule::next() {
  const auto& segs = profile_.segments();
  while (segment_ < segs.size()) {
    const RateSegment& s = segs[segment_];
    double len = toSeconds(s.length);
    double a = s.rps_from;
    double b = len > 0 ? (s.rps_to - s.rps_from) / len : 0;
    double seg_count = (a + s.rps_to) / 2 * len;
    double target = static_cast<double>(k_) - segment_start_count_;  // count within segment
    if (target < seg_count - 1e-9) {
      double t;  // solve a t + b t²/2 = target
      if (std::abs(b) < 1e-12) {
        t = a > 0 ? target / a : 0;
      } else {
        double disc = std::max(0.0, a * a + 2 * b * target);
        t = (-a + std::sqrt(disc)) / b;
      }
      t = std::clamp(t, 0.0, len);
      ++k_;
      return segment_start_ + fromSeconds(t);
    }
    segment_start_count_ += seg_count;
    segment_start_ += s.length;
    ++segment_;
  }
  return std::nullopt;
}

std::vector<Duration> arrivalTimes(const RateProfile& profile) {
  Schedule s(profile);
  std::vector<Duration> out;
  while (auto t = s.next()) out.push_back(*t);
  return out;
}

}  // namespace surge::loadgen
