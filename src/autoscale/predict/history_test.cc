#include "autoscale/predict/history.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace surge::autoscale {
namespace {

const int64_t kMonday = 1767571200;  // 2026-01-05T00:00:00Z

std::string tempPath(const std::string& name) {
  std::string p = testing::TempDir() + "/surge_history_test_" + name;
  std::remove(p.c_str());
  return p;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(HistoryTest, ParsesTimestamps) {
  EXPECT_EQ(daysFromCivil(2026, 1, 5) * 86400, kMonday);
  EXPECT_EQ(*parseTimestamp("1767571200"), kMonday);
  EXPECT_EQ(*parseTimestamp("1767571200.9"), kMonday);
  EXPECT_EQ(*parseTimestamp("2026-01-05T00:00:00Z"), kMonday);
  EXPECT_EQ(*parseTimestamp("2026-01-05t00:00:00.250z"), kMonday);
  EXPECT_EQ(*parseTimestamp("2026-01-05 01:00:00+01:00"), kMonday);
  EXPECT_EQ(*parseTimestamp("2026-01-04T19:30:00-04:30"), kMonday);
  EXPECT_EQ(*parseTimestamp("2024-02-29T00:00:00Z"), daysFromCivil(2024, 2, 29) * 86400);
  EXPECT_EQ(*parseTimestamp("1970-01-01T00:00:00Z"), 0);
}

TEST(HistoryTest, RejectsBadTimestamps) {
  for (const char* bad : {"", "abc", "-5", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
                          "2026-01-05T24:00:00Z", "2026-01-05T00:00:00", "2026-01-05",
                          "2026-1-5T00:00:00Z", "2026-01-05T00:00:00+1:00",
                          "2026-01-05T00:00:00Zjunk", "1e400"}) {
    auto t = parseTimestamp(bad);
    EXPECT_FALSE(t.isOk()) << bad;
  }
  auto t = parseTimestamp("2026-13-01T00:00:00Z");
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("RFC 3339"), std::string::npos);
}

TEST(HistoryTest, FormatsAndRoundTrips) {
  EXPECT_EQ(formatRfc3339(kMonday), "2026-01-05T00:00:00Z");
  EXPECT_EQ(formatRfc3339(kMonday + 3661), "2026-01-05T01:01:01Z");
  for (int64_t t : {int64_t{0}, int64_t{951782400}, kMonday + 12345, int64_t{4102444799}}) {
    EXPECT_EQ(*parseTimestamp(formatRfc3339(t)), t) << t;
  }
  for (int64_t d = -800000; d <= 800000; d += 997) {
    int64_t y = 0;
    int m = 0, day = 0;
    civilFromDays(d, &y, &m, &day);
    EXPECT_EQ(daysFromCivil(y, m, day), d);
  }
}

TEST(HistoryTest, ParsesCsvWithHeaderCommentsAndCrlf) {
  auto s = parseRpsHistory(
      "timestamp,rps\r\n# a comment\n\n1767571200,10\r\n 2026-01-05T00:00:15Z , 12.5 \n"
      "1767571230,0",
      "t.csv");
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].unix_seconds, kMonday);
  EXPECT_DOUBLE_EQ((*s)[0].rps, 10);
  EXPECT_EQ((*s)[1].unix_seconds, kMonday + 15);
  EXPECT_DOUBLE_EQ((*s)[1].rps, 12.5);
  EXPECT_DOUBLE_EQ((*s)[2].rps, 0);
  auto no_header = parseRpsHistory("1767571200,10\n", "t.csv");
  ASSERT_TRUE(no_header.isOk());
  EXPECT_EQ(no_header->size(), 1u);
  auto empty = parseRpsHistory("", "t.csv");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->empty());
}

void expectError(const std::string& text, const std::string& want) {
  auto s = parseRpsHistory(text, "traffic.csv");
  ASSERT_FALSE(s.isOk()) << text;
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(want), std::string::npos)
      << s.status().message() << " does not contain " << want;
}

TEST(HistoryTest, ErrorsNameFileLineAndField) {
  expectError("timestamp,rps\n1767571200,10\n1767571215,abc\n", "traffic.csv:3: rps:");
  expectError("1767571200,-1\n", "traffic.csv:1: rps: expected a number >= 0, found '-1'");
  expectError("1767571200,nan\n", "traffic.csv:1: rps:");
  expectError("1767571200,\n", "traffic.csv:1: rps:");
  expectError("timestamp,rps\n\nyesterday,10\n", "traffic.csv:3: timestamp:");
  expectError("1767571200 10\n", "traffic.csv:1: expected 'timestamp,rps'");
  expectError("1767571200,10,3\n", "traffic.csv:1: expected 2 fields");
  // A header is accepted only as the first line.
  expectError("1767571200,10\ntimestamp,rps\n", "traffic.csv:2: timestamp:");
}

TEST(HistoryTest, LoadMissingFileNamesIt) {
  auto s = loadRpsHistory("/nonexistent/dir/traffic.csv");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("/nonexistent/dir/traffic.csv"), std::string::npos);
}

TEST(HistoryTest, AppendCreatesWithHeaderAndLoadsBack) {
  const std::string path = tempPath("append.csv");
  ASSERT_TRUE(appendRpsHistory(path, {kMonday, 10}).isOk());
  ASSERT_TRUE(appendRpsHistory(path, {kMonday + 15, 12.25}).isOk());
  EXPECT_EQ(readAll(path), "timestamp,rps\n1767571200,10\n1767571215,12.25\n");
  auto s = loadRpsHistory(path);
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_DOUBLE_EQ((*s)[1].rps, 12.25);
  EXPECT_FALSE(appendRpsHistory(path, {kMonday, -1}).isOk());
  EXPECT_FALSE(appendRpsHistory("/nonexistent/dir/x.csv", {kMonday, 1}).isOk());
  std::remove(path.c_str());
}

TEST(HistoryTest, AppendAfterTruncatedLineStartsANewLine) {
  const std::string path = tempPath("torn.csv");
  {
    std::ofstream out(path);
    out << "timestamp,rps\n1767571200,10\n17675712";  // a writer died mid-line
  }
  ASSERT_TRUE(appendRpsHistory(path, {kMonday + 30, 7}).isOk());
  EXPECT_EQ(readAll(path), "timestamp,rps\n1767571200,10\n17675712\n1767571230,7\n");
  auto s = loadRpsHistory(path);
  // Our line is intact; the torn one is reported where it is, not silently dropped.
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("torn.csv:3: expected 'timestamp,rps'"), std::string::npos)
      << s.status().message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace surge::autoscale
