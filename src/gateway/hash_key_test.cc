// hash_key.h: one row per rule (header, query, cookie, absent/empty), on heads parsed by the strict
// parser as the proxy parses them.
#include "gateway/hash_key.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/hash.h"

namespace surge::gateway {
namespace {

using net::HeadParser;

struct Parsed {
  std::string bytes;
  HeadParser parser{HeadParser::Kind::kRequest, net::ParseLimits{.require_host = true}};
};

// Parses `head` (which must be valid) into a parser that lives as long as its bytes.
std::unique_ptr<Parsed> parse(std::string head) {
  auto p = std::make_unique<Parsed>();
  p->bytes = std::move(head);
  EXPECT_EQ(p->parser.parse(p->bytes.data(), p->bytes.size()), HeadParser::Status::kDone)
      << p->bytes;
  return p;
}

HashKeySource header(std::string name) { return {HashKeySource::Kind::kHeader, std::move(name)}; }
HashKeySource query(std::string name) { return {HashKeySource::Kind::kQuery, std::move(name)}; }
HashKeySource cookie(std::string name) { return {HashKeySource::Kind::kCookie, std::move(name)}; }

struct Row {
  const char* rule;
  HashKeySource source;
  std::string head;
  std::optional<std::string> value;  // nullopt: no key
};

TEST(HashKey, ConformanceTable) {
  const std::string H = "Host: a\r\n";
  const Row rows[] = {
      // header
      {"header: the value", header("X-Session-Id"),
       "GET / HTTP/1.1\r\n" + H + "X-Session-Id: user-7\r\n\r\n", "user-7"},
      {"header: name case-insensitive", header("X-Session-Id"),
       "GET / HTTP/1.1\r\n" + H + "x-session-ID: user-7\r\n\r\n", "user-7"},
      {"header: value OWS-trimmed by the parser", header("X-Session-Id"),
       "GET / HTTP/1.1\r\n" + H + "X-Session-Id: \t user 7 \t\r\n\r\n", "user 7"},
      {"header: the first of several", header("X-Session-Id"),
       "GET / HTTP/1.1\r\n" + H + "X-Session-Id: one\r\nX-Session-Id: two\r\n\r\n", "one"},
      {"header: absent", header("X-Session-Id"), "GET / HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"header: empty", header("X-Session-Id"),
       "GET / HTTP/1.1\r\n" + H + "X-Session-Id:\r\n\r\n", std::nullopt},
      {"header: any configured name", header("Authorization"),
       "GET / HTTP/1.1\r\n" + H + "Authorization: Bearer t\r\n\r\n", "Bearer t"},
      {"header: a hop-by-hop field still counts (read before the rewrite)", header("Keep-Alive"),
       "GET / HTTP/1.1\r\n" + H + "Keep-Alive: k\r\n\r\n", "k"},
      // query
      {"query: the value", query("session"), "GET /p?session=s1 HTTP/1.1\r\n" + H + "\r\n", "s1"},
      {"query: among others", query("session"),
       "GET /p?a=1&session=s1&b=2 HTTP/1.1\r\n" + H + "\r\n", "s1"},
      {"query: the first of several", query("session"),
       "GET /p?session=s1&session=s2 HTTP/1.1\r\n" + H + "\r\n", "s1"},
      {"query: raw, not percent-decoded", query("session"),
       "GET /p?session=a%20b+c HTTP/1.1\r\n" + H + "\r\n", "a%20b+c"},
      {"query: name case-sensitive", query("session"),
       "GET /p?Session=s1 HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"query: name must match whole", query("session"),
       "GET /p?sessions=s1&xsession=s2 HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"query: value keeps later '='", query("k"), "GET /p?k=a=b HTTP/1.1\r\n" + H + "\r\n",
       "a=b"},
      {"query: bare name is empty: no key", query("session"),
       "GET /p?session&x=1 HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"query: empty value: no key", query("session"),
       "GET /p?session=&x=1 HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"query: empty pairs skipped", query("session"),
       "GET /p?&&session=s1 HTTP/1.1\r\n" + H + "\r\n", "s1"},
      {"query: no query", query("session"), "GET /p HTTP/1.1\r\n" + H + "\r\n", std::nullopt},
      {"query: in an absolute-form target", query("session"),
       "GET http://b.example/p?session=s1 HTTP/1.1\r\n" + H + "\r\n", "s1"},
      {"query: not in a header", query("session"), "GET /p HTTP/1.1\r\n" + H + "session: s1\r\n\r\n",
       std::nullopt},
      // cookie
      {"cookie: the value", cookie("sid"), "GET / HTTP/1.1\r\n" + H + "Cookie: sid=c1\r\n\r\n",
       "c1"},
      {"cookie: among others, leading spaces skipped", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: a=1;  sid=c1; b=2\r\n\r\n", "c1"},
      {"cookie: the first pair of a field", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: sid=c1; sid=c2\r\n\r\n", "c1"},
      {"cookie: later Cookie fields searched", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: a=1\r\nCookie: sid=c2\r\n\r\n", "c2"},
      {"cookie: the first field that has it wins", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: sid=c1\r\nCookie: sid=c2\r\n\r\n", "c1"},
      {"cookie: name case-sensitive", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: SID=c1\r\n\r\n", std::nullopt},
      {"cookie: value verbatim (quotes kept)", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: sid=\"c1\"\r\n\r\n", "\"c1\""},
      {"cookie: pair without '=' skipped", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: sid; sid=c1\r\n\r\n", "c1"},
      {"cookie: empty value: no key", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Cookie: sid=; x=1\r\n\r\n", std::nullopt},
      {"cookie: no Cookie field", cookie("sid"), "GET / HTTP/1.1\r\n" + H + "sid: c1\r\n\r\n",
       std::nullopt},
      {"cookie: not in Set-Cookie", cookie("sid"),
       "GET / HTTP/1.1\r\n" + H + "Set-Cookie: sid=c1\r\n\r\n", std::nullopt},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.rule);
    auto p = parse(r.head);
    std::optional<std::string_view> v = hashKeyValue(r.source, p->parser);
    std::optional<uint64_t> k = hashKey(r.source, p->parser);
    if (r.value) {
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(*v, *r.value);
      ASSERT_TRUE(k.has_value());
      EXPECT_EQ(*k, hash64(*r.value));
    } else {
      EXPECT_FALSE(v.has_value()) << *v;
      EXPECT_FALSE(k.has_value());
    }
  }
}

TEST(HashKey, ValueIsAViewIntoTheHead) {
  auto p = parse("GET /p?session=s1 HTTP/1.1\r\nHost: a\r\nX-Session-Id: u\r\nCookie: c=v\r\n\r\n");
  const char* begin = p->bytes.data();
  const char* end = begin + p->bytes.size();
  for (const HashKeySource& s : {header("X-Session-Id"), query("session"), cookie("c")}) {
    std::optional<std::string_view> v = hashKeyValue(s, p->parser);
    ASSERT_TRUE(v.has_value());
    EXPECT_GE(v->data(), begin);
    EXPECT_LE(v->data() + v->size(), end);
  }
}

TEST(HashKey, SameValueSameKeyWhateverTheSource) {
  // The balancer sees only the hash: a session keeps its host when the key moves from a header
  // to a cookie in the configuration.
  auto a = parse("GET / HTTP/1.1\r\nHost: a\r\nX-Session-Id: user-7\r\n\r\n");
  auto b = parse("GET / HTTP/1.1\r\nHost: a\r\nCookie: sid=user-7\r\n\r\n");
  auto c = parse("GET /?sid=user-7 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(hashKey(header("X-Session-Id"), a->parser), hashKey(cookie("sid"), b->parser));
  EXPECT_EQ(hashKey(cookie("sid"), b->parser), hashKey(query("sid"), c->parser));
  auto d = parse("GET / HTTP/1.1\r\nHost: a\r\nX-Session-Id: user-8\r\n\r\n");
  EXPECT_NE(hashKey(header("X-Session-Id"), a->parser), hashKey(header("X-Session-Id"), d->parser));
}

TEST(HashKey, RawHelpers) {
  EXPECT_EQ(rawQueryParam("/p?a=1&b=2", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(rawQueryParam("/p?a=1&b", "b"), std::optional<std::string_view>(""));
  EXPECT_EQ(rawQueryParam("/p?", "a"), std::nullopt);
  EXPECT_EQ(rawQueryParam("/p?a=1&", "b"), std::nullopt);
  EXPECT_EQ(rawQueryParam("/p", "p"), std::nullopt);
  EXPECT_EQ(rawQueryParam("/p?x=1?a=2", "a"), std::nullopt);  // only the first '?' starts it
  EXPECT_EQ(rawQueryParam("/p?x=1?a=2", "x"), std::optional<std::string_view>("1?a=2"));
  EXPECT_EQ(cookieValue("a=1; b=2", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(cookieValue("a=1;b=2", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(cookieValue("", "a"), std::nullopt);
  EXPECT_EQ(cookieValue("a", "a"), std::nullopt);
  EXPECT_EQ(cookieValue("a=", "a"), std::optional<std::string_view>(""));
  EXPECT_EQ(cookieValue("a=1; ", "b"), std::nullopt);
}

}  // namespace
}  // namespace surge::gateway
