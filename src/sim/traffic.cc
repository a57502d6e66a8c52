#include "sim/traffic.h"

#include <algorithm>
#include <limits>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

namespace surge::sim {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Standard normal from a 64-bit hash (Box–Muller on two 32-bit halves).
double hashNormal(uint64_t h) {
  double u1 = (static_cast<double>(h >> 32) + 0.5) / 4294967296.0;
  double u2 = (static_cast<double>(h & 0xffffffffULL) + 0.5) / 4294967296.0;
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool parseNumber(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*out);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

StatusOr<int64_t> parseTimestamp(const std::string& raw) {
  std::string text = trim(raw);
  if (text.empty()) return invalidArgument("empty timestamp");
  bool digits = std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (digits && text != "-") return static_cast<int64_t>(std::strtoll(text.c_str(), nullptr, 10));
  int y, mo, d, h, mi, s;
  char sep;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &s) != 7 ||
      (sep != 'T' && sep != 't' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
      mi > 59 || s > 60) {
    return invalidArgument("malformed timestamp '" + text +
                           "' (expected Unix seconds or RFC 3339, e.g. 2026-01-05T00:00:00Z)");
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  int64_t offset = 0;
  std::string zone = text.substr(std::min(pos, text.size()));
  if (zone == "Z" || zone == "z" || zone.empty()) {
    offset = 0;
  } else {
    int oh, om;
    if ((zone[0] != '+' && zone[0] != '-') || std::sscanf(zone.c_str() + 1, "%2d:%2d", &oh, &om) != 2) {
      return invalidArgument("malformed timestamp '" + text + "': bad time zone '" + zone + "'");
    }
    offset = (zone[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
}

StatusOr<std::vector<TracePoint>> loadTraceCsv(const std::string& path, int64_t* first_unix) {
  // Bounded before reading: a device or FIFO (/dev/zero) would be read forever, one line.
  constexpr uintmax_t kMaxTraceBytes = 256ull << 20;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return invalidArgument("cannot open trace " + path +
                           (std::filesystem::exists(path, ec) ? ": not a regular file" : ""));
  }
  if (std::filesystem::file_size(path, ec) > kMaxTraceBytes) {
    return invalidArgument("trace " + path + " is larger than 256 MiB");
  }
  std::ifstream in(path);
  if (!in) return invalidArgument("cannot open trace " + path);
  std::vector<TracePoint> out;
  std::string line;
  int line_no = 0;
  int64_t first = 0;
  int64_t last = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t comma = t.find(',');
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (comma == std::string::npos) {
      return invalidArgument(where + "expected 'timestamp,rps', found '" + t + "'");
    }
    std::string ts = trim(t.substr(0, comma));
    std::string rs = trim(t.substr(comma + 1));
    size_t extra = rs.find(',');
    if (extra != std::string::npos) rs = trim(rs.substr(0, extra));  // ignore further columns
    if (out.empty() && ts == "timestamp") continue;  // header
    auto when = parseTimestamp(ts);
    if (!when.isOk()) return invalidArgument(where + "timestamp: " + when.status().message());
    double rps;
    if (!parseNumber(rs, &rps) || rps < 0) {
      return invalidArgument(where + "rps: expected a non-negative number, found '" + rs + "'");
    }
    if (out.empty()) {
      first = *when;
    } else if (*when <= last) {
      return invalidArgument(where + "timestamp: not after the previous line's");
    }
    last = *when;
    out.push_back({static_cast<double>(*when - first), rps});
  }
  if (out.empty()) return invalidArgument(path + ": no samples (expected 'timestamp,rps' lines)");
  if (first_unix) *first_unix = first;
  return out;
}

RateCurve::RateCurve(std::vector<RateComponent> components, double scale, double weekend_factor,
                     int64_t start_unix, double noise, double noise_interval_s,
                     uint64_t noise_seed)
    : components_(std::move(components)),
      scale_(scale),
      weekend_factor_(weekend_factor),
      start_unix_(start_unix),
      noise_(noise),
      noise_interval_(noise_interval_s > 0 ? noise_interval_s : 60),
      noise_seed_(noise_seed) {}

double RateCurve::componentRate(const RateComponent& c, double t) const {
  using K = RateComponent::Kind;
  switch (c.kind) {
    case K::kConstant:
      return c.rps;
    case K::kStep:
      return t >= c.at ? c.rps : 0;
    case K::kRamp:
      if (t < c.start) return 0;
      if (t >= c.end) return c.to;
      return c.from + (c.to - c.from) * (t - c.start) / (c.end - c.start);
    case K::kDiurnal: {
      double phase = 2 * std::numbers::pi * (t - c.peak_at) / c.period;
      return c.trough + (c.peak - c.trough) * (1 + std::cos(phase)) / 2;
    }
    case K::kSpike: {
      double rise = c.rise;
      double s0 = c.at, s1 = c.at + rise, s2 = s1 + c.duration, s3 = s2 + rise;
      if (t < s0 || t >= s3) return 0;
      if (t < s1) return c.rps * (t - s0) / rise;
      if (t < s2) return c.rps;
      return c.rps * (s3 - t) / rise;
    }
    case K::kTrace: {
      const auto& p = c.trace;
      if (c.first_unix) t += static_cast<double>(start_unix_ - *c.first_unix);
      if (t <= p.front().t) return p.front().rps * c.scale;
      if (t >= p.back().t) return p.back().rps * c.scale;
      auto it = std::upper_bound(p.begin(), p.end(), t,
                                 [](double x, const TracePoint& q) { return x < q.t; });
      const TracePoint& b = *it;
      const TracePoint& a = *(it - 1);
      return (a.rps + (b.rps - a.rps) * (t - a.t) / (b.t - a.t)) * c.scale;
    }
  }
  return 0;
}

double RateCurve::historyStart() const {
  double earliest = -std::numeric_limits<double>::infinity();
  for (const auto& c : components_) {
    if (c.kind != RateComponent::Kind::kTrace || c.trace.empty()) continue;
    double offset = c.first_unix ? static_cast<double>(*c.first_unix - start_unix_) : 0.0;
    earliest = std::max(earliest, c.trace.front().t + offset);
  }
  return earliest;
}

double RateCurve::baseRateAt(double t) const { return sum(t, false); }
double RateCurve::historyRateAt(double t) const { return sum(t, true); }

double RateCurve::sum(double t, bool seasonal_only) const {
  using K = RateComponent::Kind;
  double r = 0;
  for (const auto& c : components_) {
    if (seasonal_only && c.kind != K::kConstant && c.kind != K::kDiurnal && c.kind != K::kTrace) {
      continue;
    }
    r += componentRate(c, t);
  }
  r *= scale_;
  if (weekend_factor_ != 1) {
    int64_t unix_s = start_unix_ + static_cast<int64_t>(std::floor(t));
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t weekday = ((days + 3) % 7 + 7) % 7;  // 0 = Monday (1970-01-01 was a Thursday)
    if (weekday >= 5) r *= weekend_factor_;
  }
  return std::max(0.0, r);
}

double RateCurve::rateAt(double t) const {
  double r = baseRateAt(t);
  if (noise_ > 0) {
    auto bucket = static_cast<uint64_t>(std::floor(t / noise_interval_));
    double z = hashNormal(splitmix64(noise_seed_ ^ splitmix64(bucket)));
    r *= std::max(0.0, 1 + noise_ * z);
  }
  return r;
}

ArrivalProcess::ArrivalProcess(const RateCurve* curve, bool poisson, double resolution_s,
                               double end_s, Random* random)
    : curve_(curve), poisson_(poisson), resolution_(resolution_s), end_(end_s), random_(random) {
  enterStep(0);
}

void ArrivalProcess::enterStep(int64_t step) {
  step_ = step;
  double begin = static_cast<double>(step) * resolution_;
  step_end_ = begin + resolution_;
  step_rate_ = curve_->rateAt(begin + resolution_ / 2);
}

int64_t ArrivalProcess::next() {
  double work = poisson_ ? -std::log1p(-random_->uniformDouble()) : 1.0;
  while (true) {
    if (t_ >= end_) return kNever;
    double available = step_rate_ * (step_end_ - t_);
    if (work < available) {
      t_ += work / step_rate_;
      if (t_ >= end_) return kNever;
      return static_cast<int64_t>(t_ * 1e9);
    }
    work -= available;
    t_ = step_end_;
    enterStep(step_ + 1);
  }
}

}  // namespace surge::sim
