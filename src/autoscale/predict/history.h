// The predictive history file: CSV "timestamp,rps", one sample a line, appended once per sync by
// the controller and read back for fitting (loadRpsHistory/appendRpsHistory in forecaster.h).
// Format: an optional header line (first line whose fields are not a timestamp and a number, e.g.
// "timestamp,rps"); blank lines and lines starting with '#' are skipped; fields are trimmed; the
// timestamp is Unix seconds (integer or decimal, truncated) or RFC 3339 ("2026-01-05T14:30:00Z",
// "2026-01-05 14:30:00.5+01:00"); rps is a finite number >= 0. Errors are InvalidArgument
// "traffic.csv:12: rps: expected a number >= 0, found 'abc'". Appends are one write(2) of a whole
// line on an O_APPEND descriptor, so concurrent appenders and crashes never interleave half lines.
// Complexity O(file size). Thread-safety: pure functions (appends are atomic per line).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "autoscale/predict/forecaster.h"
#include "common/status.h"

namespace surge::autoscale {

// Unix seconds or RFC 3339 (offset required: Z or ±hh:mm). Fractional seconds are truncated
// toward negative infinity. Errors say what was expected.
StatusOr<int64_t> parseTimestamp(std::string_view text);
// "2026-01-05T14:30:00Z" (UTC, whole seconds).
std::string formatRfc3339(int64_t unix_seconds);

// Parses history text; `name` prefixes error locations ("traffic.csv:3: timestamp: ...").
StatusOr<std::vector<RpsSample>> parseRpsHistory(std::string_view text, const std::string& name);

// Days since 1970-01-01 for a proleptic Gregorian date (month 1..12), and back.
int64_t daysFromCivil(int64_t year, int month, int day);
void civilFromDays(int64_t days, int64_t* year, int* month, int* day);

}  // namespace surge::autoscale
