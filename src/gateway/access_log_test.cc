// The access log's formatter (text, JSON, escaping, truncation), its bounded ring (drop counting)
// and its writer (drain to a file, reopen after a rename).
#include "gateway/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "net/http_util.h"
#include "support/wait.h"

namespace surge::gateway {
namespace {

using nlohmann::json;

AccessLogEntry sample() {
  AccessLogEntry e;
  e.start_unix_ms = 1796632175123;  // 2026-12-07T08:29:35.123Z
  e.client = "10.1.2.3";
  e.method = "POST";
  e.path = "/v2/models/m/infer?x=1";
  e.http_minor = 1;
  e.status = 200;
  e.upstream = "127.0.0.1:8001";
  e.request_bytes = 345;
  e.response_bytes = 678;
  e.duration_us = 12345;
  e.upstream_us = 9870;
  e.request_id = "abc-123";
  e.retries = 1;
  return e;
}

std::string format(const AccessLogEntry& e, AccessLogFormat f) {
  AccessLogClock clock;
  std::string out;
  formatAccessLogLine(e, f, clock, out);
  return out;
}

TEST(AccessLogFormat, TextLineIsCombinedLike) {
  EXPECT_EQ(format(sample(), AccessLogFormat::kText),
            "10.1.2.3 - - [2026-12-07T08:29:35.123Z] \"POST /v2/models/m/infer?x=1 HTTP/1.1\" 200 "
            "345 678 127.0.0.1:8001 12.345 9.870 \"abc-123\" 1 \"-\"\n");
}

TEST(AccessLogFormat, TextMissingValuesAreDashes) {
  AccessLogEntry e = sample();
  e.upstream = "";
  e.upstream_us = -1;
  e.request_id = "";
  e.method = "";
  e.path = "";
  e.status = 503;
  e.http_minor = 0;
  e.reason = "no healthy backend";
  EXPECT_EQ(format(e, AccessLogFormat::kText),
            "10.1.2.3 - - [2026-12-07T08:29:35.123Z] \"- - HTTP/1.0\" 503 345 678 - 12.345 - "
            "\"-\" 1 \"no healthy backend\"\n");
}

TEST(AccessLogFormat, JsonLineHasEveryField) {
  std::string line = format(sample(), AccessLogFormat::kJson);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  json j = json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-07T08:29:35.123Z");
  EXPECT_EQ(j["client"], "10.1.2.3");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/v2/models/m/infer?x=1");
  EXPECT_EQ(j["protocol"], "HTTP/1.1");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["upstream"], "127.0.0.1:8001");
  EXPECT_EQ(j["request_bytes"], 345);
  EXPECT_EQ(j["response_bytes"], 678);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 12.345);
  EXPECT_DOUBLE_EQ(j["upstream_ms"].get<double>(), 9.87);
  EXPECT_EQ(j["request_id"], "abc-123");
  EXPECT_EQ(j["retries"], 1);
  EXPECT_TRUE(j["reason"].is_null());
}

TEST(AccessLogFormat, JsonMissingValuesAreNull) {
  AccessLogEntry e = sample();
  e.upstream = "";
  e.upstream_us = -1;
  e.request_id = "";
  e.reason = "upstream request timeout";
  json j = json::parse(format(e, AccessLogFormat::kJson));
  EXPECT_TRUE(j["upstream"].is_null());
  EXPECT_TRUE(j["upstream_ms"].is_null());
  EXPECT_TRUE(j["request_id"].is_null());
  EXPECT_EQ(j["reason"], "upstream request timeout");
}

TEST(AccessLogFormat, MillisecondsAndDurationsArePadded) {
  AccessLogEntry e = sample();
  e.start_unix_ms = 1796632175007;
  e.duration_us = 5;
  e.upstream_us = 1000;
  json j = json::parse(format(e, AccessLogFormat::kJson));
  EXPECT_EQ(j["time"], "2026-12-07T08:29:35.007Z");
  std::string line = format(e, AccessLogFormat::kJson);
  EXPECT_NE(line.find("\"duration_ms\":0.005,"), std::string::npos) << line;
  EXPECT_NE(line.find("\"upstream_ms\":1.000,"), std::string::npos) << line;
}

