#include "lb/weighted.h"

#include <map>
#include <string>
#include <unordered_map>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::ctxAt;
using testing::kNow;

std::vector<HostPtr> named(const std::vector<std::pair<std::string, uint32_t>>& spec) {
  std::vector<HostPtr> v;
  for (const auto& [name, w] : spec) v.push_back(std::make_shared<Host>(name, w, ""));
  return v;
}

std::string sequence(WeightedBalancer& b, int n, std::span<const Host* const> exclude = {}) {
  std::string s;
  PickContext c = ctxAt();
  c.exclude = exclude;
  for (int i = 0; i < n; ++i) s += b.pick(c)->address();
  return s;
}

TEST(WeightedTest, NginxSmoothSequence) {
  auto hosts = named({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  EXPECT_EQ(sequence(b, 7), "aabacaa");
  EXPECT_EQ(sequence(b, 14), "aabacaaaabacaa") << "periodic, and currents return to 0";
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(b.currentWeight(i), 0);
}

TEST(WeightedTest, SharesWithinOnePercent) {
  auto hosts = testing::makeHosts(4);
  for (size_t i = 0; i < 4; ++i) hosts[i]->setWeight(static_cast<uint32_t>(i + 1));
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 100000; ++i) ++count[b.pick(ctxAt())];
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(count[hosts[i].get()] / 100000.0, (i + 1) / 10.0, 0.01);
  }
}

TEST(WeightedTest, KeepsCurrentWeightsAcrossAnUnchangedUpdate) {
  auto hosts = named({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  EXPECT_EQ(sequence(b, 3), "aab");
  b.update(testing::setOf(hosts, kNow, 2));  // a new snapshot of the same hosts
  EXPECT_EQ(sequence(b, 4), "acaa");
}

TEST(WeightedTest, KeepsCurrentWeightsWhenRampUnitsChange) {
  auto hosts = named({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  EXPECT_EQ(sequence(b, 3), "aab");
  auto scaled = std::make_shared<HostSet>(*testing::setOf(hosts));
  for (auto& w : scaled->weights) w *= kRampWeightScale;
  scaled->weight_scale = kRampWeightScale;
  b.update(scaled);
  EXPECT_EQ(sequence(b, 4), "acaa");
}

TEST(WeightedTest, NewHostStartsAtZeroOthersKeepTheirs) {
  auto hosts = named({{"a", 1}, {"b", 1}, {"c", 1}});
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  EXPECT_EQ(sequence(b, 1), "a");  // currents: a -2, b 1, c 1
  hosts.push_back(std::make_shared<Host>("d", 1, ""));
  b.update(testing::setOf(hosts, kNow, 2));
  // +1 each: a -1, b 2, c 2, d 1 → b (-2); then a 0, b -1, c 3, d 2 → c; then d; then a.
  EXPECT_EQ(sequence(b, 4), "bcda");
}

TEST(WeightedTest, ExcludedHostSitsTheRoundOut) {
  auto hosts = named({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedBalancer b({}, nullptr);
  b.update(testing::setOf(hosts));
  const Host* ex[] = {hosts[0].get()};
  // nginx with a tried: b and c +1 each, total 2: b 1→-1; then c.
  EXPECT_EQ(sequence(b, 2, ex), "bc");
}

// nginx's O(n) loop, verbatim semantics, as an oracle for the heap implementation.
class NaiveSwrr {
 public:
  void update(const HostSet& set) {
    std::unordered_map<std::string, int64_t> next;
    for (size_t i = 0; i < set.size(); ++i) {
      auto it = current_.find(set.hosts[i]->address());
      next[set.hosts[i]->address()] = it == current_.end() ? 0 : it->second;
    }
    current_ = std::move(next);
    set_ = &set;
  }
  const Host* pick(std::span<const Host* const> exclude) {
    const Host* best = nullptr;
    int64_t total = 0;
    for (int pass = 0; pass < 2 && !best; ++pass) {
      for (size_t i = 0; i < set_->size(); ++i) {
        const Host* h = set_->hosts[i].get();
        if (pass == 0 && isExcluded(h, exclude)) continue;
        int64_t& c = current_[h->address()];
        c += set_->weights[i];
        total += set_->weights[i];
        if (!best || c > current_[best->address()]) best = h;
      }
    }
    current_[best->address()] -= total;
    return best;
  }

 private:
  std::unordered_map<std::string, int64_t> current_;
  const HostSet* set_ = nullptr;
};

TEST(WeightedTest, MatchesNginxLoopThroughUpdatesAndRetries) {
  auto pool = testing::makeHosts(40);
  Random rnd(11);
  const uint32_t kWeights[] = {1, 2, 3, 5, 8};
  WeightedBalancer b({}, nullptr);
  NaiveSwrr oracle;
  std::vector<std::shared_ptr<const HostSet>> keep;
  for (int round = 0; round < 30; ++round) {
    std::vector<HostPtr> members;
    for (auto& h : pool) {
      if (rnd.uniform(4) != 0) members.push_back(h);
      if (rnd.uniform(5) == 0) h->setWeight(kWeights[rnd.uniform(5)]);
    }
    auto set = testing::setOf(members, kNow, round + 1);
    keep.push_back(set);
    b.update(set);
    oracle.update(*set);
    for (int i = 0; i < 300; ++i) {
      std::vector<const Host*> ex;
      if (!set->empty() && rnd.uniform(10) == 0) {
        ex.push_back(set->hosts[rnd.uniform(set->size())].get());
      }
      PickContext c = ctxAt();
      c.exclude = ex;
      const Host* got = b.pick(c);
      if (set->empty()) {
        ASSERT_EQ(got, nullptr);
        continue;
      }
      ASSERT_EQ(got, oracle.pick(ex)) << "round " << round << " pick " << i;
    }
  }
}

}  // namespace
}  // namespace surge::lb
