#include "lb/maglev.h"

#include <algorithm>
#include <numeric>

#include "common/hash.h"

namespace surge::lb {
namespace {
// Seeds of the two independent address hashes behind offset and skip.
constexpr uint64_t kOffsetSeed = 0x6d61676c65763031ULL;  // "maglev01"
constexpr uint64_t kSkipSeed = 0x6d61676c65763032ULL;    // "maglev02"
constexpr uint32_t kEmpty = UINT32_MAX;
}  // namespace

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  if (n % 3 == 0) return n == 3;
  for (uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

uint64_t nextPrime(uint64_t n) {
  while (!isPrime(n)) ++n;
  return n;
}

uint64_t MaglevTable::tableSizeFor(uint64_t requested, size_t hosts) {
  const uint64_t base = std::max<uint64_t>(requested, 2);
  const uint64_t needed = 100 * static_cast<uint64_t>(hosts);
  uint64_t size = nextPrime(base);
  for (uint64_t mult = 2; size < needed; mult *= 2) size = nextPrime(base * mult);
  return size;
}

void MaglevTable::build(const std::vector<HostPtr>& hosts, const std::vector<uint32_t>& weights,
                        uint64_t table_size) {
  const size_t n = hosts.size();
  table_.clear();
  if (n == 0 || table_size < 2) return;
  const uint64_t m = table_size;
  // Turn order by address, not by the caller's order, so the table is a function of the set.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return hosts[a]->address() < hosts[b]->address();
  });
  std::vector<uint64_t> pos(n);
  std::vector<uint64_t> skip(n);
  std::vector<uint64_t> credit(n, 0);
  uint64_t max_weight = 1;
  for (size_t i = 0; i < n; ++i) {
    const std::string& a = hosts[i]->address();
    pos[i] = hash64(a, kOffsetSeed) % m;
    skip[i] = hash64(a, kSkipSeed) % (m - 1) + 1;
    max_weight = std::max<uint64_t>(max_weight, std::max<uint32_t>(weights[i], 1));
  }
  table_.assign(m, kEmpty);
  uint64_t filled = 0;
  while (true) {
    for (uint32_t i : order) {
      credit[i] += std::max<uint32_t>(weights[i], 1);
      while (credit[i] >= max_weight) {
        credit[i] -= max_weight;
        uint64_t p = pos[i];
        while (table_[p] != kEmpty) {
          p += skip[i];
          if (p >= m) p -= m;
        }
        table_[p] = i;
        p += skip[i];
        pos[i] = p >= m ? p - m : p;
        if (++filled == m) return;
      }
    }
  }
}

}  // namespace surge::lb
