// head_rewrite.h: one row per rule with the exact bytes written (request head toward the upstream,
// response head toward the client, local answers), then properties over random and mutated heads:
// whatever the strict parser accepts from a client, the upstream head is accepted by the same
// parser, carries no hop-by-hop field, exactly one X-Forwarded-For ending in the client address,
// at least one X-Request-Id (exactly one unless the client sent several), the end-to-end fields in
// order, and the same framing; and the rewrite allocates nothing once its buffer has grown.
#include "gateway/head_rewrite.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/random.h"

// Counts allocations while armed (the no-allocation test below). The replacements are malloc and
// free; GCC, seeing both inlined into one caller, would report them as mismatched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<int64_t> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace surge::gateway {
namespace {

using net::BodyFraming;
using net::HeaderId;
using net::HeadParser;

constexpr std::string_view kClient = "10.1.2.3";
constexpr uint64_t kSeed = 42;

// The id writeUpstreamHead generates first with Random(kSeed).
std::string firstId() {
  Random r(kSeed);
  uint64_t a = r.next(), b = r.next();
  char id[32];
  formatRequestId(a, b, id);
  return std::string(id, 32);
}

std::string replaceId(std::string s) {
  size_t at = s.find("<id>");
  if (at != std::string::npos) s.replace(at, 4, firstId());
  return s;
}

struct Parsed {
  std::string bytes;
  HeadParser parser;
  Parsed(HeadParser::Kind kind, net::ParseLimits limits) : parser(kind, limits) {}
};

// The gateway's request limits (proxy.cc): Host required.
net::ParseLimits gatewayLimits() { return net::ParseLimits{.require_host = true}; }

std::unique_ptr<Parsed> parseAs(HeadParser::Kind kind, std::string bytes, net::ParseLimits limits,
                                bool request_was_head = false) {
  auto p = std::make_unique<Parsed>(kind, limits);
  p->bytes = std::move(bytes);
  p->parser.setRequestWasHead(request_was_head);
  auto st = p->parser.parse(p->bytes.data(), p->bytes.size());
  if (st != HeadParser::Status::kDone || p->parser.headSize() != p->bytes.size()) return nullptr;
  return p;
}

std::string rewriteRequest(const std::string& head, Random* random = nullptr) {
  auto p = parseAs(HeadParser::Kind::kRequest, head, gatewayLimits());
  EXPECT_NE(p, nullptr) << head;
  if (!p) return "";
  Random own(kSeed);
  std::string out = "stale bytes from the previous request";
  writeUpstreamHead(p->parser, kClient, random ? *random : own, out);
  return out;
}

// ---- request head: one row per rule --------------------------------------------------------------

struct RequestRow {
  const char* rule;
  std::string in;
  std::string out;  // "<id>": the generated X-Request-Id
};

TEST(HeadRewrite, RequestHeadTable) {
  const RequestRow rows[] = {
      {"minimal: X-Forwarded-For and a generated X-Request-Id after the client's fields",
       "GET /p HTTP/1.1\r\nHost: a\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: <id>\r\n\r\n"},
      {"HTTP/1.0 goes on as HTTP/1.1; no Host invented (H5)", "GET /p HTTP/1.0\r\n\r\n",
       "GET /p HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: <id>\r\n\r\n"},
      {"origin-form target unchanged, query and escapes included (RL7)",
       "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n"
       "X-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"absolute-form: origin-form, authority as the first field, client Host dropped (RL8, H4)",
       "GET http://b.example:81/p?q=1 HTTP/1.1\r\nUser-Agent: u\r\nHost: a\r\nX-Request-Id: t\r\n"
       "\r\n",
       "GET /p?q=1 HTTP/1.1\r\nHost: b.example:81\r\nUser-Agent: u\r\nX-Request-Id: t\r\n"
       "X-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"absolute-form with an empty path: '/' (RL8)",
       "GET http://b.example HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: b.example\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n"
       "\r\n"},
      {"absolute-form with an empty path and a query: '/' before it",
       "GET http://b.example?q=1 HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "GET /?q=1 HTTP/1.1\r\nHost: b.example\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n"
       "\r\n"},
      {"asterisk-form (RL9)", "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"hop-by-hop fields dropped, and fields named in Connection",
       "GET /p HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
       "X-Hop: 1\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Sum\r\n"
       "X-End: 2\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-End: 2\r\nX-Request-Id: t\r\n"
       "X-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"Upgrade dropped (the gateway is not a tunnel)",
       "GET /p HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
       "X-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"Connection cannot make Host hop-by-hop (H6)",
       "GET /p HTTP/1.1\r\nHost: a\r\nConnection: host\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"Content-Length rewritten last",
       "POST /p HTTP/1.1\r\nContent-Length:  12 \r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "POST /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n"
       "Content-Length: 12\r\n\r\n"},
      {"Content-Length 0: no body, no framing field (RFC 9112 §6.3: a request without one has "
       "none)",
       "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
       "POST /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: <id>\r\n\r\n"},
      {"chunked: 'Transfer-Encoding: chunked' last, case normalized (T0)",
       "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nX-Request-Id: t\r\n\r\n",
       "POST /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n"
       "Transfer-Encoding: chunked\r\n\r\n"},
      {"Expect dropped: the proxy answers 100 Continue (E1)",
       "POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
       "X-Request-Id: t\r\n\r\n",
       "POST /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n"
       "Content-Length: 1\r\n\r\n"},
      {"X-Forwarded-For: the client address appended in place",
       "GET /p HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1, 10.1.2.3\r\nHost: a\r\nX-Request-Id: t\r\n"
       "\r\n"},
      {"X-Forwarded-For: only the first is kept (later ones dropped)",
       "GET /p HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 192.0.2.1, 192.0.2.2\r\n"
       "X-Forwarded-For: 198.51.100.7\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1, 192.0.2.2, 10.1.2.3\r\n"
       "X-Request-Id: t\r\n\r\n"},
      {"X-Forwarded-For named in Connection: dropped, a fresh one added",
       "GET /p HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\n"
       "X-Forwarded-For: 192.0.2.1\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"X-Request-Id passed through with its name as received",
       "GET /p HTTP/1.1\r\nHost: a\r\nx-request-id: abc\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nx-request-id: abc\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"several X-Request-Id: all passed through",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n"
       "X-Forwarded-For: 10.1.2.3\r\n\r\n"},
      {"X-Request-Id named in Connection: dropped, one generated",
       "GET /p HTTP/1.1\r\nHost: a\r\nConnection: x-request-id\r\nX-Request-Id: t\r\n\r\n",
       "GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: <id>\r\n\r\n"},
      {"end-to-end fields verbatim and in order, names as received, values OWS-trimmed",
       "POST /v2/models/m/infer HTTP/1.1\r\nhost: a\r\nCONTENT-TYPE:application/json\r\n"
       "Accept: */*  \r\nCookie: sid=1; b=2\r\nAuthorization: Bearer x\r\nProxy-Authorization: p\r\n"
       "X-Empty:\r\nContent-Length: 2\r\nX-Request-Id: t\r\n\r\n",
       "POST /v2/models/m/infer HTTP/1.1\r\nhost: a\r\nCONTENT-TYPE: application/json\r\n"
       "Accept: */*\r\nCookie: sid=1; b=2\r\nAuthorization: Bearer x\r\nProxy-Authorization: p\r\n"
       "X-Empty: \r\nX-Request-Id: t\r\nX-Forwarded-For: 10.1.2.3\r\nContent-Length: 2\r\n\r\n"},
  };
  for (const RequestRow& r : rows) {
    SCOPED_TRACE(r.rule);
    EXPECT_EQ(rewriteRequest(r.in), replaceId(r.out));
  }
}

TEST(HeadRewrite, RandomIsDrawnOnlyForAMissingRequestId) {
  // The worker's Random also feeds the balancer: a client-sent id must leave its sequence alone.
  Random used(7), reference(7);
  rewriteRequest("GET /p HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n", &used);
  EXPECT_EQ(used.next(), reference.next());
  Random used2(7), reference2(7);
  rewriteRequest("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &used2);
  reference2.next();
  reference2.next();
  EXPECT_EQ(used2.next(), reference2.next());  // exactly two values drawn
}

TEST(HeadRewrite, RequestIdFormat) {
  char id[32];
  formatRequestId(0x0123456789abcdefULL, 0xfedcba9876543210ULL, id);
  EXPECT_EQ(std::string(id, 32), "fedcba98765432100123456789abcdef");
  formatRequestId(0, ~uint64_t{0}, id);
  EXPECT_EQ(std::string(id, 32), "0000000000000000ffffffffffffffff");
  // Successive ids differ (128 random bits each).
  Random r(1);
  std::string a = rewriteRequest("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &r);
  std::string b = rewriteRequest("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &r);
  EXPECT_NE(a, b);
}

TEST(HeadRewrite, IPv6ClientAddress) {
  auto p = parseAs(HeadParser::Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\n\r\n",
                   gatewayLimits());
  ASSERT_NE(p, nullptr);
  Random r(kSeed);
  std::string out;
  writeUpstreamHead(p->parser, "2001:db8::1", r, out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: t\r\nX-Forwarded-For: 2001:db8::1\r\n\r\n");
}

// ---- response head ---------------------------------------------------------------------------

struct ResponseRow {
  const char* rule;
  std::string in;
  int client_minor;
  bool keep_alive;
  std::string out;
  bool out_keep_alive;
  bool dechunk;
  bool request_was_head = false;
};

TEST(HeadRewrite, ResponseHeadTable) {
  const ResponseRow rows[] = {
      {"fields verbatim, keep-alive: no Connection field",
       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n", true, false},
      {"the upstream's reason kept", "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 0\r\n\r\n", 1,
       true, "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 0\r\n\r\n", true, false},
      {"no reason: the standard phrase", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 1, true,
       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true, false},
      {"HTTP/1.0 upstream answers as HTTP/1.1",
       "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", true, false},
      {"hop-by-hop fields dropped; the upstream's close does not close the client",
       "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n"
       "X-End: 2\r\nContent-Length: 0\r\n\r\n",
       1, true, "HTTP/1.1 200 OK\r\nX-End: 2\r\nContent-Length: 0\r\n\r\n", true, false},
      {"chunked to HTTP/1.1: Transfer-Encoding last, codings as received",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", true, false},
      {"chunked: several Transfer-Encoding fields joined",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 1,
       true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", true, false},
      {"chunked to HTTP/1.0: de-chunked, no framing field, close",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", 0, true,
       "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n", false, true},
      {"read-until-close body: close",
       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n", false, false},
      {"client connection ending: close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1,
       false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false, false},
      {"HTTP/1.0 client kept alive: keep-alive", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
       0, true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", true,
       false},
      {"HTTP/1.0 client not kept alive: close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
       false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false, false},
      {"204: no body, kept alive", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", 1, true,
       "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", true, false},
      {"answer to HEAD: Content-Length kept, no body, kept alive",
       "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true, false, true},
      {"answer to HEAD with chunked: no body, so no framing field; kept alive",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, true,
       "HTTP/1.1 200 OK\r\n\r\n", true, false, true},
  };
  for (const ResponseRow& r : rows) {
    SCOPED_TRACE(r.rule);
    auto p = parseAs(HeadParser::Kind::kResponse, r.in, {}, r.request_was_head);
    ASSERT_NE(p, nullptr) << r.in;
    std::string out = "stale";
    ClientResponseHead h = writeClientResponseHead(p->parser, r.client_minor, r.keep_alive, out);
    EXPECT_EQ(out, r.out);
    EXPECT_EQ(h.keep_alive, r.out_keep_alive);
    EXPECT_EQ(h.dechunk, r.dechunk);
  }
}

TEST(HeadRewrite, LocalResponses) {
  std::string out = "stale";
  writeLocalResponse(503, "no healthy upstream", 1, true, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Content-Length: 32\r\nRetry-After: 1\r\n\r\n{\"error\": \"no healthy upstream\"}");
  writeLocalResponse(502, "a \"quoted\"\nline", 1, false, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 31\r\n"
            "Connection: close\r\n\r\n{\"error\": \"a \\\"quoted\\\"\\nline\"}");
  writeLocalResponse(504, "t", 0, true, true, out);  // HEAD: the length of the body not sent
  EXPECT_EQ(out,
            "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\n"
            "Content-Length: 14\r\nConnection: keep-alive\r\n\r\n");
  writeLocalResponse(400, "malformed request line", 0, false, false, out);
  auto p = parseAs(HeadParser::Kind::kResponse, out.substr(0, out.find("\r\n\r\n") + 4), {});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->parser.status(), 400);
  EXPECT_FALSE(p->parser.keepAlive());
  EXPECT_EQ(p->parser.contentLength(), out.size() - p->parser.headSize());
}

// ---- properties over random client heads ---------------------------------------------------------

std::string randomCase(Random& r, std::string_view s) {
  std::string o(s);
  for (char& c : o) {
    if (r.uniform(3) == 0) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else if (r.uniform(2) == 0) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return o;
}

template <size_t N>
std::string_view pick(Random& r, const std::string_view (&a)[N]) {
  return a[r.uniform(N)];
}

// A client head built from the pieces the rules are about; most are valid, some not (the strict
// parser decides).
std::string randomRequestHead(Random& r) {
  static const std::string_view kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH",
                                              "OPTIONS"};
  static const std::string_view kOrigin[] = {"/", "/v2/models/m/infer", "/p?a=1&b=2",
                                             "/x%20y?session=s1", "/a/b/c?"};
  static const std::string_view kAbsolute[] = {"http://h.example/p", "http://h.example:8080",
                                               "http://[::1]:81/p?q", "https://h.example?x=1",
                                               "HTTP://H.EXAMPLE/Z"};
  static const std::string_view kHosts[] = {"a", "[::1]:8080", "b.example:80", "10.0.0.1"};
  static const std::string_view kConnTokens[] = {"close", "keep-alive", "upgrade", "X-Foo",
                                                 "x-bar", "te", "host", "Cookie",
                                                 "X-Request-Id", "X-Forwarded-For", "Accept"};
  static const std::string_view kXff[] = {"192.0.2.1", "192.0.2.1, 198.51.100.2", "",
                                          "unknown", "2001:db8::7"};
  static const std::string_view kOther[] = {
      "Accept: */*", "User-Agent: t/1.0", "X-Foo: bar", "x-bar: a\tb", "Cookie: sid=c1; b=2",
      "Content-Type: application/json", "Authorization: Bearer x", "X-Session-Id: user-7",
      "Proxy-Authorization: p", "Via: 1.1 other", "Forwarded: for=192.0.2.60", "X-Empty:",
      "Accept-Encoding: gzip, deflate"};

  std::string method(pick(r, kMethods));
  std::string target;
  uint64_t form = r.uniform(10);
  if (form < 7) {
    target = pick(r, kOrigin);
  } else if (form < 9) {
    target = pick(r, kAbsolute);
  } else {
    target = "*";
    if (r.uniform(4) != 0) method = "OPTIONS";
  }
  const bool http10 = r.uniform(5) == 0;
  std::string h = method + " " + target + (http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  std::vector<std::string> fields;
  if (r.uniform(12) != 0) fields.push_back(randomCase(r, "Host") + ": " + std::string(pick(r, kHosts)));
  if (r.uniform(3) == 0) {
    std::string v;
    for (uint64_t i = 0, n = 1 + r.uniform(3); i < n; ++i) {
      if (i) v += r.uniform(2) ? ", " : ",";
      v += randomCase(r, pick(r, kConnTokens));
    }
    fields.push_back(randomCase(r, "Connection") + ": " + v);
  }
  if (r.uniform(6) == 0) fields.push_back(randomCase(r, "Keep-Alive") + ": timeout=5");
  if (r.uniform(8) == 0) fields.push_back(randomCase(r, "Proxy-Connection") + ": keep-alive");
  if (r.uniform(8) == 0) fields.push_back(randomCase(r, "TE") + ": trailers");
  if (r.uniform(8) == 0) fields.push_back(randomCase(r, "Trailer") + ": X-Sum");
  if (r.uniform(8) == 0) fields.push_back(randomCase(r, "Upgrade") + ": websocket");
  const uint64_t body = r.uniform(4);
  if (body == 1) {
    fields.push_back(randomCase(r, "Content-Length") + ": " + std::to_string(r.uniform(100000)));
  } else if (body == 2) {
    fields.push_back(randomCase(r, "Transfer-Encoding") + ": " + randomCase(r, "chunked"));
  }
  if (r.uniform(6) == 0) fields.push_back(randomCase(r, "Expect") + ": 100-continue");
  for (uint64_t i = 0, n = r.uniform(4) == 0 ? 1 + r.uniform(2) : 0; i < n; ++i) {
    fields.push_back(randomCase(r, "X-Forwarded-For") + ": " + std::string(pick(r, kXff)));
  }
  const uint64_t ids = r.uniform(8);
  for (uint64_t i = 0, n = ids < 4 ? 0 : ids < 7 ? 1 : 2; i < n; ++i) {
    fields.push_back(randomCase(r, "X-Request-Id") + ": id-" + std::to_string(r.uniform(1000)));
  }
  for (uint64_t i = 0, n = r.uniform(8); i < n; ++i) fields.push_back(std::string(pick(r, kOther)));
  for (size_t i = fields.size(); i > 1; --i) std::swap(fields[i - 1], fields[r.uniform(i)]);
  for (const std::string& f : fields) h += f + "\r\n";
  h += "\r\n";
  return h;
}

// One byte changed, inserted or removed, from an alphabet that reaches the parser's edges.
std::string mutate(Random& r, std::string s) {
  static const char kBytes[] = {' ', '\t', ':', ',', ';', '\r', '\n', '/', '?', '=', 'a',
                                'Z', '0', '9', '-', '"', '\\', '\x7f', '\x00', '\x80', '\xff'};
  for (uint64_t k = 0, n = 1 + r.uniform(3); k < n && !s.empty(); ++k) {
    size_t at = r.uniform(s.size());
    char c = kBytes[r.uniform(sizeof kBytes)];
    switch (r.uniform(3)) {
      case 0: s[at] = c; break;
      case 1: s.insert(s.begin() + static_cast<ptrdiff_t>(at), c); break;
      default: s.erase(at, 1); break;
    }
  }
  return s;
}

int countId(const HeadParser& p, HeaderId id) {
  int n = 0;
  for (size_t i = 0; i < p.headerCount(); ++i) n += p.header(i).id == id;
  return n;
}

int countEndToEnd(const HeadParser& p, HeaderId id) {
  int n = 0;
  for (size_t i = 0; i < p.headerCount(); ++i) n += p.header(i).id == id && !p.header(i).hop_by_hop;
  return n;
}

const net::HeaderField* firstEndToEnd(const HeadParser& p, HeaderId id) {
  for (size_t i = 0; i < p.headerCount(); ++i) {
    if (p.header(i).id == id && !p.header(i).hop_by_hop) return &p.header(i);
  }
  return nullptr;
}

// The fields passed through verbatim: everything but the ones the rewrite owns.
std::vector<std::pair<std::string_view, std::string_view>> passedThrough(const HeadParser& p,
                                                                          bool skip_hop) {
  std::vector<std::pair<std::string_view, std::string_view>> v;
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (skip_hop && f.hop_by_hop) continue;
    switch (f.id) {
      case HeaderId::kHost:
      case HeaderId::kXForwardedFor:
      case HeaderId::kXRequestId:
      case HeaderId::kContentLength:
      case HeaderId::kTransferEncoding:
      case HeaderId::kExpect:
        continue;
      default:
        v.emplace_back(f.name, f.value);
    }
  }
  return v;
}

// Checks every property of the upstream head written for an accepted client head.
void checkUpstreamHead(const HeadParser& in, const std::string& client_head) {
  SCOPED_TRACE(client_head);
  Random random(kSeed), reference(kSeed);
  std::string out;
  writeUpstreamHead(in, kClient, random, out);
  // The strict parser accepts it (Host is required only when the client had one: H5).
  auto up = parseAs(HeadParser::Kind::kRequest, out,
                    net::ParseLimits{.require_host = !in.host().empty()});
  ASSERT_NE(up, nullptr) << "the upstream head does not parse:\n" << out;
  const HeadParser& p = up->parser;
  // Request line: same method, HTTP/1.1, origin-form (or '*').
  EXPECT_EQ(p.method(), in.method());
  EXPECT_EQ(p.versionMinor(), 1);
  EXPECT_NE(p.targetForm(), net::TargetForm::kAbsolute);
  if (in.targetForm() != net::TargetForm::kAbsolute) {
    EXPECT_EQ(p.target(), in.target());
  }
  EXPECT_EQ(p.host(), in.host());
  EXPECT_LE(countId(p, HeaderId::kHost), 1);
  // No hop-by-hop field, no Expect; nothing the client's Connection named.
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    EXPECT_FALSE(f.hop_by_hop && f.id != HeaderId::kTransferEncoding) << f.name;
    EXPECT_NE(f.id, HeaderId::kExpect);
    for (size_t k = 0; k < in.headerCount(); ++k) {
      const net::HeaderField& g = in.header(k);
      if (g.hop_by_hop && g.id == HeaderId::kOther) {
        EXPECT_FALSE(net::equalsIgnoreCase(f.name, g.name));
      }
    }
  }
  for (HeaderId id : {HeaderId::kConnection, HeaderId::kKeepAlive, HeaderId::kProxyConnection,
                      HeaderId::kTe, HeaderId::kTrailer, HeaderId::kUpgrade}) {
    EXPECT_EQ(countId(p, id), 0);
  }
  // Framing unchanged, written once.
  EXPECT_EQ(p.framing(), in.framing());
  EXPECT_EQ(p.contentLength(), in.contentLength());
  EXPECT_EQ(countId(p, HeaderId::kContentLength),
            static_cast<int>(in.framing() == BodyFraming::kContentLength));
  EXPECT_EQ(countId(p, HeaderId::kTransferEncoding),
            static_cast<int>(in.framing() == BodyFraming::kChunked));
  // Exactly one X-Forwarded-For, the client address last.
  ASSERT_EQ(countId(p, HeaderId::kXForwardedFor), 1) << out;
  std::string_view xff = p.find(HeaderId::kXForwardedFor)->value;
  if (const net::HeaderField* f = firstEndToEnd(in, HeaderId::kXForwardedFor)) {
    EXPECT_EQ(xff, std::string(f->value) + ", " + std::string(kClient));
  } else {
    EXPECT_EQ(xff, kClient);
  }
  // X-Request-Id: the client's, or exactly one generated (two random values drawn).
  const int ids = countEndToEnd(in, HeaderId::kXRequestId);
  EXPECT_EQ(countId(p, HeaderId::kXRequestId), std::max(ids, 1));
  if (ids == 0) {
    EXPECT_EQ(p.find(HeaderId::kXRequestId)->value, firstId());
    reference.next();
    reference.next();
  }
  EXPECT_EQ(random.next(), reference.next());
  // Every other end-to-end field verbatim and in order.
  EXPECT_EQ(passedThrough(p, false), passedThrough(in, true));
}

TEST(HeadRewrite, PropertyRandomHeads) {
  Random r(20240611);
  int accepted = 0, generated = 0, several_ids = 0, absolute = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string head = randomRequestHead(r);
    ++generated;
    auto in = parseAs(HeadParser::Kind::kRequest, head, gatewayLimits());
    if (!in) continue;
    ++accepted;
    several_ids += countEndToEnd(in->parser, HeaderId::kXRequestId) > 1;
    absolute += in->parser.targetForm() == net::TargetForm::kAbsolute;
    checkUpstreamHead(in->parser, head);
    if (::testing::Test::HasFailure()) break;
  }
  // The generator reaches the rules (a property over rejected heads only would prove nothing).
  EXPECT_GT(accepted, generated / 3);
  EXPECT_GT(several_ids, 100);
  EXPECT_GT(absolute, 500);
}

TEST(HeadRewrite, PropertyMutatedHeads) {
  Random r(7);
  int accepted = 0, mutated = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string head = randomRequestHead(r);
    if (!parseAs(HeadParser::Kind::kRequest, head, gatewayLimits())) continue;
    std::string m = mutate(r, head);
    if (m == head) continue;
    ++mutated;
    auto in = parseAs(HeadParser::Kind::kRequest, m, gatewayLimits());
    if (!in) continue;
    ++accepted;
    checkUpstreamHead(in->parser, m);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(accepted, mutated / 20);
}

TEST(HeadRewrite, PropertyRandomResponses) {
  // Whatever upstream response head the parser accepts, the client gets one it accepts, without
  // hop-by-hop fields other than the framing, with the same status and a consistent framing.
  static const std::string_view kStatus[] = {"200 OK", "201 ", "204 No Content", "304 Not Modified",
                                             "404 Not Found", "500 Oops", "503 "};
  static const std::string_view kFields[] = {
      "Content-Type: application/json", "Connection: close", "Connection: keep-alive, X-Hop",
      "X-Hop: 1", "Keep-Alive: timeout=5", "Transfer-Encoding: chunked",
      "Transfer-Encoding: gzip", "Content-Length: 12", "Content-Length: 0", "Trailer: X-Sum",
      "Set-Cookie: a=b", "Upgrade: h2c", "Server: s", "X-Request-Id: t"};
  Random r(99);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string h = std::string(r.uniform(6) == 0 ? "HTTP/1.0 " : "HTTP/1.1 ") +
                     std::string(pick(r, kStatus)) + "\r\n";
    for (uint64_t k = 0, n = r.uniform(7); k < n; ++k) h += std::string(pick(r, kFields)) + "\r\n";
    h += "\r\n";
    const bool was_head = r.uniform(8) == 0;
    auto in = parseAs(HeadParser::Kind::kResponse, h, {}, was_head);
    if (!in) continue;
    ++accepted;
    SCOPED_TRACE(h);
    const int minor = static_cast<int>(r.uniform(2));
    const bool keep_alive = r.uniform(4) != 0;
    std::string out;
    ClientResponseHead res = writeClientResponseHead(in->parser, minor, keep_alive, out);
    auto o = parseAs(HeadParser::Kind::kResponse, out, {}, was_head);
    ASSERT_NE(o, nullptr) << out;
    const HeadParser& p = o->parser;
    EXPECT_EQ(p.status(), in->parser.status());
    EXPECT_EQ(res.keep_alive, p.keepAlive());
    EXPECT_TRUE(!res.keep_alive || keep_alive);
    for (size_t k = 0; k < p.headerCount(); ++k) {
      const net::HeaderField& f = p.header(k);
      if (f.id == HeaderId::kConnection) {
        EXPECT_TRUE(f.value == "close" || f.value == "keep-alive") << f.value;
      } else {
        EXPECT_TRUE(!f.hop_by_hop || f.id == HeaderId::kTransferEncoding) << f.name;
      }
    }
    if (res.dechunk) {
      EXPECT_EQ(in->parser.framing(), BodyFraming::kChunked);
      EXPECT_FALSE(res.keep_alive);
      EXPECT_EQ(countId(p, HeaderId::kTransferEncoding), 0);
      EXPECT_EQ(countId(p, HeaderId::kContentLength), 0);
    } else {
      EXPECT_EQ(p.framing(), in->parser.framing());
      EXPECT_EQ(p.contentLength(), in->parser.contentLength());
    }
    if (in->parser.framing() == BodyFraming::kUntilClose) {
      EXPECT_FALSE(res.keep_alive);
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(accepted, 5000);
}

// ---- no allocation on the hot path ---------------------------------------------------------------

TEST(HeadRewrite, NoAllocationOnceTheBufferHasGrown) {
  const std::string req =
      "POST /v2/models/resnet50/infer HTTP/1.1\r\nHost: gateway.internal:8080\r\n"
      "User-Agent: python-requests/2.31.0\r\nConnection: keep-alive\r\nContent-Length: 1532\r\n"
      "X-Session-Id: user-1234567890\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n";
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 412\r\n"
      "Connection: keep-alive\r\n\r\n";
  auto in = parseAs(HeadParser::Kind::kRequest, req, gatewayLimits());
  auto rs = parseAs(HeadParser::Kind::kResponse, resp, {});
  ASSERT_TRUE(in && rs);
  Random random(1);
  std::string up, down;
  up.reserve(2048);  // as the proxy's session does
  down.reserve(1024);
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 0; i < 100; ++i) {
    writeUpstreamHead(in->parser, kClient, random, up);
    writeClientResponseHead(rs->parser, 1, true, down);
  }
  g_count_allocs = false;
  EXPECT_EQ(g_allocs.load(), 0);
  // The counter works: a fresh string does allocate.
  g_count_allocs = true;
  std::string fresh;
  writeUpstreamHead(in->parser, kClient, random, fresh);
  g_count_allocs = false;
  EXPECT_GT(g_allocs.load(), 0);
}

}  // namespace
}  // namespace surge::gateway
