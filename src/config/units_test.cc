#include "config/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace surge::config {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

Duration dur(std::string_view s) {
  auto d = parseDuration(s);
  EXPECT_TRUE(d.isOk()) << s << ": " << d.status().toString();
  return d.isOk() ? *d : Duration(-1);
}

std::string durError(std::string_view s) {
  auto d = parseDuration(s);
  EXPECT_FALSE(d.isOk()) << s << " parsed as " << (d.isOk() ? d->count() : 0);
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  return d.status().message();
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(dur("2s"), seconds(2));
  EXPECT_EQ(dur("150ms"), milliseconds(150));
  EXPECT_EQ(dur("500us"), microseconds(500));
  EXPECT_EQ(dur("500\xC2\xB5s"), microseconds(500));
  EXPECT_EQ(dur("250ns"), nanoseconds(250));
  EXPECT_EQ(dur("1m"), minutes(1));
  EXPECT_EQ(dur("1h"), hours(1));
  EXPECT_EQ(dur("2d"), hours(48));
  EXPECT_EQ(dur("0s"), Duration(0));
  EXPECT_EQ(dur("0"), Duration(0));
}

TEST(ParseDuration, FractionsAndCompounds) {
  EXPECT_EQ(dur("1.5s"), milliseconds(1500));
  EXPECT_EQ(dur("0.001s"), milliseconds(1));
  EXPECT_EQ(dur(".5s"), milliseconds(500));
  EXPECT_EQ(dur("10m30s"), seconds(630));
  EXPECT_EQ(dur("1h2m3s4ms"), hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(dur("1.000000001s"), nanoseconds(1'000'000'001));
  EXPECT_EQ(dur("0.1234567891s"), nanoseconds(123'456'789));  // truncated below 1ns
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(dur("30"), seconds(30));
  EXPECT_EQ(dur("0.25"), milliseconds(250));
}

TEST(ParseDuration, Errors) {
  EXPECT_EQ(durError("2sec"),
            "invalid duration '2sec': unknown unit 'sec' (valid units: ns, us, ms, s, m, h, d)");
  EXPECT_EQ(durError(""), "invalid duration '': empty (expected e.g. '2s', '150ms', '1m30s')");
  EXPECT_EQ(durError("-1s"), "invalid duration '-1s': negative durations are not allowed");
  EXPECT_EQ(durError("1m30"), "invalid duration '1m30': missing unit after a number");
  EXPECT_EQ(durError("s"),
            "invalid duration 's': expected a number at 's' (e.g. '2s', '150ms', '1m30s')");
  EXPECT_EQ(durError("2 s"),
            "invalid duration '2 s': unknown unit ' s' (valid units: ns, us, "
            "ms, s, m, h, d)");
  durError("1..5s");
  durError("1s-");
  EXPECT_EQ(durError("300000d"), "invalid duration '300000d': too large");
  durError("99999999999999999999999999s");
}

TEST(ParseDuration, LargestValue) {
  EXPECT_EQ(dur("9223372036854775807ns"), Duration(std::numeric_limits<int64_t>::max()));
  durError("9223372036854775808ns");
}

TEST(FormatDuration, RoundTrips) {
  EXPECT_EQ(formatDuration(Duration(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(150)), "150ms");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatDuration(seconds(630)), "10m30s");
  EXPECT_EQ(formatDuration(hours(1) + minutes(30)), "1h30m");
  EXPECT_EQ(formatDuration(microseconds(1500)), "1.5ms");
  EXPECT_EQ(formatDuration(nanoseconds(1005)), "1.005us");
  EXPECT_EQ(formatDuration(-seconds(2)), "-2s");
  for (int64_t ns : {int64_t{1}, int64_t{999}, int64_t{1'000'000'001}, int64_t{3'723'000'000'007},
                     std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(dur(formatDuration(Duration(ns))), Duration(ns)) << formatDuration(Duration(ns));
  }
}

uint64_t bytes(std::string_view s) {
  auto b = parseBytes(s);
  EXPECT_TRUE(b.isOk()) << s << ": " << b.status().toString();
  return b.isOk() ? *b : 0;
}

std::string bytesError(std::string_view s) {
  auto b = parseBytes(s);
  EXPECT_FALSE(b.isOk()) << s << " parsed as " << (b.isOk() ? *b : 0);
  return b.status().message();
}

TEST(ParseBytes, Units) {
  EXPECT_EQ(bytes("1048576"), 1048576u);
  EXPECT_EQ(bytes("512B"), 512u);
  EXPECT_EQ(bytes("512KiB"), 512u * 1024);
  EXPECT_EQ(bytes("1MiB"), 1u << 20);
  EXPECT_EQ(bytes("64MiB"), 64u << 20);
  EXPECT_EQ(bytes("64Mi"), 64u << 20);
  EXPECT_EQ(bytes("1GiB"), 1u << 30);
  EXPECT_EQ(bytes("2TiB"), 2ULL << 40);
  EXPECT_EQ(bytes("100KB"), 100000u);
  EXPECT_EQ(bytes("100kB"), 100000u);
  EXPECT_EQ(bytes("5MB"), 5000000u);
  EXPECT_EQ(bytes("1GB"), 1000000000u);
  EXPECT_EQ(bytes("1.5KiB"), 1536u);
  EXPECT_EQ(bytes("0"), 0u);
  EXPECT_EQ(bytes("18446744073709551615"), std::numeric_limits<uint64_t>::max());
}

TEST(ParseBytes, Errors) {
  EXPECT_EQ(bytesError("64k"),
            "invalid size '64k': ambiguous unit 'k': write KiB (1024-based) or "
            "KB (1000-based)");
  EXPECT_EQ(bytesError("1m"),
            "invalid size '1m': ambiguous unit 'm': write MiB (1024-based) or "
            "MB (1000-based)");
  EXPECT_EQ(bytesError("10mib"),
            "invalid size '10mib': unknown unit 'mib' (valid units: B, KiB, "
            "MiB, GiB, TiB, KB, MB, GB, TB)");
  EXPECT_EQ(bytesError("-1"), "invalid size '-1': negative sizes are not allowed");
  EXPECT_EQ(bytesError("18446744073709551616"), "invalid size '18446744073709551616': too large");
  EXPECT_EQ(bytesError("20000000TiB"), "invalid size '20000000TiB': too large");
  bytesError("");
  bytesError("MiB");
}

TEST(FormatBytes, PrefersBinaryThenDecimal) {
  EXPECT_EQ(formatBytes(0), "0B");
  EXPECT_EQ(formatBytes(64u << 20), "64MiB");
  EXPECT_EQ(formatBytes(100000), "100KB");
  EXPECT_EQ(formatBytes(1000001), "1000001B");
  for (uint64_t b : {uint64_t{1}, uint64_t{1536}, uint64_t{1} << 40, uint64_t{123456789}}) {
    EXPECT_EQ(bytes(formatBytes(b)), b);
  }
}

}  // namespace
}  // namespace surge::config
