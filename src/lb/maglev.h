// MaglevTable: the lookup table of Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016, §3.4). Table size M is prime; backend i has
// offset = h1(address) mod M and skip = h2(address) mod (M - 1) + 1, i.e. the preference list
// (offset + j x skip) mod M, a permutation of the slots. Backends take turns claiming their next
// still-empty preferred slot until the table is full. Weighted as Envoy's weighted Maglev: a
// backend of weight w takes w / max_weight turns per round (credit carried over), so its share is
// proportional to its weight; with equal weights every backend owns floor or ceil of M / n slots.
// The table depends only on the (address, weight) pairs, not on the order hosts were added.
// Complexity: build O(M log M) expected time, O(M + n) space; lookup O(1) (one index).
// Thread-safety: immutable after build().
#pragma once

#include <cstdint>
#include <vector>

#include "lb/host.h"

namespace surge::lb {

bool isPrime(uint64_t n);
// Smallest prime >= n.
uint64_t nextPrime(uint64_t n);

class MaglevTable {
 public:
  // Maglev keeps shares within ~1% when M >= 100 x n. The size climbs a fixed ladder,
  // nextPrime(requested x 2^k) for the smallest k giving >= 100 n, so it is a function of n that
  // changes only when n crosses a doubling boundary: a size that tracked n exactly would rebuild a
  // different table (and move nearly every key) on every membership change.
  static uint64_t tableSizeFor(uint64_t requested, size_t hosts);

  // hosts[i] with weights[i] >= 1 (parallel vectors); table_size prime and > 1. Entries are
  // indices into `hosts`.
  void build(const std::vector<HostPtr>& hosts, const std::vector<uint32_t>& weights,
             uint64_t table_size);

  uint64_t size() const { return table_.size(); }
  bool empty() const { return table_.empty(); }
  // Owner (index into the hosts given to build) of a slot < size().
  uint32_t owner(uint64_t slot) const { return table_[slot]; }
  // Owner of a (well-mixed) key hash.
  uint32_t lookup(uint64_t key_hash) const { return table_[key_hash % table_.size()]; }

 private:
  std::vector<uint32_t> table_;
};

}  // namespace surge::lb
