// planner/exact: exact non-negative rational arithmetic on the decimals a user wrote, so the classic
// formula's ceiling is taken of the exact sum (1880/50 × 1.25 + 1 = 48, not the 48.00000000000001
// that binary floating point gives and a float ceil turns into 49).
//  - decimalOf(x): the shortest decimal m·10^e that reads back as the double x (std::to_chars
//    shortest round-trip), i.e. what the user typed when it had at most 15 significant digits.
//  - BigUint: unsigned multi-precision integer (32-bit limbs): add, multiply, compare.
//  - Rational: num/den of BigUints (not reduced): add, multiply, exact ceiling.
// Complexity: O(digits²) per multiply; the classic formula uses a handful of ~20-digit numbers.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace surge::planner {

class BigUint {
 public:
  BigUint() = default;
  explicit BigUint(uint64_t v);
  static BigUint pow10(int n);  // n ≥ 0

  BigUint operator+(const BigUint& o) const;
  BigUint operator*(const BigUint& o) const;
  // -1, 0, +1.
  int compare(const BigUint& o) const;
  bool operator<(const BigUint& o) const { return compare(o) < 0; }
  bool isZero() const { return limbs_.empty(); }
  // Nearest long double (relative error ~1e-19); +inf beyond the long double range.
  long double toLongDouble() const;

 private:
  void trim();
  std::vector<uint32_t> limbs_;  // little-endian, no leading zero limbs
};

class Rational {
 public:
  Rational() : num_(0), den_(1) {}
  Rational(BigUint num, BigUint den);  // den ≠ 0
  static Rational integer(uint64_t v) { return Rational(BigUint(v), BigUint(1)); }
  // The exact value of decimalOf(x); x must be finite and ≥ 0.
  static Rational fromDouble(double x);

  Rational operator+(const Rational& o) const;
  Rational operator*(const Rational& o) const;
  // Inverse of a non-zero value.
  Rational inverse() const;

  // The smallest integer ≥ *this; OutOfRange if it exceeds `limit`.
  StatusOr<uint64_t> ceil(uint64_t limit) const;
  // Nearest double (through long double: exact for the decimals used here).
  double toDouble() const;

 private:
  BigUint num_, den_;
};

// x = mantissa · 10^exponent, the shortest round-trip decimal of a finite x ≥ 0.
struct Decimal {
  uint64_t mantissa = 0;
  int exponent = 0;
};
Decimal decimalOf(double x);

}  // namespace surge::planner
