#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "common/random.h"

namespace surge::sim {
namespace {

TEST(EventQueue, PopsInTimeOrder) {
  EventQueue q;
  Random r(3);
  std::vector<int64_t> times;
  for (int i = 0; i < 5000; ++i) {
    auto t = static_cast<int64_t>(r.uniform(100000));
    times.push_back(t);
    q.push(t, 1, static_cast<uint32_t>(i));
  }
  std::sort(times.begin(), times.end());
  for (int64_t t : times) {
    ASSERT_FALSE(q.empty());
    EXPECT_EQ(q.pop().time, t);
  }
  EXPECT_TRUE(q.empty());
}

TEST(EventQueue, EqualTimesPopInInsertionOrder) {
  EventQueue q;
  Random r(5);
  // Many events on few distinct times, interleaved with pops: ties must stay FIFO.
  std::vector<std::vector<uint32_t>> by_time(4);
  uint32_t id = 0;
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 7; ++k) {
      auto t = static_cast<int64_t>(r.uniform(4));
      by_time[static_cast<size_t>(t)].push_back(id);
      q.push(t + 10, 2, id++);
    }
  }
  for (size_t t = 0; t < 4; ++t) {
    for (uint32_t want : by_time[t]) {
      Event e = q.pop();
      EXPECT_EQ(e.time, static_cast<int64_t>(t) + 10);
      EXPECT_EQ(e.target, want);
    }
  }
}

TEST(EventQueue, InterleavedPushPopKeepsHeapOrder) {
  EventQueue q;
  Random r(9);
  int64_t now = 0;
  for (int i = 0; i < 20000; ++i) {
    q.push(now + static_cast<int64_t>(r.uniform(1000)), 1, 0, i);
    if (i % 3 != 0) {
      Event e = q.pop();
      EXPECT_GE(e.time, now);
      now = e.time;
    }
  }
  while (!q.empty()) {
    Event e = q.pop();
    EXPECT_GE(e.time, now);
    now = e.time;
  }
}

}  // namespace
}  // namespace surge::sim
