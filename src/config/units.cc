#include "config/units.h"

#include <array>
#include <cstdio>
#include <limits>

namespace surge::config {
namespace {

using Int128 = __int128;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// One "digits[.digits]" number at text[pos...]: whole part and a fraction numerator/denominator.
// The fraction keeps at most 18 digits (finer digits cannot matter at nanosecond/byte scale).
struct Number {
  Int128 whole = 0;
  Int128 frac_num = 0;
  Int128 frac_den = 1;
};

// Parses a number at `pos`; returns false when there is none. Whole parts beyond 2^96 saturate
// (the caller's overflow check rejects them).
bool parseNumber(std::string_view s, size_t& pos, Number& out) {
  size_t start = pos;
  bool any_digit = false;
  while (pos < s.size() && isDigit(s[pos])) {
    if (out.whole < (Int128(1) << 96)) out.whole = out.whole * 10 + (s[pos] - '0');
    ++pos;
    any_digit = true;
  }
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int kept = 0;
    while (pos < s.size() && isDigit(s[pos])) {
      if (kept < 18) {
        out.frac_num = out.frac_num * 10 + (s[pos] - '0');
        out.frac_den *= 10;
        ++kept;
      }
      ++pos;
      any_digit = true;
    }
  }
  if (!any_digit) pos = start;
  return any_digit;
}

Int128 scale(const Number& n, Int128 unit) {
  return n.whole * unit + n.frac_num * unit / n.frac_den;
}

struct Unit {
  std::string_view name;
  int64_t nanos;
};

constexpr int64_t kNs = 1;
constexpr int64_t kUs = 1000 * kNs;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kS = 1000 * kMs;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

constexpr std::array<Unit, 9> kDurationUnits = {{
    {"ns", kNs},
    {"us", kUs},
    {"\xC2\xB5s", kUs},  // U+00B5 micro sign
    {"\xCE\xBCs", kUs},  // U+03BC greek mu
    {"ms", kMs},
    {"s", kS},
    {"m", kMin},
    {"h", kHour},
    {"d", kDay},
}};

Status badDuration(std::string_view text, std::string_view why) {
  return invalidArgument("invalid duration '" + std::string(text) + "': " + std::string(why));
}

Status badBytes(std::string_view text, std::string_view why) {
  return invalidArgument("invalid size '" + std::string(text) + "': " + std::string(why));
}

bool isUnitChar(char c) { return !isDigit(c) && c != '.' && c != '-' && c != '+'; }

}  // namespace

StatusOr<Duration> parseDuration(std::string_view text) {
  if (text.empty()) return badDuration(text, "empty (expected e.g. '2s', '150ms', '1m30s')");
  if (text[0] == '-') return badDuration(text, "negative durations are not allowed");
  const Int128 kMax = std::numeric_limits<int64_t>::max();
  size_t pos = 0;
  Int128 total = 0;
  bool first = true;
  while (pos < text.size()) {
    Number n;
    if (!parseNumber(text, pos, n)) {
      return badDuration(text, "expected a number at '" + std::string(text.substr(pos)) +
                                   "' (e.g. '2s', '150ms', '1m30s')");
    }
    size_t unit_start = pos;
    while (pos < text.size() && isUnitChar(text[pos])) ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    int64_t nanos = 0;
    if (unit.empty()) {
      if (!(first && pos == text.size())) return badDuration(text, "missing unit after a number");
      nanos = kS;  // a bare number is seconds
    } else {
      for (const Unit& u : kDurationUnits) {
        if (u.name == unit) nanos = u.nanos;
      }
      if (nanos == 0) {
        return badDuration(
            text, "unknown unit '" + std::string(unit) + "' (valid units: ns, us, ms, s, m, h, d)");
      }
    }
    if (n.whole > kMax) return badDuration(text, "too large");
    total += scale(n, nanos);
    if (total > kMax) return badDuration(text, "too large");
    first = false;
  }
  return Duration(static_cast<int64_t>(total));
}

