// Triton's host CPU gauges: the /proc/stat and /proc/meminfo parsers (real layouts, hostile
// text), Triton's utilization formula, and the registered families on a real /metrics page.
#include "serving/system_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace surge::serving {
namespace {

constexpr const char* kStat =
    "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
    "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
    "intr 1462898 0 0\n";

constexpr const char* kMeminfo =
    "MemTotal:       16318480 kB\n"
    "MemFree:         1125040 kB\n"
    "MemAvailable:    9470056 kB\n"
    "Buffers:          584600 kB\n"
    "HugePages_Total:       0\n";

TEST(SystemMetricsTest, ParsesTheAggregateCpuLine) {
  auto t = parseProcStat(kStat);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->user, 10132153u);
  EXPECT_EQ(t->nice, 290696u);
  EXPECT_EQ(t->system, 3084719u);
  EXPECT_EQ(t->idle, 46828483u);
  EXPECT_EQ(t->iowait, 16683u);
  EXPECT_EQ(t->irq, 0u);
  EXPECT_EQ(t->softirq, 25195u);
  EXPECT_EQ(t->steal, 0u);
  // Exactly 8 counters (no guest fields), a tab, a CRLF: fine.
  EXPECT_TRUE(parseProcStat("cpu 1 2 3 4 5 6 7 8").has_value());
  EXPECT_TRUE(parseProcStat("cpu\t1 2 3 4 5 6 7 8\r\n").has_value());
}

TEST(SystemMetricsTest, RejectsHostileStatText) {
  for (std::string bad : {
           std::string(""),
           std::string("\ncpu 1 2 3 4 5 6 7 8\n"),                   // not the first line
           std::string("cpu0 1 2 3 4 5 6 7 8\n"),                    // a per-CPU line
           std::string("cpu 1 2 3 4 5 6 7\n"),                       // too few counters
           std::string("cpu 1 2 3 4 5 6 7 8x\n"),                    // garbage glued to a counter
           std::string("cpu 1 2 3 -4 5 6 7 8\n"),                    // negative
           std::string("cpu 1 2 3 +4 5 6 7 8\n"),                    // signed
           std::string("cpu 1 2 3 18446744073709551616 5 6 7 8\n"),  // 2^64
           std::string("cpu 1,2 3 4 5 6 7 8 9\n"),
           std::string("cpu 1 2 3 4\n5 6 7 8\n"),  // split over lines
           std::string("cpu") + std::string(100000, ' ') + "1",
           std::string("cpu ") + std::string(100000, '9'),
           std::string("cpu 1 2 3 4 5 6 7 8", 18),  // cut short
       }) {
    EXPECT_FALSE(parseProcStat(bad).has_value()) << bad.substr(0, 60);
  }
  std::string nul("cpu 1 2 3 4 5 6 7 8\n", 20);
  nul[5] = '\0';
  EXPECT_FALSE(parseProcStat(nul).has_value());
}

