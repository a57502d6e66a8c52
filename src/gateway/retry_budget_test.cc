// retry_budget.h: the limit table, and a property test that drives decideRetry the way the proxy
// does (random request arrivals, failures, retries and completions) and checks that budgeted
// retries in flight never exceed max(min_concurrent, percent × (active + 1)) when one is admitted,
// that free retries never take a slot, and that the accounting returns to zero.
#include "gateway/retry_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "common/random.h"
#include "gateway/retry_policy.h"

namespace surge::gateway {
namespace {

TEST(RetryBudget, LimitTable) {
  struct Row {
    RetryBudget b;
    int64_t limit;
  };
  const Row rows[] = {
      {{0, 0, 20, 3}, 3},       // idle gateway: the floor
      {{0, 14, 20, 3}, 3},      // 20% of 15 = 3
      {{0, 19, 20, 3}, 4},      // 20% of 20 = 4
      {{0, 99, 20, 3}, 20},     // 20% of 100
      {{0, 98, 20, 3}, 19},     // 19.8 rounds down
      {{0, 99, 20, 0}, 20},     // no floor
      {{0, 0, 20, 0}, 0},       // no floor, nothing active beyond the asker: 0.2 → 0
      {{0, 99, 0, 3}, 3},       // percent 0: the floor only
      {{0, 99, 100, 3}, 100},   // every active request may retry
      {{0, 9, 50, 10}, 10},     // the floor wins over 5
  };
  for (const Row& r : rows) {
    EXPECT_EQ(retryBudgetLimit(r.b), r.limit)
        << r.b.active_requests << " active, " << r.b.percent << "%, min " << r.b.min_concurrent;
    if (r.limit > 0) {
      RetryBudget below = r.b;
      below.retries_in_flight = r.limit - 1;
      EXPECT_TRUE(retryBudgetAdmits(below));
    }
    RetryBudget at = r.b;
    at.retries_in_flight = r.limit;
    EXPECT_FALSE(retryBudgetAdmits(at));
  }
}

TEST(RetryBudget, DecideRetryConsultsTheBudgetOnlyForBudgetedRetries) {
  TryState s;
  s.tries = 1;
  s.max_retries = 2;
  RetryBudget full{3, 0, 20, 3};
  ASSERT_FALSE(retryBudgetAdmits(full));
  EXPECT_FALSE(decideRetry(TryFailure::kReset, s, full).retry);
  EXPECT_FALSE(decideRetry(TryFailure::kPerTryTimeout, s, full).retry);
  EXPECT_TRUE(decideRetry(TryFailure::kConnectFailed, s, full).retry);
  EXPECT_TRUE(decideRetry(TryFailure::kStaleConnection, s, full).retry);
  s.holds_budget_slot = true;
  EXPECT_TRUE(decideRetry(TryFailure::kReset, s, full).retry);
}

// A model of the proxy's requests: each is in flight until it ends; a try may fail; a failed try
// asks decideRetry with the gateway-wide counts, takes a slot when told to, and returns its slot
// when the request ends (accountEnd / close).
struct Request {
  int tries = 1;
  bool holds_slot = false;
};

TEST(RetryBudget, PropertyNeverAdmitsMoreThanTheLimit) {
  Random rng(20240611);
  int64_t total_admitted = 0, total_refused = 0;
  for (int round = 0; round < 200; ++round) {
    RetryBudget config;
    config.percent = static_cast<double>(rng.uniform(101));
    config.min_concurrent = static_cast<int64_t>(rng.uniform(6));
    const int max_retries = static_cast<int>(rng.uniform(4));
    std::vector<Request> active;
    int64_t slots = 0;  // the proxy's shared retries_in_flight
    int64_t admitted_budgeted = 0, refused = 0, free_retries = 0;
    for (int step = 0; step < 2000; ++step) {
      const uint64_t what = rng.uniform(10);
      if (what < 4 || active.empty()) {
        active.push_back({});  // a request arrives (its first try)
      } else if (what < 7) {
        // A request ends (answered or failed for good): its slot is returned.
        size_t i = rng.uniform(active.size());
        if (active[i].holds_slot) --slots;
        active[i] = active.back();
        active.pop_back();
      } else {
        // A try of some request fails.
        size_t i = rng.uniform(active.size());
        Request& r = active[i];
        static constexpr TryFailure kFailures[] = {TryFailure::kConnectFailed,
                                                   TryFailure::kStaleConnection,
                                                   TryFailure::kReset, TryFailure::kPerTryTimeout};
        TryFailure f = kFailures[rng.uniform(4)];
        TryState s;
        s.tries = r.tries;
        s.max_retries = max_retries;
        s.holds_budget_slot = r.holds_slot;
        RetryBudget b = config;
        b.retries_in_flight = slots;
        b.active_requests = static_cast<int64_t>(active.size());
        RetryDecision d = decideRetry(f, s, b);
        const bool free_failure =
            f == TryFailure::kConnectFailed || f == TryFailure::kStaleConnection;
        if (free_failure || r.holds_slot) {
          EXPECT_FALSE(d.take_budget_slot);
        }
        if (d.take_budget_slot) {
          ASSERT_TRUE(d.retry);
          ++slots;
          r.holds_slot = true;
          ++admitted_budgeted;
          // The property: an admission never takes the count over the limit of that moment.
          ASSERT_LE(slots, std::max<int64_t>(config.min_concurrent,
                                             static_cast<int64_t>(config.percent / 100.0 *
                                                                  (b.active_requests + 1))));
        } else if (!d.retry && !free_failure && !r.holds_slot && r.tries <= max_retries) {
          ++refused;  // refused by the budget alone
          ASSERT_GE(slots, retryBudgetLimit(b));
        }
        if (d.retry) {
          if (free_failure) ++free_retries;
          ++r.tries;
          ASSERT_LE(r.tries, max_retries + 1);
        } else {
          if (r.holds_slot) --slots;
          active[i] = active.back();
          active.pop_back();
        }
      }
      // Slots are held by requests in flight, one at most each.
      int64_t held = std::count_if(active.begin(), active.end(),
                                   [](const Request& r) { return r.holds_slot; });
      ASSERT_EQ(held, slots);
    }
    for (const Request& r : active) slots -= r.holds_slot ? 1 : 0;
    EXPECT_EQ(slots, 0);
    if (max_retries > 0) {
      // The model exercised the rule (else the property above would hold vacuously).
      EXPECT_GT(admitted_budgeted + refused + free_retries, 0) << "round " << round;
    }
    total_admitted += admitted_budgeted;
    total_refused += refused;
  }
  // Both sides of the limit were reached.
  EXPECT_GT(total_admitted, 1000);
  EXPECT_GT(total_refused, 1000);
}

}  // namespace
}  // namespace surge::gateway
