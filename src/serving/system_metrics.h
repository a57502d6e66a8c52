// Triton's host CPU metrics (triton-inference-server/core src/metrics.cc, the CPU part), under
// Triton's exact names and HELP texts, so Triton's dashboards and k8s queries work unchanged:
//   nv_cpu_utilization         gauge  "CPU utilization rate [0.0 - 1.0]": the whole machine's
//                                     busy share of CPU time (/proc/stat aggregate line) since
//                                     the previous scrape (the first scrape: since registration)
//   nv_cpu_memory_total_bytes  gauge  "CPU total memory (RAM), in bytes": MemTotal
//   nv_cpu_memory_used_bytes   gauge  "CPU used memory (RAM), in bytes": MemTotal - MemAvailable
// No labels. Triton's formula: busy = user + nice + system + irq + softirq + steal, idle = idle +
// iowait (guest time is already in user/nice); counters that went backwards count 0. Triton
// polls on its metrics interval (2 s by default); surge reads /proc at scrape time instead, so
// the utilization covers the interval between two scrapes (several scrapers split it). When no
// tick elapsed the previous value is kept. When /proc cannot be read or parsed the gauges read 0,
// as Triton's do.
// The parsers take untrusted text and are bounded: only the first line of /proc/stat and the
// first kMaxMeminfoLines lines of /proc/meminfo are looked at, numbers must fit 64 bits (kB
// values times 1024 too), and the readers read at most kMaxProcFileBytes.
// Thread-safety: the parsers are pure; the registered callbacks may run on concurrent scrapes
// (a mutex guards the previous /proc/stat sample).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/registry.h"

namespace surge::serving {

inline constexpr size_t kMaxProcFileBytes = 64 * 1024;
inline constexpr size_t kMaxMeminfoLines = 512;

// The aggregate "cpu " line of /proc/stat, in clock ticks (proc(5)).
struct CpuTimes {
  uint64_t user = 0;
  uint64_t nice = 0;
  uint64_t system = 0;
  uint64_t idle = 0;
  uint64_t iowait = 0;
  uint64_t irq = 0;
  uint64_t softirq = 0;
  uint64_t steal = 0;
};

// The first line must be "cpu" + blanks + at least 8 decimal counters (later ones, guest and
// guest_nice, are ignored). nullopt otherwise.
std::optional<CpuTimes> parseProcStat(std::string_view text);

// The busy share of the time between `before` and `now`, in [0, 1]; nullopt when no tick elapsed.
std::optional<double> cpuUtilization(const CpuTimes& now, const CpuTimes& before);

struct MemoryBytes {
  uint64_t total = 0;
  uint64_t used = 0;  // total - available
};

// MemTotal and MemAvailable ("Name:   N kB") from /proc/meminfo; nullopt when either is missing
// or malformed, or MemAvailable > MemTotal (Triton's checks).
std::optional<MemoryBytes> parseProcMeminfo(std::string_view text);

// Reads at most kMaxProcFileBytes of `path` (a /proc file: its size reads as 0). nullopt on error.
std::optional<std::string> readProcFile(const std::string& path);

// Registers the three gauges on `registry`, reading `proc_dir`/stat and `proc_dir`/meminfo at
// each scrape. Registering again replaces the callbacks (the latest registration's state wins).
void registerSystemMetrics(metrics::Registry& registry, std::string proc_dir = "/proc");

}  // namespace surge::serving
