// host_selection.h: the pick admission table (panic × pick eligible × any eligible) on real host
// sets, and the no-host answers.
#include "gateway/host_selection.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "lb/host_set.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(std::chrono::hours(1));

std::vector<lb::HostPtr> hosts(int n) {
  std::vector<lb::HostPtr> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(std::make_shared<lb::Host>("10.0.0." + std::to_string(i + 1) + ":80", 1, ""));
  }
  return v;
}

enum class Down { kUnhealthy, kEjected };

void takeDown(lb::Host& h, Down how) {
  if (how == Down::kUnhealthy) {
    h.setHealthy(false);
  } else {
    h.setEjectedUntil(kNow + 30s);
  }
}

TEST(HostSelection, NoPickNoHost) {
  lb::HostSet empty;
  EXPECT_EQ(admitPick(nullptr, empty, kNow), nullptr);
  auto hs = hosts(2);
  auto set = lb::buildHostSet(hs, {}, kNow, 1);
  EXPECT_EQ(admitPick(nullptr, *set, kNow), nullptr);
}

TEST(HostSelection, AdmissionTable) {
  // 3 hosts, panic threshold 50%: panic when fewer than 2 are eligible.
  struct Row {
    const char* rule;
    int down;         // hosts 0..down-1 are down
    int picked;       // index of the balancer's pick
    bool admitted;
  };
  const Row rows[] = {
      {"all healthy: the pick is tried", 0, 0, true},
      {"one down, no panic, healthy pick", 1, 2, true},
      {"panic, eligible pick", 2, 2, true},
      {"panic, ineligible pick while another host is eligible: tried (panic spreads load)", 2, 0,
       true},
      {"panic with no eligible host at all: fail fast", 3, 0, false},
      {"panic with no eligible host at all, any pick", 3, 2, false},
  };
  for (Down how : {Down::kUnhealthy, Down::kEjected}) {
    for (const Row& r : rows) {
      SCOPED_TRACE(std::string(r.rule) + (how == Down::kUnhealthy ? " (unhealthy)" : " (ejected)"));
      auto hs = hosts(3);
      for (int i = 0; i < r.down; ++i) takeDown(*hs[i], how);
      auto set = lb::buildHostSet(hs, {}, kNow, 1);
      EXPECT_EQ(set->panic, r.down >= 2);
      lb::Host* pick = hs[r.picked].get();
      EXPECT_EQ(admitPick(pick, *set, kNow), r.admitted ? pick : nullptr);
      EXPECT_EQ(anyEligible(*set, kNow), r.down < 3);
    }
  }
}

TEST(HostSelection, OutsidePanicAnIneligiblePickIsTried) {
  // A snapshot is built from flags read earlier: a host may turn ineligible after it; outside
  // panic mode that is the balancer's and outlier detection's business, not a reason for a 503.
  auto hs = hosts(3);
  auto set = lb::buildHostSet(hs, {}, kNow, 1);
  ASSERT_FALSE(set->panic);
  for (auto& h : hs) h->setHealthy(false);
  EXPECT_EQ(admitPick(hs[0].get(), *set, kNow), hs[0].get());
}

TEST(HostSelection, EjectionEndsWithTime) {
  auto hs = hosts(1);
  hs[0]->setEjectedUntil(kNow + 30s);
  auto set = lb::buildHostSet(hs, {}, kNow, 1);
  ASSERT_TRUE(set->panic);
  EXPECT_EQ(admitPick(hs[0].get(), *set, kNow), nullptr);
  EXPECT_EQ(admitPick(hs[0].get(), *set, kNow + 30s), hs[0].get());
}

TEST(HostSelection, PanicDisabledNeverFailsFast) {
  // panic_threshold_percent 0: no panic mode; the set holds only eligible hosts, an empty set
  // gives the balancer nothing to pick (nullptr, the 503 below).
  auto hs = hosts(2);
  for (auto& h : hs) h->setHealthy(false);
  lb::HostSetOptions o;
  o.panic_threshold_percent = 0;
  auto set = lb::buildHostSet(hs, o, kNow, 1);
  EXPECT_FALSE(set->panic);
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(admitPick(nullptr, *set, kNow), nullptr);
}

TEST(HostSelection, NoHostAnswers) {
  struct Row {
    int tries;
    int last;
    int status;
    std::string_view message;
  };
  const Row rows[] = {
      {0, 502, 503, "no healthy upstream"},
      {0, 504, 503, "no healthy upstream"},
      {1, 502, 502, "upstream unavailable"},
      {2, 502, 502, "upstream unavailable"},
      {1, 504, 504, "upstream per-try timeout, no other upstream to retry on"},
  };
  for (const Row& r : rows) {
    NoHostAnswer a = noHostAnswer(r.tries, r.last);
    EXPECT_EQ(a.status, r.status) << r.tries << " " << r.last;
    EXPECT_EQ(a.message, r.message) << r.tries << " " << r.last;
  }
}

}  // namespace
}  // namespace surge::gateway
