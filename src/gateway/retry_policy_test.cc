#include "gateway/retry_policy.h"

#include <gtest/gtest.h>

#include "gateway/cluster.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) { return TimePoint(d); }

TEST(RetryPolicy, NextDeadlineIsTheEarliestArmed) {
  TryDeadlines d;
  EXPECT_EQ(nextDeadline(d), TimePoint::max());
  d.request = at(60s);
  EXPECT_EQ(nextDeadline(d), at(60s));
  d.per_try = at(1s);
  EXPECT_EQ(nextDeadline(d), at(1s));
  d.connect = at(500ms);
  EXPECT_EQ(nextDeadline(d), at(500ms));
}

TEST(RetryPolicy, ExpiredOrderRequestThenPerTryThenConnect) {
  TryDeadlines d{at(10s), at(2s), at(3s)};
  EXPECT_EQ(expiredDeadline(d, at(1s)), Expired::kNone);
  EXPECT_EQ(expiredDeadline(d, at(2s)), Expired::kConnect);
  EXPECT_EQ(expiredDeadline(d, at(3s)), Expired::kPerTry);
  EXPECT_EQ(expiredDeadline(d, at(10s)), Expired::kRequest);
  // A per-try deadline past the request deadline never shows: the request expires first.
  TryDeadlines late{at(5s), TimePoint::max(), at(6s)};
  EXPECT_EQ(expiredDeadline(late, at(5s)), Expired::kRequest);
}

TEST(RetryPolicy, PerTryDeadlineOffAndSaturating) {
  EXPECT_EQ(perTryDeadline(at(1s), 0s), TimePoint::max());
  EXPECT_EQ(perTryDeadline(at(1s), -1s), TimePoint::max());
  EXPECT_EQ(perTryDeadline(at(1s), 250ms), at(1250ms));
  EXPECT_EQ(perTryDeadline(TimePoint::max() - Duration(1), 1s), TimePoint::max());
}

TryState firstTry() {
  TryState s;
  s.tries = 1;
  s.max_retries = 2;
  return s;
}

TEST(RetryPolicy, PerTryTimeoutIsRetriedWithABudgetSlotAndAnswers504AtTheEnd) {
  RetryBudget b;
  RetryDecision d = decideRetry(TryFailure::kPerTryTimeout, firstTry(), b);
  EXPECT_TRUE(d.retry);
  EXPECT_TRUE(d.take_budget_slot);
  EXPECT_EQ(d.status, 504);

  TryState s = firstTry();
  s.tries = 3;  // the initial try + 2 retries
  d = decideRetry(TryFailure::kPerTryTimeout, s, b);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.status, 504);
}

TEST(RetryPolicy, PerTryTimeoutWithAPartialHeadIsStillRetried) {
  TryState s = firstTry();
  s.response_from_upstream = true;
  EXPECT_TRUE(decideRetry(TryFailure::kPerTryTimeout, s, RetryBudget{}).retry);
  // ... but a reset after response bytes is not.
  EXPECT_FALSE(decideRetry(TryFailure::kReset, s, RetryBudget{}).retry);
}

TEST(RetryPolicy, NothingIsRetriedOnceTheClientGotResponseBytes) {
  TryState s = firstTry();
  s.response_to_client = true;
  for (TryFailure f : {TryFailure::kConnectFailed, TryFailure::kStaleConnection, TryFailure::kReset,
                       TryFailure::kPerTryTimeout}) {
    EXPECT_FALSE(decideRetry(f, s, RetryBudget{}).retry);
  }
}

TEST(RetryPolicy, UnreplayableBodyIsNotRetried) {
  TryState s = firstTry();
  s.body_replayable = false;
  RetryDecision d = decideRetry(TryFailure::kPerTryTimeout, s, RetryBudget{});
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.status, 504);
  EXPECT_EQ(decideRetry(TryFailure::kReset, s, RetryBudget{}).status, 502);
}

TEST(RetryPolicy, RetriesZeroMeansOneTry) {
  TryState s = firstTry();
  s.max_retries = 0;
  EXPECT_FALSE(decideRetry(TryFailure::kConnectFailed, s, RetryBudget{}).retry);
}

