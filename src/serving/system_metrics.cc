#include "serving/system_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace surge::serving {
namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view skipBlanks(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && isBlank(s[i])) ++i;
  return s.substr(i);
}

// One decimal counter at the start of `s` (no sign); advances `s` past it.
std::optional<uint64_t> takeNumber(std::string_view& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<size_t>(p - s.data()));
  return v;
}

// "   N kB" (the unit optional, as some kernels' HugePages_* lines lack it) → N * 1024 bytes.
std::optional<uint64_t> meminfoBytes(std::string_view rest) {
  rest = skipBlanks(rest);
  auto v = takeNumber(rest);
  if (!v) return std::nullopt;
  rest = skipBlanks(rest);
  if (rest != "kB" && !rest.empty()) return std::nullopt;
  constexpr uint64_t kKiB = 1024;
  if (*v > UINT64_MAX / kKiB) return std::nullopt;
  return *v * kKiB;
}

// a - b, or 0 when the counter went backwards (Triton's wrap_sub).
uint64_t since(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

struct CpuState {
  std::mutex mu;
  std::optional<CpuTimes> last;
  double utilization = 0;
};

std::optional<CpuTimes> readCpuTimes(const std::string& path) {
  auto text = readProcFile(path);
  if (!text) return std::nullopt;
  return parseProcStat(*text);
}

}  // namespace

std::optional<CpuTimes> parseProcStat(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  if (!line.starts_with("cpu") || line.size() < 4 || !isBlank(line[3])) return std::nullopt;
  line.remove_prefix(3);
  std::array<uint64_t, 8> v{};
  for (uint64_t& field : v) {
    std::string_view before = line;
    line = skipBlanks(line);
    if (line.size() == before.size()) return std::nullopt;  // fields are blank-separated
    auto n = takeNumber(line);
    if (!n) return std::nullopt;
    field = *n;
  }
  if (!line.empty() && !isBlank(line[0]) && line[0] != '\r') return std::nullopt;  // "12x"
  CpuTimes t;
  t.user = v[0];
  t.nice = v[1];
  t.system = v[2];
  t.idle = v[3];
  t.iowait = v[4];
  t.irq = v[5];
  t.softirq = v[6];
  t.steal = v[7];
  return t;
}

std::optional<double> cpuUtilization(const CpuTimes& now, const CpuTimes& before) {
  // Summed in double: hostile counters near 2^64 cannot overflow the sums.
  double busy = static_cast<double>(since(now.user, before.user)) +
                static_cast<double>(since(now.nice, before.nice)) +
                static_cast<double>(since(now.system, before.system)) +
                static_cast<double>(since(now.irq, before.irq)) +
                static_cast<double>(since(now.softirq, before.softirq)) +
                static_cast<double>(since(now.steal, before.steal));
  double idle = static_cast<double>(since(now.idle, before.idle)) +
                static_cast<double>(since(now.iowait, before.iowait));
  double total = busy + idle;
  if (!(total > 0)) return std::nullopt;
  double u = busy / total;
  return u < 0 ? 0.0 : (u > 1 ? 1.0 : u);
}

std::optional<MemoryBytes> parseProcMeminfo(std::string_view text) {
  std::optional<uint64_t> total, available;
  size_t lines = 0;
  while (!text.empty() && lines < kMaxMeminfoLines && !(total && available)) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    constexpr std::string_view kTotal = "MemTotal:", kAvailable = "MemAvailable:";
    if (line.starts_with(kTotal)) {
      if (total) return std::nullopt;  // twice: not a meminfo we understand
      total = meminfoBytes(line.substr(kTotal.size()));
      if (!total) return std::nullopt;
    } else if (line.starts_with(kAvailable)) {
      if (available) return std::nullopt;
      available = meminfoBytes(line.substr(kAvailable.size()));
      if (!available) return std::nullopt;
    }
  }
  if (!total || !available || *available > *total) return std::nullopt;
  return MemoryBytes{*total, *total - *available};
}

std::optional<std::string> readProcFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  out.resize(kMaxProcFileBytes);
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

void registerSystemMetrics(metrics::Registry& registry, std::string proc_dir) {
  auto cpu = std::make_shared<CpuState>();
  std::string stat = proc_dir + "/stat";
  std::string meminfo = proc_dir + "/meminfo";
  cpu->last = readCpuTimes(stat);  // the baseline the first scrape measures from
  registry.gaugeCallback("nv_cpu_utilization", "CPU utilization rate [0.0 - 1.0]", {},
                         [cpu, stat](std::vector<metrics::Sample>& out) {
                           auto now = readCpuTimes(stat);
                           std::lock_guard<std::mutex> lock(cpu->mu);
                           if (!now) {
                             cpu->utilization = 0;  // Triton: 0 when /proc/stat cannot be read
                           } else {
                             if (cpu->last) {
                               if (auto u = cpuUtilization(*now, *cpu->last)) cpu->utilization = *u;
                             }
                             cpu->last = now;
                           }
                           out.push_back({{}, cpu->utilization});
                         });
  registry.gaugeCallback("nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes", {},
                         [meminfo](std::vector<metrics::Sample>& out) {
                           auto text = readProcFile(meminfo);
                           auto m = text ? parseProcMeminfo(*text) : std::nullopt;
                           out.push_back({{}, m ? static_cast<double>(m->total) : 0.0});
                         });
  registry.gaugeCallback("nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes", {},
                         [meminfo](std::vector<metrics::Sample>& out) {
                           auto text = readProcFile(meminfo);
                           auto m = text ? parseProcMeminfo(*text) : std::nullopt;
                           out.push_back({{}, m ? static_cast<double>(m->used) : 0.0});
                         });
}

}  // namespace surge::serving
