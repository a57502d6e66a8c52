#include "serving/batch_policy.h"

#include <gtest/gtest.h>

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using Action = BatchDecision::Action;

class BatchPolicyTest : public ::testing::Test {
 protected:
  // Queues `rows` at the current time (each element one request of that many rows).
  void push(std::vector<int64_t> rows, uint64_t key = 0, Duration timeout = Duration::zero()) {
    for (int64_t r : rows) {
      QueuedItem it;
      it.enqueued = clock_.now();
      it.rows = r;
      it.shape_key = key;
      if (timeout > Duration::zero()) it.deadline = clock_.now() + timeout;
      queue_.push_back(it);
    }
  }
  BatchDecision decide(bool flush = false) {
    return decideBatch(opts_, queue_, clock_.now(), flush);
  }

  ManualClock clock_;
  std::deque<QueuedItem> queue_;
  BatchPolicyOptions opts_{true, 8, {}, Duration::zero()};
};

TEST_F(BatchPolicyTest, EmptyQueueIsIdle) { EXPECT_EQ(decide().action, Action::kIdle); }

TEST_F(BatchPolicyTest, WithoutDynamicBatchingEachRequestIsItsOwnBatch) {
  opts_.dynamic = false;
  push({3, 1, 1});
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 1u);
  EXPECT_EQ(d.rows, 3);
}

TEST_F(BatchPolicyTest, ModelWithoutBatchingTakesOneRequest) {
  opts_.max_batch_size = 0;
  push({1, 1});
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 1u);
}

TEST_F(BatchPolicyTest, NoDelaySendsEverythingPendingAtOnce) {
  // Triton's defaults: no artificial wait, batches form from back-pressure.
  push({1, 1, 1});
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 3u);
  EXPECT_EQ(d.rows, 3);
}

TEST_F(BatchPolicyTest, MaxBatchSizeCapsTheBatch) {
  push({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  auto d = decide();
  EXPECT_EQ(d.count, 8u);
  EXPECT_EQ(d.rows, 8);
}

TEST_F(BatchPolicyTest, RowsCountNotRequests) {
  opts_.max_queue_delay = 10ms;
  push({3, 3, 3});  // 3 + 3 = 6 fits, + 3 = 9 does not: the max size stopped the walk
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 2u);
  EXPECT_EQ(d.rows, 6);
}

TEST_F(BatchPolicyTest, WaitsForTheDelayThenSendsWhatIsPending) {
  opts_.max_queue_delay = 5ms;
  opts_.preferred_batch_sizes = {4, 8};
  push({1});
  clock_.advance(1ms);
  push({1, 1});
  auto d = decide();
  ASSERT_EQ(d.action, Action::kWait);
  EXPECT_EQ(d.wake_at, clock_.now() + 4ms);  // oldest waited 1 ms of 5
  clock_.advance(3999us);
  EXPECT_EQ(decide().action, Action::kWait);
  clock_.advance(1us);  // the oldest has now waited exactly 5 ms
  d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 3u);
}

TEST_F(BatchPolicyTest, PreferredSizeGoesImmediately) {
  opts_.max_queue_delay = 5ms;
  opts_.preferred_batch_sizes = {4, 8};
  push({1, 1, 1, 1, 1, 1});  // 6 queued, preferred [4, 8] → 4
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 4u);
  EXPECT_EQ(d.rows, 4);
}

TEST_F(BatchPolicyTest, LargestPreferredSizeReachedWins) {
  opts_.max_queue_delay = 5ms;
  opts_.preferred_batch_sizes = {2, 4};
  opts_.max_batch_size = 16;
  push({1, 1, 1, 1, 1});  // reaches 2 then 4; 5 is not preferred
  auto d = decide();
  EXPECT_EQ(d.count, 4u);
}

TEST_F(BatchPolicyTest, ExpiredDelaySendsAllNotJustThePreferredSize) {
  opts_.max_queue_delay = 5ms;
  opts_.preferred_batch_sizes = {4};
  push({1, 1, 1, 1, 1, 1});
  clock_.advance(5ms);
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 6u);
}

TEST_F(BatchPolicyTest, PendingBeyondLargestPreferredGoesWithoutWaiting) {
  opts_.max_queue_delay = 5ms;
  opts_.preferred_batch_sizes = {4};
  push({3, 3});  // 3, 6: never exactly 4, but 6 >= 4
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.rows, 6);
}

TEST_F(BatchPolicyTest, DefaultPreferredIsMaxBatchSize) {
  opts_.max_queue_delay = 5ms;
  push({1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(decide().action, Action::kWait);
  push({1});
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.rows, 8);
}

TEST_F(BatchPolicyTest, ShapeBoundaryStopsTheBatch) {
  opts_.max_queue_delay = 5ms;
  push({1, 1}, /*key=*/7);
  push({1}, /*key=*/9);
  push({1}, /*key=*/7);
  auto d = decide();
  EXPECT_EQ(d.action, Action::kDispatch);  // no waiting: the next request cannot join anyway
  EXPECT_EQ(d.count, 2u);
}

TEST_F(BatchPolicyTest, ExpiredRequestsAreReportedAndSkipped) {
  opts_.max_queue_delay = 5ms;
  push({1}, 0, 1ms);
  push({1});
  push({1}, 0, 2ms);
  push({1});
  clock_.advance(2ms);
  auto d = decide();
  EXPECT_EQ(d.expired, (std::vector<size_t>{0, 2}));
  ASSERT_EQ(d.action, Action::kWait);  // two left, delay not exceeded (2 of 5 ms)
  EXPECT_EQ(d.wake_at, clock_.now() + 3ms);
}

TEST_F(BatchPolicyTest, AllExpiredIsIdleWithTheExpiredList) {
  push({1, 1}, 0, 1ms);
  clock_.advance(1ms);  // deadline == now counts as expired
  auto d = decide();
  EXPECT_EQ(d.action, Action::kIdle);
  EXPECT_EQ(d.expired, (std::vector<size_t>{0, 1}));
}

TEST_F(BatchPolicyTest, WaitEndsAtTheNearestDeadline) {
  opts_.max_queue_delay = 10ms;
  push({1});
  push({1}, 0, 3ms);
  auto d = decide();
  ASSERT_EQ(d.action, Action::kWait);
  EXPECT_EQ(d.wake_at, clock_.now() + 3ms);
}

TEST_F(BatchPolicyTest, FlushNeverWaits) {
  opts_.max_queue_delay = 1s;
  opts_.preferred_batch_sizes = {4};
  push({1, 1});
  EXPECT_EQ(decide().action, Action::kWait);
  auto d = decide(/*flush=*/true);
  EXPECT_EQ(d.action, Action::kDispatch);
  EXPECT_EQ(d.count, 2u);
}

TEST_F(BatchPolicyTest, FlushIgnoresPreferredSizes) {
  opts_.max_queue_delay = 1s;
  opts_.preferred_batch_sizes = {2};
  push({1, 1, 1});
  EXPECT_EQ(decide().count, 2u);
  EXPECT_EQ(decide(true).count, 3u);
}

TEST_F(BatchPolicyTest, ExpiredRequestsBeyondTheBatchAreNotVisited) {
  // The walk stops at the batch boundary: O(batch), whatever the queue length.
  opts_.max_batch_size = 2;
  push({1, 1});
  push({1}, 0, 1ms);
  clock_.advance(1ms);
  auto d = decide();
  EXPECT_EQ(d.count, 2u);
  EXPECT_TRUE(d.expired.empty());
}

}  // namespace
}  // namespace surge::serving