StatusOr<uint64_t> parseBytes(std::string_view text) {
  if (text.empty()) return badBytes(text, "empty (expected e.g. '64MiB', '512KiB', '1048576')");
  if (text[0] == '-') return badBytes(text, "negative sizes are not allowed");
  size_t pos = 0;
  Number n;
  if (!parseNumber(text, pos, n)) {
    return badBytes(text, "expected a number followed by an optional unit (e.g. '64MiB')");
  }
  std::string_view unit = text.substr(pos);
  struct SizeUnit {
    std::string_view name;
    uint64_t bytes;
  };
  static constexpr uint64_t kKi = 1024, kK = 1000;
  static constexpr std::array<SizeUnit, 15> kUnits = {{
      {"", 1},
      {"B", 1},
      {"KiB", kKi},
      {"Ki", kKi},
      {"MiB", kKi * kKi},
      {"Mi", kKi * kKi},
      {"GiB", kKi * kKi * kKi},
      {"Gi", kKi * kKi * kKi},
      {"TiB", kKi * kKi * kKi * kKi},
      {"Ti", kKi * kKi * kKi * kKi},
      {"KB", kK},
      {"kB", kK},
      {"MB", kK * kK},
      {"GB", kK * kK * kK},
      {"TB", kK * kK * kK * kK},
  }};
  uint64_t mult = 0;
  for (const SizeUnit& u : kUnits) {
    if (u.name == unit) mult = u.bytes;
  }
  if (mult == 0) {
    if (unit.size() == 1 && std::string_view("kKmMgGtT").find(unit[0]) != std::string_view::npos) {
      char up = static_cast<char>(unit[0] >= 'a' ? unit[0] - ('a' - 'A') : unit[0]);
      return badBytes(text, "ambiguous unit '" + std::string(unit) + "': write " + up + "iB (" +
                                "1024-based) or " + up + "B (1000-based)");
    }
    return badBytes(text, "unknown unit '" + std::string(unit) +
                              "' (valid units: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
  }
  const Int128 kMax = std::numeric_limits<uint64_t>::max();
  if (n.whole > kMax) return badBytes(text, "too large");
  Int128 total = scale(n, mult);
  if (total > kMax) return badBytes(text, "too large");
  return static_cast<uint64_t>(total);
}

std::string formatDuration(Duration d) {
  int64_t ns = d.count();
  std::string out;
  if (ns < 0) {
    out = "-";
    if (ns == std::numeric_limits<int64_t>::min()) return std::to_string(ns) + "ns";
    ns = -ns;
  }
  if (ns == 0) return "0s";
  auto withFraction = [](int64_t value, int64_t unit, const char* suffix) {
    std::string s = std::to_string(value / unit);
    int64_t rem = value % unit;
    if (rem != 0) {
      std::string frac = std::to_string(unit + rem).substr(1);  // zero-padded to unit's digits
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      s += "." + frac;
    }
    return s + suffix;
  };
  if (ns < kUs) return out + std::to_string(ns) + "ns";
  if (ns < kMs) return out + withFraction(ns, kUs, "us");
  if (ns < kS) return out + withFraction(ns, kMs, "ms");
  if (ns >= kHour) {
    out += std::to_string(ns / kHour) + "h";
    ns %= kHour;
  }
  if (ns >= kMin) {
    out += std::to_string(ns / kMin) + "m";
    ns %= kMin;
  }
  if (ns > 0) out += withFraction(ns, kS, "s");
  return out;
}

std::string formatBytes(uint64_t bytes) {
  if (bytes == 0) return "0B";
  static constexpr std::array<std::pair<uint64_t, const char*>, 8> kUnits = {{
      {1ULL << 40, "TiB"},
      {1ULL << 30, "GiB"},
      {1ULL << 20, "MiB"},
      {1ULL << 10, "KiB"},
      {1000ULL * 1000 * 1000 * 1000, "TB"},
      {1000ULL * 1000 * 1000, "GB"},
      {1000ULL * 1000, "MB"},
      {1000ULL, "KB"},
  }};
  for (const auto& [size, name] : kUnits) {
    if (bytes % size == 0) return std::to_string(bytes / size) + name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace surge::config