// Control bytes, quotes, backslashes, CR/LF and invalid UTF-8 in every string field.
const std::string kHostile = std::string("/a\"b\\c\r\nd\x01\x7f\xff\xc3(e\0f", 17) + "\xe2\x82\xac";

TEST(AccessLogFormat, JsonEscapesHostileBytesIntoOneValidLine) {
  AccessLogEntry e = sample();
  e.path = kHostile;
  e.request_id = kHostile;
  e.method = kHostile;
  e.reason = kHostile;
  std::string line = format(e, AccessLogFormat::kJson);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_TRUE(net::isValidUtf8(line));
  json j = json::parse(line);  // throws on invalid JSON
  std::string path = j["path"];
  EXPECT_EQ(path.substr(0, 10), std::string("/a\"b\\c\r\nd\x01"));
  EXPECT_NE(path.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD for the invalid bytes
  EXPECT_NE(path.find("\xe2\x82\xac"), std::string::npos);  // the valid euro sign kept
  EXPECT_EQ(j["request_id"], path);
}

TEST(AccessLogFormat, TextEscapesHostileBytesAsHex) {
  AccessLogEntry e = sample();
  e.path = kHostile;
  e.request_id = kHostile;
  std::string line = format(e, AccessLogFormat::kText);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const std::string escaped =
      "/a\\x22b\\x5Cc\\x0D\\x0Ad\\x01\\x7F\\xFF\\xC3(e\\x00f\\xE2\\x82\\xAC";
  EXPECT_NE(line.find("\"POST " + escaped + " HTTP/1.1\""), std::string::npos) << line;
  EXPECT_NE(line.find(" \"" + escaped + "\" 1 "), std::string::npos) << line;
  // Every byte printable ASCII: quotes appear only as the format's delimiters (6 of them).
  for (char c : line.substr(0, line.size() - 1)) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
  }
  EXPECT_EQ(std::count(line.begin(), line.end(), '"'), 6) << line;
}

TEST(AccessLogFormat, LongFieldsAreTruncatedAndMarked) {
  AccessLogEntry e = sample();
  std::string path = "/" + std::string(5000, 'p');
  std::string id(1000, 'i');
  e.path = path;
  e.request_id = id;
  json j = json::parse(format(e, AccessLogFormat::kJson));
  EXPECT_EQ(j["path"].get<std::string>(), path.substr(0, kMaxPathBytes) + "...");
  EXPECT_EQ(j["request_id"].get<std::string>(), id.substr(0, kMaxRequestIdBytes) + "...");
  std::string text = format(e, AccessLogFormat::kText);
  EXPECT_LT(text.size(), kMaxPathBytes + kMaxRequestIdBytes + 200);
  EXPECT_NE(text.find(path.substr(0, kMaxPathBytes) + "... HTTP/1.1"), std::string::npos);
}

TEST(AccessLogFormat, TruncationNeverSplitsAUtf8Sequence) {
  // 3-byte sequences: a cut at kMaxPathBytes would fall inside one.
  std::string path = "//";  // sequences start at 2 + 3k: byte kMaxPathBytes is inside one
  while (path.size() < 2 * kMaxPathBytes) path += "\xe2\x82\xac";
  bool cut = false;
  std::string_view v = boundField(path, kMaxPathBytes, &cut);
  EXPECT_TRUE(cut);
  EXPECT_EQ(v.size(), kMaxPathBytes - 2);
  EXPECT_TRUE(net::isValidUtf8(v));
  AccessLogEntry e = sample();
  e.path = path;
  json j = json::parse(format(e, AccessLogFormat::kJson));
  std::string logged = j["path"];
  EXPECT_EQ(logged.find("\xef\xbf\xbd"), std::string::npos) << "no U+FFFD from a split sequence";
  bool short_cut = true;
  EXPECT_EQ(boundField("abc", 3, &short_cut), "abc");
  EXPECT_FALSE(short_cut);
}