TEST(RetryPolicy, ConnectFailuresAndStaleConnectionsAreFree) {
  RetryBudget exhausted{100, 10, 20, 3};
  for (TryFailure f : {TryFailure::kConnectFailed, TryFailure::kStaleConnection}) {
    RetryDecision d = decideRetry(f, firstTry(), exhausted);
    EXPECT_TRUE(d.retry);
    EXPECT_FALSE(d.take_budget_slot);
    EXPECT_EQ(d.status, 502);
  }
  EXPECT_FALSE(decideRetry(TryFailure::kPerTryTimeout, firstTry(), exhausted).retry);
  EXPECT_FALSE(decideRetry(TryFailure::kReset, firstTry(), exhausted).retry);
}

TEST(RetryPolicy, BudgetIsPercentOfActiveWithAFloor) {
  // 20% of (99 + 1) = 20 concurrent retries.
  RetryBudget b{19, 99, 20, 3};
  EXPECT_TRUE(decideRetry(TryFailure::kReset, firstTry(), b).retry);
  b.retries_in_flight = 20;
  EXPECT_FALSE(decideRetry(TryFailure::kReset, firstTry(), b).retry);
  // Few active requests: the floor (min_concurrent) applies.
  RetryBudget low{2, 1, 20, 3};
  EXPECT_TRUE(decideRetry(TryFailure::kReset, firstTry(), low).retry);
  low.retries_in_flight = 3;
  EXPECT_FALSE(decideRetry(TryFailure::kReset, firstTry(), low).retry);
}

TEST(RetryPolicy, ARequestHoldsAtMostOneSlot) {
  TryState s = firstTry();
  s.tries = 2;
  s.holds_budget_slot = true;
  RetryDecision d = decideRetry(TryFailure::kPerTryTimeout, s, RetryBudget{100, 0, 20, 3});
  EXPECT_TRUE(d.retry);
  EXPECT_FALSE(d.take_budget_slot);
}

TEST(RetryPolicy, StaleConnectionsDoNotCountAgainstTheHost) {
  EXPECT_FALSE(countsAgainstHost(TryFailure::kStaleConnection));
  EXPECT_TRUE(countsAgainstHost(TryFailure::kPerTryTimeout));
  EXPECT_TRUE(countsAgainstHost(TryFailure::kConnectFailed));
  EXPECT_TRUE(countsAgainstHost(TryFailure::kReset));
}

// The data path reports a per-try timeout as Outcome::kTimeout: consecutive ones eject the host
// (outlier detection), a success in between resets the streak, and other hosts are untouched.
TEST(PerTryTimeoutOutcome, ConsecutiveTimeoutsEjectTheHost) {
  ManualClock clock;
  ClusterOptions o;
  o.outlier.consecutive_failures = 5;
  o.outlier.base_ejection_time = 30s;
  Cluster cluster(o, clock);
  for (const char* a : {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) {
    ASSERT_TRUE(cluster.addHost(BackendSpec{a, 1, ""}).isOk());
  }
  lb::HostPtr hung = cluster.find("127.0.0.1:2");
  lb::HostPtr fine = cluster.find("127.0.0.1:1");
  ASSERT_TRUE(hung && fine);
  for (int i = 0; i < 4; ++i) cluster.onResult(*hung, Outcome::kTimeout, std::nullopt, clock.now());
  cluster.onResult(*hung, Outcome::kSuccess, 1ms, clock.now());  // resets the streak
  for (int i = 0; i < 4; ++i) cluster.onResult(*hung, Outcome::kTimeout, std::nullopt, clock.now());
  EXPECT_FALSE(hung->ejected(clock.now()));
  cluster.onResult(*hung, Outcome::kTimeout, std::nullopt, clock.now());
  EXPECT_TRUE(hung->ejected(clock.now()));
  EXPECT_FALSE(fine->ejected(clock.now()));
  bool eligible_in_snapshot = false;
  for (const auto& h : cluster.snapshot()->hosts) {
    if (h.get() == hung.get() && h->eligible(clock.now())) eligible_in_snapshot = true;
  }
  EXPECT_FALSE(eligible_in_snapshot);
  clock.advance(31s);
  EXPECT_FALSE(hung->ejected(clock.now()));
}

}  // namespace
}  // namespace surge::gateway
