// Per-process CPU time and resident memory of local replicas, from Linux /proc (the role
// metrics-server's cAdvisor summary plays in Kubernetes): /proc/PID/stat utime+stime (fields 14
// and 15, clock ticks, all threads) and /proc/PID/status VmRSS (kB). The parsers are pure
// functions over the files' text; the readers open the files.
// Complexity O(file size). Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace surge::autoscale {

// utime + stime in clock ticks from a /proc/PID/stat line. The command name (field 2) may hold
// spaces and parentheses: fields are counted after its last ')'.
// Errors: InvalidArgument "malformed /proc stat: ...".
StatusOr<int64_t> parseProcStatCpuTicks(std::string_view stat);
// VmRSS in bytes from /proc/PID/status ("VmRSS:\t  1234 kB"). NotFound when there is no VmRSS
// line (a kernel thread or a zombie).
StatusOr<int64_t> parseProcStatusRssBytes(std::string_view status);

// Readers: NotFound "process 123 not found" when /proc/PID is gone.
StatusOr<int64_t> readProcCpuTicks(int64_t pid, const std::string& proc_root = "/proc");
StatusOr<int64_t> readProcRssBytes(int64_t pid, const std::string& proc_root = "/proc");

// sysconf(_SC_CLK_TCK) (USER_HZ, 100 on Linux).
int64_t clockTicksPerSecond();

}  // namespace surge::autoscale