TEST(AccessLogFormat, ClockCachesTheSecondButNotTheMilliseconds) {
  AccessLogClock clock;
  std::string out;
  clock.appendRfc3339(1796632175123, out);
  out.push_back(' ');
  clock.appendRfc3339(1796632175999, out);
  out.push_back(' ');
  clock.appendRfc3339(1796632176000, out);
  out.push_back(' ');
  clock.appendRfc3339(0, out);
  EXPECT_EQ(out,
            "2026-12-07T08:29:35.123Z 2026-12-07T08:29:35.999Z 2026-12-07T08:29:36.000Z "
            "1970-01-01T00:00:00.000Z");
}

TEST(AccessLogRing, DropsAndCountsWhatDoesNotFit) {
  AccessLogRing ring(100);
  std::string line(30, 'x');
  EXPECT_TRUE(ring.push(line));
  EXPECT_TRUE(ring.push(line));
  EXPECT_TRUE(ring.push(line));
  EXPECT_FALSE(ring.push(line));  // 90 used, 30 more do not fit
  EXPECT_FALSE(ring.push(line));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_TRUE(ring.push("0123456789"));  // exactly full
  EXPECT_EQ(ring.dropped(), 2u);
  std::string_view seg[2];
  EXPECT_EQ(ring.peek(seg), 100u);
  ring.consume(60);
  EXPECT_TRUE(ring.push(std::string(50, 'y')));  // wraps around the end
  EXPECT_EQ(ring.peek(seg), 90u);
  EXPECT_EQ(std::string(seg[0]) + std::string(seg[1]),
            std::string(30, 'x') + "0123456789" + std::string(50, 'y'));
  EXPECT_EQ(seg[0].size(), 40u);
  ring.consume(90);
  EXPECT_EQ(ring.peek(seg), 0u);
  EXPECT_TRUE(ring.push(std::string(80, 'w')));  // written across the end: 50 + 30
  EXPECT_EQ(ring.peek(seg), 80u);
  EXPECT_EQ(seg[0], std::string(50, 'w'));
  EXPECT_EQ(seg[1], std::string(30, 'w'));
  EXPECT_EQ(ring.dropped(), 2u);
}

TEST(AccessLogRing, ReportsCrossingHalfFull) {
  AccessLogRing ring(100);
  bool half = true;
  EXPECT_TRUE(ring.push(std::string(40, 'a'), &half));
  EXPECT_FALSE(half);
  EXPECT_TRUE(ring.push(std::string(20, 'b'), &half));
  EXPECT_TRUE(half);
  EXPECT_TRUE(ring.push(std::string(20, 'c'), &half));
  EXPECT_FALSE(half);  // already past half: one nudge per crossing
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AccessLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge_access_log_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(AccessLogWriterTest, DrainsEveryRingAndReopensAfterARename) {
  AccessLogOptions o;
  o.path = (dir_ / "access.log").string();
  o.buffer_bytes = 64 << 10;
  AccessLogWriter w(o, 2);
  ASSERT_TRUE(w.open().isOk());
  // No thread: flushNow() is the writer's step, so the test controls the order.
  w.ring(0).push("a1\n");
  w.ring(1).push("b1\n");
  w.flushNow();
  // logrotate: move the file, then SIGHUP (reopen): later lines go to a new "access.log".
  std::filesystem::rename(dir_ / "access.log", dir_ / "access.log.1");
  w.reopen();
  w.ring(1).push("b2\n");
  w.flushNow();
  w.ring(0).push("a2\n");
  w.stop();  // drains the rest
  EXPECT_EQ(slurp(dir_ / "access.log.1"), "a1\nb1\n");
  EXPECT_EQ(slurp(dir_ / "access.log"), "b2\na2\n");
  EXPECT_EQ(w.dropped(), 0u);
  EXPECT_EQ(w.writtenBytes(), 12u);
}

TEST_F(AccessLogWriterTest, TheThreadWritesWithoutBeingAsked) {
  AccessLogOptions o;
  o.path = (dir_ / "access.log").string();
  AccessLogWriter w(o, 1);
  ASSERT_TRUE(w.open().isOk());
  w.start();
  w.ring(0).push("x\n");
  // The writer drains every kDrainInterval on its own.
  ASSERT_TRUE(surge::testing::waitUntil([&] { return w.writtenBytes() == 2; },
                                        std::chrono::seconds(5), std::chrono::milliseconds(5),
                                        "the writer thread wrote the line"));
  EXPECT_EQ(slurp(dir_ / "access.log"), "x\n");
  w.stop();
}

TEST_F(AccessLogWriterTest, OpenErrorNamesThePath) {
  AccessLogOptions o;
  o.path = (dir_ / "missing" / "access.log").string();
  AccessLogWriter w(o, 1);
  Status s = w.open();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("access_log: cannot open '" + o.path + "'"), std::string::npos)
      << s.message();
}

