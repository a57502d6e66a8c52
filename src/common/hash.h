// Stable 64-bit hashing: the same value for the same bytes and seed on every machine, compiler and
// process (no per-process randomization, explicit little-endian loads). Used for consistent hashing
// (host address hashes, Maglev permutations, ring points) and request keys.
// Algorithm: a multiply-rotate lane mix over 8-byte little-endian words (in the family of
// MurmurHash64A / xxHash64, written for surge), finished by a MurmurHash3-style fmix64 avalanche.
// Not cryptographic: do not use where an adversary chooses inputs to collide.
// Complexity: O(len), ~1 ns per 8 bytes. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace surge {

// Hash of `data` with `seed`. Frozen: changing the output moves every consistently-hashed key, so
// hash_test pins golden values.
uint64_t hash64(std::string_view data, uint64_t seed = 0);

// Bijective 64-bit finalizer (every output bit depends on every input bit). Spreads integer keys
// (e.g. sequential ids) before they are reduced modulo a table size.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace surge
