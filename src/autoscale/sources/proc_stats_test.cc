#include "autoscale/sources/proc_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace surge::autoscale {
namespace {

TEST(ProcStats, ParsesStatWithAwkwardCommandName) {
  // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  //         utime stime ...
  std::string stat = "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
  auto ticks = parseProcStatCpuTicks(stat);
  ASSERT_TRUE(ticks.isOk()) << ticks.status().message();
  EXPECT_EQ(*ticks, 325);
}

TEST(ProcStats, StatErrors) {
  EXPECT_FALSE(parseProcStatCpuTicks("4242 no parens S 1").isOk());
  EXPECT_FALSE(parseProcStatCpuTicks("4242 (x) S 1 2 3").isOk());
  EXPECT_FALSE(parseProcStatCpuTicks("4242 (x) S 1 1 1 0 -1 0 0 0 0 0 u 7 0").isOk());
}

TEST(ProcStats, ParsesVmRss) {
  auto rss = parseProcStatusRssBytes("Name:\tsurge\nVmPeak:\t 9000 kB\nVmRSS:\t    1536 kB\n");
  ASSERT_TRUE(rss.isOk()) << rss.status().message();
  EXPECT_EQ(*rss, 1536 * 1024);
  auto none = parseProcStatusRssBytes("Name:\tkthreadd\nState:\tS\n");
  ASSERT_FALSE(none.isOk());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(parseProcStatusRssBytes("VmRSS:\t 12 MB\n").isOk());
}

TEST(ProcStats, ReadsOwnProcess) {
  auto before = readProcCpuTicks(::getpid());
  ASSERT_TRUE(before.isOk()) << before.status().message();
  // Burn ~200 ms of CPU so utime moves by several ticks.
  volatile uint64_t x = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  auto after = readProcCpuTicks(::getpid());
  ASSERT_TRUE(after.isOk());
  EXPECT_GT(*after, *before);
  auto rss = readProcRssBytes(::getpid());
  ASSERT_TRUE(rss.isOk()) << rss.status().message();
  EXPECT_GT(*rss, 1 << 20);  // a GoogleTest binary is more than 1 MiB resident
  EXPECT_GE(clockTicksPerSecond(), 1);
}

TEST(ProcStats, MissingProcess) {
  auto r = readProcCpuTicks(999999999);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(readProcRssBytes(0).isOk());
}

}  // namespace
}  // namespace surge::autoscale