TEST_F(AccessLogWriterTest, AFullRingDropsWithoutBlockingTheProducer) {
  AccessLogOptions o;
  o.path = (dir_ / "access.log").string();
  o.buffer_bytes = 64 << 10;
  AccessLogWriter w(o, 1);
  ASSERT_TRUE(w.open().isOk());
  // The writer is not started: nothing drains, so the producer must drop, not wait.
  std::string line(1000, 'z');
  line.back() = '\n';
  int accepted = 0;
  for (int i = 0; i < 200; ++i) accepted += w.ring(0).push(line) ? 1 : 0;
  EXPECT_EQ(accepted, 65);  // 65 536 / 1000
  EXPECT_EQ(w.dropped(), 135u);
  w.stop();
  EXPECT_EQ(slurp(dir_ / "access.log").size(), 65u * 1000u);
}

// stdout is a pipe nobody reads: the writer must neither block (a full pipe keeps the rest in the
// ring for the next pass) nor hang at stop() (what cannot be written then is dropped, counted).
TEST_F(AccessLogWriterTest, AFullStdoutPipeNeverBlocksTheWriter) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::fflush(stdout);
  int saved = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
  std::string first, second;
  uint64_t dropped_before_stop = 0, dropped_after_stop = 0, written_mid = 0;
  {
    AccessLogOptions o;
    o.path = "stdout";
    o.buffer_bytes = 1 << 20;
    AccessLogWriter w(o, 1);
    Status opened = w.open();
    ASSERT_EQ(::dup2(saved, STDOUT_FILENO), STDOUT_FILENO);  // the test's own output again
    ASSERT_TRUE(opened.isOk()) << opened.message();
    std::string line(99, 'q');
    line += '\n';
    for (int i = 0; i < 2000; ++i) w.ring(0).push(line);  // 200 000 bytes > a 64 KiB pipe
    w.flushNow();  // fills the pipe, keeps the rest; returns instead of blocking
    written_mid = w.writtenBytes();
    dropped_before_stop = w.dropped();
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) {  // the pipe's whole content: it was full
      first.append(buf, static_cast<size_t>(n));
      if (first.size() == written_mid) break;
    }
    w.flushNow();  // the next piece
    w.stop();      // the pipe is full again: the rest is dropped, not waited for
    dropped_after_stop = w.dropped();
    ::close(p[1]);
  }
  ::close(saved);
  char buf[1 << 16];
  ssize_t n;
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) second.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  EXPECT_GT(written_mid, 0u);
  EXPECT_LT(written_mid, 200000u) << "the pipe cannot have taken everything";
  EXPECT_EQ(first.size(), written_mid);
  EXPECT_EQ(dropped_before_stop, 0u);
  EXPECT_GT(dropped_after_stop, 0u);
  // Whatever reached the pipe is whole lines in order, then at most one cut line at the end.
  std::string all = first + second;
  EXPECT_EQ(all.substr(0, 100), std::string(99, 'q') + "\n");
  EXPECT_GE(all.size(), 2 * written_mid - 100);
  EXPECT_LE(dropped_after_stop, 2000u - all.size() / 100);
}

}  // namespace
}  // namespace surge::gateway
