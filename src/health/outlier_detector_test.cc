#include "health/outlier_detector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random.h"

namespace surge::health {
namespace {

using std::chrono::seconds;

std::vector<lb::HostPtr> makeHosts(int n) {
  std::vector<lb::HostPtr> hosts;
  for (int i = 0; i < n; ++i) {
    hosts.push_back(std::make_shared<lb::Host>("10.0.0." + std::to_string(i + 1) + ":8000", 1, ""));
  }
  return hosts;
}

// Reports `n` failures; returns how many of them ejected the host.
int failTimes(OutlierDetector& d, lb::Host& h, int n, TimePoint now) {
  int ejections = 0;
  for (int i = 0; i < n; ++i) ejections += d.onFailure(h, now) ? 1 : 0;
  return ejections;
}

TEST(OutlierDetector, DefaultsAreEnvoysWithHalfEjectable) {
  OutlierOptions o;
  EXPECT_EQ(o.consecutive_failures, 5);
  EXPECT_EQ(o.base_ejection_time, seconds(30));
  EXPECT_EQ(o.max_ejection_time, seconds(300));
  EXPECT_EQ(o.max_ejection_percent, 50);
  EXPECT_TRUE(o.enabled);
}

TEST(OutlierDetector, EjectsOnTheFifthConsecutiveFailure) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  EXPECT_EQ(failTimes(d, h, 4, clock.now()), 0);
  EXPECT_EQ(d.consecutiveFailures(h), 4);
  EXPECT_TRUE(h.eligible(clock.now()));
  EXPECT_TRUE(d.onFailure(h, clock.now()));
  EXPECT_EQ(h.ejectedUntil(), clock.now() + seconds(30));
  EXPECT_FALSE(h.eligible(clock.now()));
  EXPECT_TRUE(hosts[1]->eligible(clock.now()));
  EXPECT_EQ(d.ejectionsTotal(), 1u);
  EXPECT_EQ(d.ejectionsTotal(h), 1u);
  EXPECT_EQ(d.ejectionsTotal(*hosts[1]), 0u);
  EXPECT_EQ(d.consecutiveFailures(h), 0);
  EXPECT_EQ(d.ejectedCount(clock.now()), 1u);
}

TEST(OutlierDetector, SuccessResetsConsecutiveCount) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  EXPECT_EQ(failTimes(d, h, 4, clock.now()), 0);
  d.onSuccess(h);
  EXPECT_EQ(d.consecutiveFailures(h), 0);
  EXPECT_EQ(failTimes(d, h, 4, clock.now()), 0);
  EXPECT_TRUE(h.eligible(clock.now()));
  EXPECT_TRUE(d.onFailure(h, clock.now()));
}

TEST(OutlierDetector, EjectedHostReturnsWhenItsTimeIsUp) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1);
  clock.advance(seconds(30) - Duration(1));
  EXPECT_FALSE(h.eligible(clock.now()));
  clock.advance(Duration(1));
  EXPECT_TRUE(h.eligible(clock.now()));
  EXPECT_EQ(d.ejectedCount(clock.now()), 0u);
}

TEST(OutlierDetector, EjectionTimeGrowsByBaseAndIsCapped) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  std::vector<int64_t> got;
  for (int i = 0; i < 12; ++i) {
    // Fails again the moment it comes back: no time to decay.
    ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1) << "round " << i;
    got.push_back((h.ejectedUntil() - clock.now()) / seconds(1));
    clock.set(h.ejectedUntil());
  }
  const std::vector<int64_t> want = {30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300};
  EXPECT_EQ(got, want);
  EXPECT_EQ(d.ejectionsTotal(h), 12u);
}

