#include "common/hash.h"

#include <bit>
#include <cstring>

namespace surge {
namespace {

constexpr uint64_t kP1 = 0x9e3779b185ebca87ULL;
constexpr uint64_t kP2 = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kP3 = 0x165667b19e3779f9ULL;
constexpr uint64_t kP4 = 0x85ebca77c2b2ae63ULL;

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Little-endian load whatever the host byte order, so the hash is the same everywhere.
inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint64_t lane(uint64_t v) { return rotl(v * kP2, 31) * kP1; }

}  // namespace

uint64_t hash64(std::string_view data, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len = data.size();
  uint64_t h = (seed ^ kP4) + static_cast<uint64_t>(len) * kP3;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    h ^= lane(load64(p + i));
    h = rotl(h, 27) * kP1 + kP4;
  }
  if (i < len) {
    // Tail of 1..7 bytes, assembled little-endian; the length already went into h, so "a" and
    // "a\0" differ.
    uint64_t v = 0;
    for (size_t k = 0; i + k < len; ++k) v |= static_cast<uint64_t>(p[i + k]) << (8 * k);
    h ^= lane(v);
    h = rotl(h, 23) * kP2 + kP3;
  }
  return mix64(h);
}

}  // namespace surge
