// Tests of common/hash (kept with lb, its main user, since lb owns hash.{h,cc}).
#include "common/hash.h"

#include <bit>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace surge {
namespace {

TEST(HashTest, GoldenValuesNeverChange) {
  // Pinned outputs: consistent hashing depends on them in every process and on every machine.
  EXPECT_EQ(hash64(""), 0x1510f82856926d3eULL);
  EXPECT_EQ(hash64("a"), 0x11f18f874a958a62ULL);
  EXPECT_EQ(hash64("10.0.0.1:8080"), 0x17722ef57ec9e298ULL);
  EXPECT_EQ(hash64("10.0.0.1:8080", 42), 0x3ed128ba03aa8623ULL);
  EXPECT_EQ(hash64("the quick brown fox jumps over the lazy dog"), 0x2ee32f4be0499fb7ULL);
}

TEST(HashTest, SeedLengthAndEveryByteMatter) {
  EXPECT_NE(hash64("abc", 0), hash64("abc", 1));
  EXPECT_NE(hash64("a"), hash64(std::string("a\0", 2)));
  EXPECT_NE(hash64(""), hash64(std::string(1, '\0')));
  std::set<uint64_t> seen;
  const std::string base = "host-0123456789:80";
  for (size_t i = 0; i < base.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = base;
      s[i] = static_cast<char>(s[i] ^ (1 << bit));
      seen.insert(hash64(s));
    }
  }
  EXPECT_EQ(seen.size(), base.size() * 8);
}

TEST(HashTest, AvalancheFlipsAboutHalfTheBits) {
  double total = 0;
  int trials = 0;
  for (int k = 0; k < 200; ++k) {
    const std::string s = "key-" + std::to_string(k);
    const uint64_t h = hash64(s);
    for (size_t i = 0; i < s.size(); ++i) {
      std::string t = s;
      t[i] = static_cast<char>(t[i] ^ 1);
      total += std::popcount(h ^ hash64(t));
      ++trials;
    }
  }
  EXPECT_NEAR(total / trials, 32.0, 1.0);
}

TEST(HashTest, Mix64IsABijectionOnSamples) {
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 10000; ++i) seen.insert(mix64(i));
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_EQ(mix64(0), 0u);  // fmix64 fixes 0; keys are hashes, so this is harmless
}

}  // namespace
}  // namespace surge
