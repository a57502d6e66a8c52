#include "net/h2/grpc_framing.h"

#include <gtest/gtest.h>

namespace surge::h2 {
namespace {

TEST(GrpcFraming, MessagesSplitAcrossFeeds) {
  std::string wire = grpcFrame("hello") + grpcFrame("") + grpcFrame(std::string(70000, 'x'));
  GrpcMessageReader r(1 << 20);
  std::vector<std::string> got;
  for (size_t i = 0; i < wire.size(); i += 7) {  // 7-byte pieces: prefixes split everywhere
    ASSERT_TRUE(r.feed(std::string_view(wire).substr(i, 7)).isOk());
    while (auto m = r.next()) got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "hello");
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], std::string(70000, 'x'));
  EXPECT_FALSE(r.partial());
}

TEST(GrpcFraming, LengthCheckedBeforeThePayloadArrives) {
  GrpcMessageReader r(1000);
  // A 5-byte prefix announcing 4 GiB - 1: refused at once, nothing buffered for it.
  Status s = r.feed(std::string("\x00\xff\xff\xff\xff", 5));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.errorCode(), GrpcCode::kResourceExhausted);
  EXPECT_NE(s.message().find("larger than max"), std::string::npos);
  EXPECT_FALSE(r.next().has_value());
}

TEST(GrpcFraming, CompressedAndInvalidFlagsAreRefused) {
  GrpcMessageReader a(1000);
  EXPECT_FALSE(a.feed(std::string("\x01\x00\x00\x00\x01" "z", 6)).isOk());
  EXPECT_EQ(a.errorCode(), GrpcCode::kUnimplemented);
  GrpcMessageReader b(1000);
  EXPECT_FALSE(b.feed(std::string("\x07\x00\x00\x00\x01" "z", 6)).isOk());
  EXPECT_EQ(b.errorCode(), GrpcCode::kInternal);
}

TEST(GrpcFraming, PartialMessageIsVisible) {
  GrpcMessageReader r(1000);
  ASSERT_TRUE(r.feed(std::string("\x00\x00\x00\x00\x05" "ab", 7)).isOk());
  EXPECT_FALSE(r.next().has_value());
  EXPECT_TRUE(r.partial());
}

TEST(GrpcFraming, Timeout) {
  EXPECT_EQ(*parseGrpcTimeout("1S"), std::chrono::seconds(1));
  EXPECT_EQ(*parseGrpcTimeout("250m"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parseGrpcTimeout("2H"), std::chrono::hours(2));
  EXPECT_EQ(*parseGrpcTimeout("3M"), std::chrono::minutes(3));
  EXPECT_EQ(*parseGrpcTimeout("7u"), std::chrono::microseconds(7));
  EXPECT_EQ(*parseGrpcTimeout("9n"), std::chrono::nanoseconds(9));
  EXPECT_EQ(*parseGrpcTimeout("99999999H"), Duration::max());  // saturates, no overflow
  for (const char* bad : {"", "S", "1", "1s", "123456789S", "-1S", "1.5S", "1 S", "1SS"}) {
    EXPECT_FALSE(parseGrpcTimeout(bad).isOk()) << bad;
  }
}

TEST(GrpcFraming, PercentEncodingRoundTrips) {
  const std::string m = "bad input: 100% of \"x\"\n caf\xc3\xa9";
  std::string e = grpcPercentEncode(m);
  EXPECT_EQ(e, "bad input: 100%25 of \"x\"%0A caf%C3%A9");
  EXPECT_EQ(grpcPercentDecode(e), m);
  EXPECT_EQ(grpcPercentDecode("50%"), "50%");   // a lone % stays
  EXPECT_EQ(grpcPercentDecode("%zz"), "%zz");
}

TEST(GrpcFraming, TrailersAndDetection) {
  auto t = grpcTrailers(GrpcCode::kUnavailable, "no healthy upstream");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "grpc-status");
  EXPECT_EQ(t[0].value, "14");
  EXPECT_EQ(t[1].value, "no healthy upstream");
  EXPECT_EQ(grpcTrailers(GrpcCode::kOk, "ignored").size(), 1u);
  auto only = grpcTrailersOnly(GrpcCode::kDeadlineExceeded, "timeout");
  EXPECT_EQ(*findHeader(only, ":status"), "200");
  EXPECT_EQ(*findHeader(only, "grpc-status"), "4");
  EXPECT_TRUE(isGrpcRequest({{":method", "POST"}, {"content-type", "application/grpc"}}));
  EXPECT_TRUE(isGrpcRequest({{":method", "POST"}, {"content-type", "application/grpc+proto"}}));
  EXPECT_FALSE(isGrpcRequest({{":method", "GET"}, {"content-type", "application/grpc"}}));
  EXPECT_FALSE(isGrpcRequest({{":method", "POST"}, {"content-type", "application/grpcx"}}));
  EXPECT_FALSE(isGrpcRequest({{":method", "POST"}}));
}

}  // namespace
}  // namespace surge::h2
