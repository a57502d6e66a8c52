// consistent_hash: the same key goes to the same host, in every process, for the same host set
// (whatever order the hosts were added in), and removing one of n hosts moves few keys.
// Tables: Maglev (hash_method "maglev", default; see maglev.h) or a ketama ring ("ring"; ring.h).
// Bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2016;
// HAProxy `hash-balance-factor`, Envoy `hash_balance_factor`): with factor c > 1 each host may hold
// at most ceil(c x (total in-flight + 1) x weight / total weight) in-flight requests (equal
// weights: ceil(c x (T + 1) / n)); a key whose host is full walks its own preference order to the
// next host with room — Maglev: the key's own probe sequence of slots (start mix(key) mod M,
// stride from a second mix, like a backend's permutation), ring: the next points clockwise — and
// finally scans the hosts in order after its own. Since n x cap > T some host always has room.
// Requests without a key (ctx.hash_key empty) are not piled onto one host: they go to least
// request over two distinct random choices. Excluded hosts (retries) are skipped like full ones.
// Keys are passed through mix64 first, so sequential ids spread like hashes.
// Complexity: pick O(1) (Maglev: one index; ring: bucket index + a few points); with bounded
// loads add O(n) to total the in-flight counts unless ctx.total_in_flight is given.
// update: the table build (Maglev O(M log M), ring O(P log P)).
// Thread-safety: none; one instance per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/maglev.h"
#include "lb/ring.h"
#include "lb/sampling.h"

namespace surge::lb {

class ConsistentHashBalancer final : public Balancer {
 public:
  ConsistentHashBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

  // The host a key maps to with no load bound and no exclusion (nullptr on an empty set).
  Host* owner(uint64_t key) const;
  const MaglevTable& maglev() const { return maglev_; }
  const HashRing& ring() const { return ring_; }

 private:
  template <typename Accept>
  size_t walk(uint64_t mixed_key, Accept&& accept) const;
  size_t primary(uint64_t mixed_key) const;

  RandomSource random_;
  bool use_ring_;
  uint64_t maglev_table_size_;
  uint32_t ring_vnodes_per_weight_;
  double balance_factor_;
  std::shared_ptr<const HostSet> set_;
  std::vector<uint32_t> weights_;
  uint64_t total_weight_ = 0;
  bool equal_ = true;
  MaglevTable maglev_;
  HashRing ring_;
};

}  // namespace surge::lb