TEST(OutlierDetector, EjectionCountDecaysWhileTheHostBehaves) {
  ManualClock clock;
  OutlierOptions o;
  o.decay_interval = seconds(10);
  OutlierDetector d(o);
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  for (int i = 0; i < 3; ++i) {  // 30 s, 60 s, 90 s
    ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1);
    clock.set(h.ejectedUntil());
  }
  EXPECT_EQ(d.timesEjected(h, clock.now()), 3);
  clock.advance(seconds(10) - Duration(1));
  EXPECT_EQ(d.timesEjected(h, clock.now()), 3);
  clock.advance(Duration(1));
  EXPECT_EQ(d.timesEjected(h, clock.now()), 2);
  // Next ejection starts from the decayed count: 3rd again, 90 s.
  ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1);
  EXPECT_EQ(h.ejectedUntil() - clock.now(), seconds(90));
  // A long quiet period forgets everything: back to 30 s.
  clock.set(h.ejectedUntil() + seconds(1000));
  EXPECT_EQ(d.timesEjected(h, clock.now()), 0);
  ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1);
  EXPECT_EQ(h.ejectedUntil() - clock.now(), seconds(30));
}

TEST(OutlierDetector, NeverMoreThanHalfEjected) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(4);
  d.setHosts(hosts);
  EXPECT_EQ(d.maxEjected(), 2u);
  EXPECT_EQ(failTimes(d, *hosts[0], 5, clock.now()), 1);
  clock.advance(seconds(1));
  EXPECT_EQ(failTimes(d, *hosts[1], 5, clock.now()), 1);
  EXPECT_EQ(failTimes(d, *hosts[2], 5, clock.now()), 0);
  EXPECT_EQ(d.ejectionsOverflowTotal(), 1u);
  EXPECT_TRUE(hosts[2]->eligible(clock.now()));
  EXPECT_EQ(failTimes(d, *hosts[2], 10, clock.now()), 0);  // still no room
  EXPECT_EQ(d.ejectedCount(clock.now()), 2u);
  // hosts[0] comes back: the next failure of the still-failing hosts[2] ejects it at once.
  clock.advance(seconds(29));
  EXPECT_TRUE(hosts[0]->eligible(clock.now()));
  EXPECT_TRUE(d.onFailure(*hosts[2], clock.now()));
  EXPECT_EQ(d.ejectedCount(clock.now()), 2u);
}

TEST(OutlierDetector, CapRoundsDownButAllowsOneOfTwoOrThree) {
  ManualClock clock;
  for (int n : {2, 3}) {
    OutlierDetector d;
    auto hosts = makeHosts(n);
    d.setHosts(hosts);
    EXPECT_EQ(d.maxEjected(), 1u) << n;
    EXPECT_EQ(failTimes(d, *hosts[0], 5, clock.now()), 1) << n;
    EXPECT_EQ(failTimes(d, *hosts[1], 5, clock.now()), 0) << n;
    EXPECT_EQ(d.ejectedCount(clock.now()), 1u) << n;
  }
  OutlierOptions ten_percent;
  ten_percent.max_ejection_percent = 10;
  OutlierDetector d(ten_percent);
  d.setHosts(makeHosts(5));
  EXPECT_EQ(d.maxEjected(), 1u);  // at least one
  d.setHosts(makeHosts(30));
  EXPECT_EQ(d.maxEjected(), 3u);
  OutlierOptions thirty;
  thirty.max_ejection_percent = 30;
  OutlierDetector d30(thirty);
  d30.setHosts(makeHosts(10));
  EXPECT_EQ(d30.maxEjected(), 3u);  // 10 × 0.3 is not 2.999…
}

TEST(OutlierDetector, SingleHostIsNeverEjected) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(1);
  d.setHosts(hosts);
  EXPECT_EQ(d.maxEjected(), 0u);
  EXPECT_EQ(failTimes(d, *hosts[0], 50, clock.now()), 0);
  EXPECT_TRUE(hosts[0]->eligible(clock.now()));
  EXPECT_EQ(d.ejectionsTotal(), 0u);
}