TEST(SystemMetricsTest, UtilizationIsTritonsFormula) {
  CpuTimes a{100, 10, 50, 1000, 40, 5, 5, 0};
  CpuTimes b = a;
  // busy: user+nice+system+irq+softirq+steal; idle: idle+iowait.
  b.user += 30;
  b.nice += 5;
  b.system += 10;
  b.irq += 2;
  b.softirq += 2;
  b.steal += 1;
  b.idle += 40;
  b.iowait += 10;
  auto u = cpuUtilization(b, a);
  ASSERT_TRUE(u.has_value());
  EXPECT_DOUBLE_EQ(*u, 50.0 / 100.0);
  EXPECT_FALSE(cpuUtilization(a, a).has_value());  // no tick elapsed
  // A counter that went backwards counts 0 (Triton's wrap_sub).
  CpuTimes c = b;
  c.user = 0;
  c.idle += 20;
  u = cpuUtilization(c, b);
  ASSERT_TRUE(u.has_value());
  EXPECT_DOUBLE_EQ(*u, 0.0);
  // Counters near 2^64 do not overflow the sums.
  CpuTimes zero;
  CpuTimes huge{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
                UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
  u = cpuUtilization(huge, zero);
  ASSERT_TRUE(u.has_value());
  EXPECT_GE(*u, 0.0);
  EXPECT_LE(*u, 1.0);
  EXPECT_NEAR(*u, 0.75, 1e-9);
}

TEST(SystemMetricsTest, ParsesMeminfo) {
  auto m = parseProcMeminfo(kMeminfo);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->total, 16318480ull * 1024);
  EXPECT_EQ(m->used, (16318480ull - 9470056ull) * 1024);  // total - available
  // Order does not matter; unrelated malformed lines are not looked at.
  m = parseProcMeminfo("junk line\nMemAvailable: 1 kB\r\nMemTotal: 3 kB\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->total, 3072u);
  EXPECT_EQ(m->used, 2048u);
}

TEST(SystemMetricsTest, RejectsHostileMeminfo) {
  for (std::string bad : {
           std::string(""),
           std::string("MemTotal: 10 kB\n"),                       // no MemAvailable
           std::string("MemAvailable: 10 kB\n"),                   // no MemTotal
           std::string("MemTotal: 10 kB\nMemAvailable: 11 kB\n"),  // available > total
           std::string("MemTotal: 10 MB\nMemAvailable: 1 kB\n"),   // unknown unit
           std::string("MemTotal: -10 kB\nMemAvailable: 1 kB\n"),
           std::string("MemTotal: kB\nMemAvailable: 1 kB\n"),
           std::string("MemTotal: 10 kB\nMemTotal: 20 kB\nMemAvailable: 1 kB\n"),
           std::string("MemTotal: 18014398509481984 kB\nMemAvailable: 1 kB\n"),  // *1024 > 2^64
           std::string("MemTotal: 99999999999999999999 kB\nMemAvailable: 1 kB\n"),
           std::string("MemTotal: 10 kB junk\nMemAvailable: 1 kB\n"),
       }) {
    EXPECT_FALSE(parseProcMeminfo(bad).has_value()) << bad;
  }
  // Only the first kMaxMeminfoLines lines are looked at.
  std::string far(kMaxMeminfoLines, '\n');
  far += "MemTotal: 10 kB\nMemAvailable: 1 kB\n";
  EXPECT_FALSE(parseProcMeminfo(far).has_value());
  EXPECT_FALSE(parseProcMeminfo(std::string(1 << 20, 'M')).has_value());
}

TEST(SystemMetricsTest, ReadProcFileIsBounded) {
  auto stat = readProcFile("/proc/stat");
  ASSERT_TRUE(stat.has_value());
  EXPECT_TRUE(parseProcStat(*stat).has_value()) << stat->substr(0, 200);
  auto meminfo = readProcFile("/proc/meminfo");
  ASSERT_TRUE(meminfo.has_value());
  EXPECT_TRUE(parseProcMeminfo(*meminfo).has_value());
  EXPECT_FALSE(readProcFile("/nonexistent/surge/stat").has_value());
  auto zero = readProcFile("/dev/zero");  // endless: cut at the bound
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->size(), kMaxProcFileBytes);
}

class SystemMetricsPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-proc-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::trunc) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(SystemMetricsPageTest, GaugesOnTheMetricsPage) {
  write("stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
  write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
  metrics::Registry registry;
  registerSystemMetrics(registry, dir_.string());
  write("stat", "cpu  130 0 130 840 0 0 0 0 0 0\n");  // 60 busy of 100 ticks
  std::string page = registry.render();
  EXPECT_NE(page.find("# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]\n"
                      "# TYPE nv_cpu_utilization gauge\n"
                      "nv_cpu_utilization 0.6\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("# HELP nv_cpu_memory_total_bytes CPU total memory (RAM), in bytes\n"
                      "# TYPE nv_cpu_memory_total_bytes gauge\n"
                      "nv_cpu_memory_total_bytes 1024000\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("# HELP nv_cpu_memory_used_bytes CPU used memory (RAM), in bytes\n"
                      "# TYPE nv_cpu_memory_used_bytes gauge\n"
                      "nv_cpu_memory_used_bytes 768000\n"),
            std::string::npos)
      << page;
  // No tick since the last scrape: the value stays.
  page = registry.render();
  EXPECT_NE(page.find("nv_cpu_utilization 0.6\n"), std::string::npos) << page;
  // Since the previous scrape, not since registration.
  write("stat", "cpu  130 0 130 940 0 0 0 0 0 0\n");
  page = registry.render();
  EXPECT_NE(page.find("nv_cpu_utilization 0\n"), std::string::npos) << page;
  // Unreadable or broken: 0, as Triton.
  write("stat", "garbage\n");
  write("meminfo", "MemTotal: 1000 kB\n");
  page = registry.render();
  EXPECT_NE(page.find("nv_cpu_utilization 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("nv_cpu_memory_total_bytes 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("nv_cpu_memory_used_bytes 0\n"), std::string::npos) << page;
}

TEST(SystemMetricsRealProcTest, RealMachineValuesAreSane) {
  metrics::Registry registry;
  registerSystemMetrics(registry);
  std::string page = registry.render();
  for (const char* name :
       {"\nnv_cpu_utilization ", "\nnv_cpu_memory_total_bytes ", "\nnv_cpu_memory_used_bytes "}) {
    size_t at = page.find(name);
    ASSERT_NE(at, std::string::npos) << name << "\n" << page;
    double v = std::stod(page.substr(at + std::strlen(name)));
    EXPECT_GE(v, 0) << name;
    if (std::string(name) == "\nnv_cpu_utilization ") {
      EXPECT_LE(v, 1);
    } else {
      EXPECT_GT(v, 0) << name;
    }
  }
}

}  // namespace
}  // namespace surge::serving
