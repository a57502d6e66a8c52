#include "gateway/activator.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "gateway/head_rewrite.h"

namespace surge::gateway {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint at(int64_t ms) { return TimePoint{} + milliseconds(1'000'000 + ms); }

ActivatorOptions on(int64_t queue_size = 3) {
  ActivatorOptions o;
  o.enabled = true;
  o.queue_size = queue_size;
  o.timeout = seconds(10);
  o.retry_after = seconds(5);
  return o;
}

TEST(ActivatorTest, HoldsOnlyAFirstTryWithNoEligibleHost) {
  EXPECT_TRUE(shouldHold(on(), 0, false));
  EXPECT_FALSE(shouldHold(on(), 0, true));   // a host is eligible: the usual answer
  EXPECT_FALSE(shouldHold(on(), 1, false));  // a retry found no other host: 502/504 as before
  EXPECT_FALSE(shouldHold(ActivatorOptions{}, 0, false));  // off by default
}

TEST(ActivatorTest, AdmitsUpToTheQueueSize) {
  EXPECT_EQ(admit(0, 3), Admission::kHold);
  EXPECT_EQ(admit(2, 3), Admission::kHold);
  EXPECT_EQ(admit(3, 3), Admission::kReject);
  EXPECT_EQ(admit(7, 3), Admission::kReject);
  EXPECT_EQ(admit(0, 1), Admission::kHold);
}

TEST(ActivatorTest, HoldDeadlineIsTheEarlierOfTimeoutAndRequestDeadline) {
  EXPECT_EQ(holdDeadline(at(0), seconds(10), at(60'000)), at(10'000));
  EXPECT_EQ(holdDeadline(at(0), seconds(10), at(4'000)), at(4'000));
  EXPECT_EQ(holdDeadline(at(0), seconds(10), TimePoint::max()), at(10'000));
}

TEST(ActivatorTest, HeldRequestIsReleasedWaitsOrTimesOut) {
  const TimePoint deadline = at(10'000);
  EXPECT_EQ(heldOutcome(at(5'000), deadline, false), HeldOutcome::kWait);
  EXPECT_EQ(heldOutcome(at(5'000), deadline, true), HeldOutcome::kRelease);
  EXPECT_EQ(heldOutcome(at(10'000), deadline, false), HeldOutcome::kTimeout);
  EXPECT_EQ(heldOutcome(at(12'000), deadline, false), HeldOutcome::kTimeout);
  // A replica that is ready at the deadline still serves it.
  EXPECT_EQ(heldOutcome(at(10'000), deadline, true), HeldOutcome::kRelease);
}

TEST(ActivatorTest, RetryAfterRoundsUpToWholeSeconds) {
  EXPECT_EQ(retryAfterSeconds(seconds(5)), 5);
  EXPECT_EQ(retryAfterSeconds(milliseconds(1500)), 2);
  EXPECT_EQ(retryAfterSeconds(milliseconds(1)), 1);
  EXPECT_EQ(retryAfterSeconds(Duration::zero()), 1);
}

TEST(ActivatorTest, SetRetryAfterReplacesTheLocalAnswersOne) {
  std::string r;
  writeLocalResponse(503, "no replica", 1, true, false, r);
  ASSERT_NE(r.find("Retry-After: 1\r\n"), std::string::npos);
  setRetryAfter(r, 7);
  EXPECT_EQ(r.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nRetry-After: 7\r\n"), std::string::npos);
  EXPECT_NE(r.find("{\"error\": \"no replica\"}"), std::string::npos);  // body intact
  const size_t head_end = r.find("\r\n\r\n");
  EXPECT_LT(r.find("Retry-After: 7"), head_end);
  EXPECT_EQ(r.find("Retry-After", r.find("Retry-After: 7") + 1), std::string::npos);  // one only
}

TEST(ActivatorTest, SetRetryAfterAddsOneWhenMissing) {
  std::string r;
  writeLocalResponse(504, "timeout", 1, true, false, r);
  ASSERT_EQ(r.find("Retry-After"), std::string::npos);
  setRetryAfter(r, 3);
  const size_t at_header = r.find("\r\nRetry-After: 3\r\n");
  ASSERT_NE(at_header, std::string::npos);
  EXPECT_LT(at_header, r.find("\r\n\r\n"));
  std::string not_a_head = "garbage";
  setRetryAfter(not_a_head, 3);
  EXPECT_EQ(not_a_head, "garbage");
}

TEST(ActivatorTest, HoldQueueBoundsAndCounts) {
  HoldQueue q(on(2));
  int pokes = 0;
  q.setListener([&] { ++pokes; });
  EXPECT_TRUE(q.tryHold());
  EXPECT_EQ(pokes, 1);  // the first of a wave wakes the autoscaler
  EXPECT_TRUE(q.tryHold());
  EXPECT_EQ(pokes, 1);
  EXPECT_FALSE(q.tryHold());  // full
  EXPECT_EQ(q.held(), 2);
  EXPECT_EQ(q.overflowed(), 1u);
  q.end(HoldEnd::kReleased);
  q.end(HoldEnd::kTimedOut);
  EXPECT_EQ(q.held(), 0);
  EXPECT_TRUE(q.tryHold());  // a new wave
  EXPECT_EQ(pokes, 2);
  q.end(HoldEnd::kAbandoned);
  EXPECT_EQ(q.heldTotal(), 3u);
  EXPECT_EQ(q.released(), 1u);
  EXPECT_EQ(q.timedOut(), 1u);
  EXPECT_EQ(q.abandoned(), 1u);
  EXPECT_EQ(q.overflowed(), 1u);
}

TEST(ActivatorTest, HoldQueueNeverExceedsItsSizeAcrossThreads) {
  HoldQueue q(on(100));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (q.tryHold()) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(q.held(), 100);
  EXPECT_EQ(q.overflowed(), 3900u);
}

}  // namespace
}  // namespace surge::gateway