TEST(OutlierDetector, DisabledOrZeroPercentNeverEjects) {
  ManualClock clock;
  OutlierOptions off;
  off.enabled = false;
  OutlierOptions zero;
  zero.max_ejection_percent = 0;
  for (const auto& o : {off, zero}) {
    OutlierDetector d(o);
    auto hosts = makeHosts(4);
    d.setHosts(hosts);
    EXPECT_EQ(failTimes(d, *hosts[0], 20, clock.now()), 0);
    EXPECT_TRUE(hosts[0]->eligible(clock.now()));
  }
}

TEST(OutlierDetector, FailuresWhileEjectedAreIgnored) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  lb::Host& h = *hosts[0];
  ASSERT_EQ(failTimes(d, h, 5, clock.now()), 1);
  const TimePoint until = h.ejectedUntil();
  EXPECT_EQ(failTimes(d, h, 20, clock.now() + seconds(1)), 0);
  EXPECT_EQ(h.ejectedUntil(), until);
  EXPECT_EQ(d.consecutiveFailures(h), 0);
  // Back: it needs a fresh streak of five.
  clock.set(until);
  EXPECT_EQ(failTimes(d, h, 4, clock.now()), 0);
  EXPECT_TRUE(d.onFailure(h, clock.now()));
}

TEST(OutlierDetector, UnknownHostsAreIgnored) {
  ManualClock clock;
  OutlierDetector d;
  d.setHosts(makeHosts(3));
  lb::Host stranger("192.168.0.1:80", 1, "");
  EXPECT_EQ(failTimes(d, stranger, 10, clock.now()), 0);
  d.onSuccess(stranger);
  EXPECT_EQ(d.consecutiveFailures(stranger), 0);
  EXPECT_TRUE(stranger.eligible(clock.now()));
}

TEST(OutlierDetector, SetHostsKeepsStateOfKeptHostsOnly) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(3);
  d.setHosts(hosts);
  EXPECT_EQ(failTimes(d, *hosts[0], 3, clock.now()), 0);
  EXPECT_EQ(failTimes(d, *hosts[1], 3, clock.now()), 0);
  d.setHosts({hosts[0], hosts[2]});  // hosts[1] removed
  EXPECT_EQ(d.consecutiveFailures(*hosts[0]), 3);
  EXPECT_EQ(d.consecutiveFailures(*hosts[1]), 0);
  EXPECT_EQ(failTimes(d, *hosts[1], 10, clock.now()), 0);
  d.setHosts(hosts);  // hosts[1] is back, with a clean slate
  EXPECT_EQ(d.consecutiveFailures(*hosts[1]), 0);
  EXPECT_EQ(failTimes(d, *hosts[0], 2, clock.now()), 1);  // 3 + 2
}

TEST(OutlierDetector, CallbackReportsEachEjection) {
  ManualClock clock;
  std::vector<std::pair<std::string, int>> events;
  OutlierDetector d({}, [&](const lb::HostPtr& host, TimePoint until, int times) {
    events.emplace_back(host->address(), times);
    EXPECT_EQ(host->ejectedUntil(), until);
  });
  auto hosts = makeHosts(2);
  d.setHosts(hosts);
  ASSERT_EQ(failTimes(d, *hosts[1], 5, clock.now()), 1);
  clock.set(hosts[1]->ejectedUntil());
  ASSERT_EQ(failTimes(d, *hosts[1], 5, clock.now()), 1);
  const std::vector<std::pair<std::string, int>> want = {{"10.0.0.2:8000", 1},
                                                         {"10.0.0.2:8000", 2}};
  EXPECT_EQ(events, want);
}

