#include "autoscale/events.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

AutoscaleEvent ev(std::string type, std::string reason, std::string message) {
  AutoscaleEvent e;
  e.type = std::move(type);
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

TEST(EventLogTest, RingBufferDropsOldestAndNumbersEvents) {
  EventLog log(3);
  for (int i = 0; i < 5; ++i) log.add(ev("Normal", "SuccessfulRescale", std::to_string(i)));
  auto events = log.snapshot();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message, "2");
  EXPECT_EQ(events[0].sequence, 3u);
  EXPECT_EQ(events[2].sequence, 5u);
  EXPECT_EQ(log.total(), 5u);
}

TEST(EventLogTest, RepeatedWarningsFold) {
  EventLog log;
  log.add(ev("Warning", "FailedGetScale", "down"));
  AutoscaleEvent second = ev("Warning", "FailedGetScale", "down");
  second.unix_ms = 42;
  AutoscaleEvent stored = log.add(second);
  EXPECT_EQ(stored.count, 2);
  EXPECT_EQ(stored.unix_ms, 42);
  log.add(ev("Warning", "FailedGetScale", "other"));
  log.add(ev("Normal", "SuccessfulRescale", "x"));
  log.add(ev("Normal", "SuccessfulRescale", "x"));  // Normal events never fold
  EXPECT_EQ(log.snapshot().size(), 4u);
}

TEST(EventLogTest, Formatting) {
  EXPECT_EQ(formatUnixMs(1764324062345), "2025-11-28T10:01:02.345Z");  // date -u -d @1764324062
  AutoscaleEvent e = ev("Normal", "SuccessfulRescale", "New size: 4; reason: x above target");
  e.from = 2;
  e.to = 4;
  e.metrics = {"pods metric x: 250 / 100"};
  EXPECT_EQ(formatEvent(e),
            "Normal SuccessfulRescale 2 -> 4: New size: 4; reason: x above target; metrics: pods "
            "metric x: 250 / 100");
}

}  // namespace
}  // namespace surge::autoscale
