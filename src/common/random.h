// Random: injected, seeded randomness. xoshiro256** (Blackman & Vigna, 2018) seeded through
// SplitMix64; the same seed gives the same sequence on every machine.
// Thread-safety: none; give each thread (worker) its own instance.
#pragma once

#include <cstdint>

namespace surge {

class Random {
 public:
  explicit Random(uint64_t seed = 0x5eed5eed5eedULL) { reseed(seed); }

  void reseed(uint64_t seed);
  // Uniform 64-bit value.
  uint64_t next();
  // Uniform in [0, n); n > 0. Lemire's nearly-divisionless method (unbiased).
  uint64_t uniform(uint64_t n);
  // Uniform in [0, 1).
  double uniformDouble() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // A seed from the OS (for production defaults; tests pass a fixed seed).
  static uint64_t osSeed();

 private:
  uint64_t s_[4];
};

}  // namespace surge