TEST(OutlierDetector, SeveralDetectorsOnOneThreadStayApart) {
  // More detectors than the per-thread index cache has slots.
  ManualClock clock;
  std::vector<std::unique_ptr<OutlierDetector>> detectors;
  std::vector<std::vector<lb::HostPtr>> hosts;
  for (int i = 0; i < 7; ++i) {
    detectors.push_back(std::make_unique<OutlierDetector>());
    hosts.push_back(makeHosts(2));
    detectors.back()->setHosts(hosts.back());
  }
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 7; ++i) EXPECT_FALSE(detectors[i]->onFailure(*hosts[i][0], clock.now()));
  }
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(detectors[i]->consecutiveFailures(*hosts[i][0]), 4);
    EXPECT_EQ(detectors[i]->consecutiveFailures(*hosts[(i + 1) % 7][0]), 0);  // not its host
    EXPECT_TRUE(detectors[i]->onFailure(*hosts[i][0], clock.now()));
  }
}

// Four workers report failures and successes on ten hosts at once; after each round (a fixed
// instant) no more than half the hosts are ejected and every ejection is accounted for.
TEST(OutlierDetector, ConcurrentReportsKeepTheCap) {
  ManualClock clock;
  std::atomic<uint64_t> callbacks{0};
  std::atomic<bool> cap_broken{false};
  OutlierDetector* self = nullptr;
  OutlierOptions o;
  o.consecutive_failures = 3;
  OutlierDetector d(o, [&](const lb::HostPtr&, TimePoint, int) {
    callbacks.fetch_add(1);
    if (self->ejectedCount(clock.now()) > self->maxEjected()) cap_broken = true;
  });
  self = &d;
  auto hosts = makeHosts(10);
  d.setHosts(hosts);
  uint64_t returned_true = 0;
  for (int round = 0; round < 20; ++round) {
    const TimePoint now = clock.now();
    std::atomic<uint64_t> ejected_here{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        Random random(1000 * round + t);
        for (int i = 0; i < 2000; ++i) {
          lb::Host& h = *hosts[random.uniform(hosts.size())];
          if (random.uniform(4) == 0) {
            d.onSuccess(h);
          } else if (d.onFailure(h, now)) {
            ejected_here.fetch_add(1);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    returned_true += ejected_here.load();
    EXPECT_LE(d.ejectedCount(now), 5u) << "round " << round;
    EXPECT_GE(ejected_here.load(), 1u) << "round " << round;  // failures dominate: room is used
    clock.advance(seconds(31));                               // first-time ejections have ended
  }
  EXPECT_FALSE(cap_broken.load());
  EXPECT_EQ(returned_true, d.ejectionsTotal());
  EXPECT_EQ(callbacks.load(), d.ejectionsTotal());
  uint64_t per_host = 0;
  for (const auto& h : hosts) per_host += d.ejectionsTotal(*h);
  EXPECT_EQ(per_host, d.ejectionsTotal());
}

// Workers report while another thread keeps changing the host list (exercises the per-thread
// index cache under ASan/TSan).
TEST(OutlierDetector, ConcurrentSetHostsIsSafe) {
  ManualClock clock;
  OutlierDetector d;
  auto hosts = makeHosts(8);
  d.setHosts(hosts);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reports{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      Random random(t + 1);
      while (!done.load()) {
        lb::Host& h = *hosts[random.uniform(hosts.size())];
        if (random.uniform(3) == 0) {
          d.onSuccess(h);
        } else {
          d.onFailure(h, clock.now());
        }
        reports.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  Random random(99);
  // Keep changing the list until the workers have really raced with it (however slow they start).
  for (int i = 0; i < 300 || reports.load() < 30000; ++i) {
    std::vector<lb::HostPtr> subset;
    for (const auto& h : hosts) {
      if (random.uniform(2) == 0) subset.push_back(h);
    }
    d.setHosts(subset);
  }
  done = true;
  for (auto& th : threads) th.join();
  // Still consistent afterwards: a fresh streak of five ejects.
  d.setHosts(hosts);
  clock.advance(seconds(301));
  d.onSuccess(*hosts[0]);
  EXPECT_EQ(failTimes(d, *hosts[0], 4, clock.now()), 0);
  EXPECT_TRUE(d.onFailure(*hosts[0], clock.now()));
}

}  // namespace
}  // namespace surge::health
