// Conformance tests of the HTTP/2 path's pure rules (h2_rewrite.h): the forwarded header list,
// the hash key, the gateway's own answers and their gRPC statuses.
#include "gateway/h2_rewrite.h"

#include <gtest/gtest.h>

#include <set>

namespace surge::gateway {
namespace {

std::vector<h2::Header> request(std::vector<h2::Header> extra = {}) {
  std::vector<h2::Header> h = {{":method", "POST"},
                               {":scheme", "https"},
                               {":path", "/inference.GRPCInferenceService/ModelInfer?x=1"},
                               {":authority", "models.example"}};
  for (auto& e : extra) h.push_back(std::move(e));
  return h;
}

TEST(H2Rewrite, PseudoHeadersFirstInOrderWithClearTextSchemeAndForwardedFields) {
  Random r(1);
  std::vector<h2::Header> out;
  rewriteH2Request(request({{"content-type", "application/grpc"}, {"te", "trailers"}}), "10.0.0.7",
                   "https", r, &out);
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out[0].name, ":method");
  EXPECT_EQ(out[1].name, ":scheme");
  EXPECT_EQ(out[1].value, "http");
  EXPECT_EQ(out[2].name, ":authority");
  EXPECT_EQ(out[3].name, ":path");
  EXPECT_EQ(*h2::findHeader(out, "te"), "trailers");
  EXPECT_EQ(*h2::findHeader(out, "x-forwarded-for"), "10.0.0.7");
  EXPECT_EQ(*h2::findHeader(out, "x-forwarded-proto"), "https");
  ASSERT_NE(h2::findHeader(out, "x-request-id"), nullptr);
  EXPECT_EQ(h2::findHeader(out, "x-request-id")->size(), 32u);
}

TEST(H2Rewrite, ExistingForwardedForIsExtendedOnceAndRequestIdKept) {
  Random r(1);
  std::vector<h2::Header> out;
  rewriteH2Request(request({{"x-forwarded-for", "1.2.3.4"},
                            {"x-forwarded-for", "5.6.7.8"},
                            {"x-request-id", "abc"},
                            {"x-forwarded-proto", "http"}}),
                   "10.0.0.7", "https", r, &out);
  int xff = 0;
  for (const auto& h : out) xff += h.name == "x-forwarded-for";
  EXPECT_EQ(xff, 1);
  EXPECT_EQ(*h2::findHeader(out, "x-forwarded-for"), "1.2.3.4, 10.0.0.7");
  EXPECT_EQ(*h2::findHeader(out, "x-request-id"), "abc");
  EXPECT_EQ(*h2::findHeader(out, "x-forwarded-proto"), "http");
}

TEST(H2Rewrite, ConnectionSpecificFieldsAndTeOtherThanTrailersAreDropped) {
  Random r(1);
  std::vector<h2::Header> out;
  rewriteH2Request(request({{"te", "gzip"},
                            {"connection", "x"},
                            {"host", "h"},
                            {"upgrade", "websocket"},
                            {"x-keep", "1"}}),
                   "ip", "http", r, &out);
  EXPECT_EQ(h2::findHeader(out, "te"), nullptr);
  EXPECT_EQ(h2::findHeader(out, "connection"), nullptr);
  EXPECT_EQ(h2::findHeader(out, "host"), nullptr);
  EXPECT_EQ(h2::findHeader(out, "upgrade"), nullptr);
  EXPECT_EQ(*h2::findHeader(out, "x-keep"), "1");
}

TEST(H2Rewrite, HostBecomesAuthorityWhenTheClientSentNone) {
  Random r(1);
  std::vector<h2::Header> out;
  rewriteH2Request({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.example"}},
                   "ip", "http", r, &out);
  ASSERT_NE(h2::findHeader(out, ":authority"), nullptr);
  EXPECT_EQ(*h2::findHeader(out, ":authority"), "h.example");
  EXPECT_EQ(h2::findHeader(out, "host"), nullptr);
}

TEST(H2Rewrite, GeneratedRequestIdsDiffer) {
  Random r(7);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::vector<h2::Header> out;
    rewriteH2Request(request(), "ip", "http", r, &out);
    ids.insert(*h2::findHeader(out, "x-request-id"));
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(H2Rewrite, HashKeyFromHeaderQueryAndSplitCookies) {
  HashKeySource header{HashKeySource::Kind::kHeader, "X-Session-Id"};
  auto a = h2HashKey(header, request({{"x-session-id", "s1"}}));
  auto b = h2HashKey(header, request({{"x-session-id", "s1"}}));
  auto c = h2HashKey(header, request({{"x-session-id", "s2"}}));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_FALSE(h2HashKey(header, request()));
  EXPECT_FALSE(h2HashKey(header, request({{"x-session-id", ""}})));
  HashKeySource query{HashKeySource::Kind::kQuery, "x"};
  EXPECT_TRUE(h2HashKey(query, request()));
  HashKeySource cookie{HashKeySource::Kind::kCookie, "sid"};
  // HTTP/2 may split the Cookie field (RFC 9113 §8.2.3): every one is searched.
  auto k1 = h2HashKey(cookie, request({{"cookie", "a=1"}, {"cookie", "sid=42"}}));
  auto k2 = h2HashKey(cookie, request({{"cookie", "a=1; sid=42"}}));
  ASSERT_TRUE(k1 && k2);
  EXPECT_EQ(*k1, *k2);
}

TEST(H2Rewrite, GatewayAnswersOnGrpcCallsAreTrailersOnlyWithTheMappedStatus) {
  auto a = h2LocalAnswer(true, 503, "no healthy upstream");
  EXPECT_TRUE(a.body.empty());
  EXPECT_EQ(*h2::findHeader(a.headers, ":status"), "200");
  EXPECT_EQ(grpcStatusOf(a.headers), 14);
  EXPECT_EQ(*h2::findHeader(a.headers, "grpc-message"), "no healthy upstream");
  EXPECT_EQ(grpcStatusOf(h2LocalAnswer(true, 504, "t").headers), 4);
  EXPECT_EQ(grpcStatusOf(h2LocalAnswer(true, 502, "t").headers), 14);
  EXPECT_EQ(grpcStatusOf(h2LocalAnswer(true, 413, "t").headers), 8);
  EXPECT_EQ(grpcStatusOf(h2LocalAnswer(true, 400, "t").headers), 3);
  EXPECT_EQ(grpcStatusOf(h2LocalAnswer(true, 418, "t").headers), 2);
  // grpc-message is percent-encoded (non-ASCII and '%').
  auto p = h2LocalAnswer(true, 503, "100% down \xc3\xa9");
  EXPECT_EQ(*h2::findHeader(p.headers, "grpc-message"), "100%25 down %C3%A9");
}

TEST(H2Rewrite, GatewayAnswersOnOtherStreamsAreJsonErrors) {
  auto a = h2LocalAnswer(false, 502, "bad \"thing\"\n");
  EXPECT_EQ(*h2::findHeader(a.headers, ":status"), "502");
  EXPECT_EQ(*h2::findHeader(a.headers, "content-type"), "application/json");
  EXPECT_EQ(a.body, "{\"error\": \"bad \\\"thing\\\"\\n\"}");
  EXPECT_EQ(*h2::findHeader(a.headers, "content-length"), std::to_string(a.body.size()));
}

TEST(H2Rewrite, GrpcStatusParsing) {
  EXPECT_EQ(grpcStatusOf({{"grpc-status", "0"}}), 0);
  EXPECT_EQ(grpcStatusOf({{"grpc-status", "14"}}), 14);
  EXPECT_EQ(grpcStatusOf({{"grpc-status", "x"}}), -1);
  EXPECT_EQ(grpcStatusOf({{"grpc-status", "1x"}}), -1);
  EXPECT_EQ(grpcStatusOf({{"grpc-status", "-1"}}), -1);
  EXPECT_EQ(grpcStatusOf({}), -1);
}

}  // namespace
}  // namespace surge::gateway
