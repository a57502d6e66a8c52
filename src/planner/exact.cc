#include "planner/exact.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace surge::planner {

BigUint::BigUint(uint64_t v) {
  while (v != 0) {
    limbs_.push_back(static_cast<uint32_t>(v));
    v >>= 32;
  }
}

BigUint BigUint::pow10(int n) {
  BigUint r(1);
  const BigUint ten(10);
  for (int i = 0; i < n; ++i) r = r * ten;
  return r;
}

void BigUint::trim() {
  while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
}

BigUint BigUint::operator+(const BigUint& o) const {
  BigUint r;
  const size_t n = std::max(limbs_.size(), o.limbs_.size());
  r.limbs_.resize(n + 1, 0);
  uint64_t carry = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t s = carry;
    if (i < limbs_.size()) s += limbs_[i];
    if (i < o.limbs_.size()) s += o.limbs_[i];
    r.limbs_[i] = static_cast<uint32_t>(s);
    carry = s >> 32;
  }
  r.limbs_[n] = static_cast<uint32_t>(carry);
  r.trim();
  return r;
}

BigUint BigUint::operator*(const BigUint& o) const {
  BigUint r;
  if (isZero() || o.isZero()) return r;
  r.limbs_.assign(limbs_.size() + o.limbs_.size(), 0);
  for (size_t i = 0; i < limbs_.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < o.limbs_.size(); ++j) {
      uint64_t cur = static_cast<uint64_t>(limbs_[i]) * o.limbs_[j] + r.limbs_[i + j] + carry;
      r.limbs_[i + j] = static_cast<uint32_t>(cur);
      carry = cur >> 32;
    }
    size_t k = i + o.limbs_.size();
    while (carry != 0) {
      uint64_t cur = static_cast<uint64_t>(r.limbs_[k]) + carry;
      r.limbs_[k] = static_cast<uint32_t>(cur);
      carry = cur >> 32;
      ++k;
    }
  }
  r.trim();
  return r;
}

int BigUint::compare(const BigUint& o) const {
  if (limbs_.size() != o.limbs_.size()) return limbs_.size() < o.limbs_.size() ? -1 : 1;
  for (size_t i = limbs_.size(); i-- > 0;) {
    if (limbs_[i] != o.limbs_[i]) return limbs_[i] < o.limbs_[i] ? -1 : 1;
  }
  return 0;
}

long double BigUint::toLongDouble() const {
  long double r = 0;
  for (size_t i = limbs_.size(); i-- > 0;) r = r * 4294967296.0L + limbs_[i];
  return r;
}

Decimal decimalOf(double x) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf) - 1, x, std::chars_format::scientific);
  *res.ptr = '\0';  // for atoi below
  Decimal d;
  const char* p = buf;
  int frac_digits = 0;
  bool after_point = false;
  for (; p < res.ptr && *p != 'e'; ++p) {
    if (*p == '.') {
      after_point = true;
      continue;
    }
    d.mantissa = d.mantissa * 10 + static_cast<uint64_t>(*p - '0');
    if (after_point) ++frac_digits;
  }
  int exp10 = 0;
  if (p < res.ptr) exp10 = std::atoi(p + 1);  // "e-02", "e+20"
  d.exponent = exp10 - frac_digits;
  return d;
}

Rational::Rational(BigUint num, BigUint den) : num_(std::move(num)), den_(std::move(den)) {
  SURGE_CHECK(!den_.isZero());
}

Rational Rational::fromDouble(double x) {
  SURGE_CHECK(std::isfinite(x) && x >= 0);
  Decimal d = decimalOf(x);
  if (d.exponent >= 0)
    return Rational(BigUint(d.mantissa) * BigUint::pow10(d.exponent), BigUint(1));
  return Rational(BigUint(d.mantissa), BigUint::pow10(-d.exponent));
}

Rational Rational::operator+(const Rational& o) const {
  return Rational(num_ * o.den_ + o.num_ * den_, den_ * o.den_);
}

Rational Rational::operator*(const Rational& o) const {
  return Rational(num_ * o.num_, den_ * o.den_);
}

Rational Rational::inverse() const { return Rational(den_, num_); }

StatusOr<uint64_t> Rational::ceil(uint64_t limit) const {
  // Estimate in long double, then settle exactly: the answer k satisfies (k−1)·den < num ≤ k·den.
  long double est = std::ceil(num_.toLongDouble() / den_.toLongDouble());
  if (!(est <= static_cast<long double>(limit) + 2)) {
    return Status(StatusCode::kOutOfRange, "value exceeds " + std::to_string(limit));
  }
  uint64_t k = est < 2 ? 0 : static_cast<uint64_t>(est) - 2;
  while (BigUint(k) * den_ < num_) ++k;  // at most a few steps
  if (k > limit) return Status(StatusCode::kOutOfRange, "value exceeds " + std::to_string(limit));
  return k;
}

double Rational::toDouble() const {
  return static_cast<double>(num_.toLongDouble() / den_.toLongDouble());
}

}  // namespace surge::planner
