// Units: the duration and byte-size grammars shared by config files and command-line flags.
//   duration: "150ms", "2s", "1.5s", "10m30s", "1h", "500us", "250ns", "1d"; a bare number is
//             seconds ("30", "0.25"). Units ns, us (µs), ms, s, m, h, d; components may repeat in
//             any order and are summed (Go's time.ParseDuration, plus d and bare seconds).
//             Fractions are exact to the nanosecond (truncated below). Negative durations are
//             rejected.
//   bytes:    "1048576", "512B", "512KiB", "64MiB", "1GiB", "2TiB" (1024-based; "Ki"/"Mi"/"Gi"/"Ti"
//             also accepted, as Kubernetes writes them) and "100KB"/"100kB", "5MB", "1GB", "1TB"
//             (1000-based, SI). Lone "k"/"m"/"g" are rejected as ambiguous: nginx reads them as
//             1024, Kubernetes as 1000. Fractions allowed ("1.5GiB"), truncated to whole bytes.
// Errors are InvalidArgument "invalid duration '2sec': unknown unit 'sec' (...)".
// Complexity O(length). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace surge::config {

StatusOr<Duration> parseDuration(std::string_view text);
StatusOr<uint64_t> parseBytes(std::string_view text);

// Inverse of the parsers, for messages and dumps: "1h30m", "10m30s", "1.5s", "150ms", "0s";
// "64MiB", "100KB", "1000001B". parse(format(x)) == x.
std::string formatDuration(Duration d);
std::string formatBytes(uint64_t bytes);

}  // namespace surge::config
