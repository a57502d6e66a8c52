// Kubernetes quantities: parse to milli-units (rounded up) or a double; format milli-units in the
// canonical DecimalSI form. See quantity.h.
#include "autoscale/hpa/quantity.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

namespace surge::autoscale {
namespace {

// A parsed quantity: value = sign × digits × 10^-scale × base^power (base 10 or 1024). Digits are
// kept as text so nothing is lost before the one rounding step.
struct Parsed {
  bool negative = false;
  std::string digits;  // integer and fraction digits, no dot, leading zeros stripped
  int scale = 0;       // number of fraction digits
  int base = 10;       // 10 (decimal SI or exponent) or 1024 (binary SI)
  int power = 0;       // exponent of base
};

Status malformed(std::string_view text) {
  return invalidArgument("malformed quantity '" + std::string(text) + "'");
}

StatusOr<Parsed> parse(std::string_view text) {
  Parsed p;
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    p.negative = text[i] == '-';
    ++i;
  }
  size_t int_digits = 0, frac_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    p.digits.push_back(text[i++]);
    ++int_digits;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      p.digits.push_back(text[i++]);
      ++frac_digits;
    }
  }
  if (int_digits + frac_digits == 0) return malformed(text);
  p.scale = static_cast<int>(frac_digits);
  std::string_view suffix = text.substr(i);
  if (suffix.empty()) {
  } else if (suffix == "n") {  // metrics-server reports CPU in nanocores ("123456789n")
    p.power = -9;
  } else if (suffix == "u") {
    p.power = -6;
  } else if (suffix == "m") {
    p.power = -3;
  } else if (suffix == "k") {
    p.power = 3;
  } else if (suffix == "M") {
    p.power = 6;
  } else if (suffix == "G") {
    p.power = 9;
  } else if (suffix == "T") {
    p.power = 12;
  } else if (suffix == "P") {
    p.power = 15;
  } else if (suffix == "E") {
    p.power = 18;
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static constexpr std::string_view kBinary = "KMGTPE";
    size_t k = kBinary.find(suffix[0]);
    if (k == std::string_view::npos) return malformed(text);
    p.base = 1024;
    p.power = static_cast<int>(k) + 1;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view exp = suffix.substr(1);
    bool neg = false;
    if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) {
      neg = exp[0] == '-';
      exp.remove_prefix(1);
    }
    if (exp.empty() || exp.size() > 4) return malformed(text);
    int e = 0;
    for (char c : exp) {
      if (c < '0' || c > '9') return malformed(text);
      e = e * 10 + (c - '0');
    }
    p.power = neg ? -e : e;
  } else {
    return malformed(text);
  }
  size_t nz = p.digits.find_first_not_of('0');
  p.digits = nz == std::string::npos ? "" : p.digits.substr(nz);
  return p;
}

}  // namespace

StatusOr<int64_t> parseQuantityMilli(std::string_view text) {
  ASSIGN_OR_RETURN(Parsed p, parse(text));
  if (p.digits.empty()) return int64_t{0};
  // milli = ceil(D × base^power × 10^(3 − scale)), exactly, in 128-bit integers. At most 19
  // significant digits are kept; a dropped non-zero digit only matters for rounding (sticky).
  using I = __int128;
  const I kLimit = static_cast<I>(std::numeric_limits<int64_t>::max());
  int exp10 = 3 - p.scale + (p.base == 10 ? p.power : 0);
  bool sticky = false;
  if (p.digits.size() > 19) {
    sticky = p.digits.find_first_not_of('0', 19) != std::string::npos;
    exp10 += static_cast<int>(p.digits.size()) - 19;
    p.digits.resize(19);
  }
  I n = 0;
  for (char c : p.digits) n = n * 10 + (c - '0');
  if (p.base == 1024) {
    for (int k = 0; k < p.power; ++k) n *= 1024;  // ≤ 1e19 × 2^60 < 2^127
  }
  I value = 0;
  bool remainder = sticky;
  if (exp10 >= 0) {
    value = n;
    for (int k = 0; k < exp10 && value <= kLimit; ++k) value *= 10;
  } else if (exp10 < -38) {
    remainder = remainder || n != 0;
  } else {
    I div = 1;
    for (int k = 0; k < -exp10; ++k) div *= 10;
    value = n / div;
    remainder = remainder || n % div != 0;
  }
  if (remainder) ++value;  // round up (away from zero), like MilliValue()
  if (value > kLimit) {
    return invalidArgument("quantity '" + std::string(text) + "' is out of range");
  }
  int64_t v = static_cast<int64_t>(value);
  return p.negative ? -v : v;
}

StatusOr<double> parseQuantityDouble(std::string_view text) {
  ASSIGN_OR_RETURN(Parsed p, parse(text));
  if (p.digits.empty()) return 0.0;
  double d = std::strtod(p.digits.c_str(), nullptr);
  d *= std::pow(10.0, -p.scale);
  d *= std::pow(static_cast<double>(p.base), p.power);
  if (!std::isfinite(d)) return invalidArgument("quantity '" + std::string(text) + "' is out of range");
  return p.negative ? -d : d;
}

std::string formatQuantityMilli(int64_t milli) {
  if (milli == 0) return "0";
  bool negative = milli < 0;
  // Magnitude as unsigned so INT64_MIN is safe.
  uint64_t m = negative ? 0 - static_cast<uint64_t>(milli) : static_cast<uint64_t>(milli);
  std::string out = negative ? "-" : "";
  if (m % 1000 != 0) return out + std::to_string(m) + "m";
  uint64_t units = m / 1000;
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int k = 0;
  while (k < 6 && units % 1000 == 0) {
    units /= 1000;
    ++k;
  }
  return out + std::to_string(units) + kSuffixes[k];
}

}  // namespace surge::autoscale
