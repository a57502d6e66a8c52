#include "net/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"

namespace surge::net {
namespace {

using Status = HeadParser::Status;

HeadParser::Status parseAll(HeadParser& p, std::string_view s) {
  return p.parse(s.data(), s.size());
}

TEST(HeadParserTest, SimpleGet) {
  HeadParser p(HeadParser::Kind::kRequest);
  std::string req = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Session-Id:  abc \r\n\r\n";
  ASSERT_EQ(parseAll(p, req), Status::kDone);
  EXPECT_EQ(p.headSize(), req.size());
  EXPECT_EQ(p.method(), "GET");
  EXPECT_EQ(p.target(), "/a?b=1");
  EXPECT_EQ(p.versionMinor(), 1);
  ASSERT_EQ(p.headerCount(), 2u);
  EXPECT_EQ(p.header(0).name, "Host");
  EXPECT_EQ(p.header(0).id, HeaderId::kHost);
  EXPECT_EQ(p.header(1).value, "abc");
  EXPECT_EQ(p.find("x-session-id")->value, "abc");
  EXPECT_EQ(p.find("missing"), nullptr);
  EXPECT_EQ(p.framing(), BodyFraming::kNone);
  EXPECT_TRUE(p.keepAlive());
}

TEST(HeadParserTest, LeadingEmptyLinesAndBareLfInResponses) {
  HeadParser p(HeadParser::Kind::kRequest);
  std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(parseAll(p, req), Status::kDone);
  EXPECT_EQ(p.headSize(), req.size());
  EXPECT_EQ(p.target(), "/");
  EXPECT_EQ(p.header(0).value, "x");
  // Responses may end lines with a bare LF (RFC 9112 §2.2); requests may not (rule L1).
  HeadParser r(HeadParser::Kind::kResponse);
  ASSERT_EQ(parseAll(r, "HTTP/1.1 200 OK\nContent-Length: 1\n\n"), Status::kDone);
  EXPECT_EQ(r.contentLength(), 1u);
}

TEST(HeadParserTest, IncompleteThenComplete) {
  HeadParser p(HeadParser::Kind::kRequest);
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(parseAll(p, req), Status::kIncomplete);
  req += "\r";
  EXPECT_EQ(parseAll(p, req), Status::kIncomplete);
  req += "\nBODY";
  ASSERT_EQ(parseAll(p, req), Status::kDone);
  EXPECT_EQ(p.headSize(), req.size() - 4);
}

TEST(HeadParserTest, KeepAliveRules) {
  struct Case {
    const char* req;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    HeadParser p(HeadParser::Kind::kRequest);
    ASSERT_EQ(parseAll(p, c.req), Status::kDone) << c.req;
    EXPECT_EQ(p.keepAlive(), c.keep_alive) << c.req;
  }
}

TEST(HeadParserTest, HopByHopIncludesConnectionTokens) {
  HeadParser p(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(p,
                     "GET / HTTP/1.1\r\nConnection: X-Private, keep-alive\r\nX-Private: 1\r\n"
                     "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-Public: 2\r\n"
                     "Upgrade: websocket\r\n\r\n"),
            Status::kDone);
  std::vector<std::string> kept;
  for (size_t i = 0; i < p.headerCount(); ++i) {
    if (!p.header(i).hop_by_hop) kept.emplace_back(p.header(i).name);
  }
  EXPECT_EQ(kept, std::vector<std::string>{"X-Public"});
  EXPECT_FALSE(p.upgrade());  // Upgrade without "Connection: upgrade"
}

TEST(HeadParserTest, ContentLengthFraming) {
  HeadParser p(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(p, "POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), Status::kDone);
  EXPECT_EQ(p.framing(), BodyFraming::kContentLength);
  EXPECT_EQ(p.contentLength(), 12u);

  HeadParser leading_zeros(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(leading_zeros, "POST / HTTP/1.1\r\nContent-Length: 0012\r\n\r\n"),
            Status::kDone);
  EXPECT_EQ(leading_zeros.contentLength(), 12u);

  HeadParser zero(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(zero, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), Status::kDone);
  EXPECT_EQ(zero.framing(), BodyFraming::kNone);
}

TEST(HeadParserTest, MalformedRequestsAre400) {
  const char* bad[] = {
      "GET  / HTTP/1.1\r\n\r\n",                        // double space
      "GET /\r\n\r\n",                                  // no version
      "GET / HTTP/1.1 \r\n\r\n",                        // trailing space
      "G(T / HTTP/1.1\r\n\r\n",                         // bad method char
      "GET /a b HTTP/1.1\r\n\r\n",                      // space in target
      "GET / HTXP/1.1\r\n\r\n",                         // bad protocol
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",             // whitespace before colon
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",   // obs-fold
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",              // no colon
      "GET / HTTP/1.1\r\n: empty\r\n\r\n",              // empty name
      "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",            // control character
      "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",              // bare CR in value
      "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",  // bad CL
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",  // negative CL
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",  // conflicting CL
      "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n",                    // conflicting list
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",    // overflow
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",  // CL+TE
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",     // final coding not chunked
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",  // TE in 1.0
  };
  for (const char* req : bad) {
    HeadParser p(HeadParser::Kind::kRequest);
    ASSERT_EQ(parseAll(p, req), Status::kError) << req;
    EXPECT_EQ(statusForError(p.error()), 400) << req;
    // Stays failed.
    EXPECT_EQ(parseAll(p, req), Status::kError);
  }
}

TEST(HeadParserTest, ErrorStatuses) {
  HeadParser v(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(v, "GET / HTTP/2.0\r\n\r\n"), Status::kError);
  EXPECT_EQ(statusForError(v.error()), 505);

  ParseLimits limits;
  limits.max_body_bytes = 100;
  HeadParser big(HeadParser::Kind::kRequest, limits);
  ASSERT_EQ(parseAll(big, "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"), Status::kError);
  EXPECT_EQ(statusForError(big.error()), 413);
}

TEST(HeadParserTest, HeadTooLargeIs431) {
  ParseLimits limits;
  limits.max_head_bytes = 1024;
  HeadParser p(HeadParser::Kind::kRequest, limits);
  std::string req = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a');
  EXPECT_EQ(parseAll(p, req), Status::kError);
  EXPECT_EQ(statusForError(p.error()), 431);

  // Just under the limit is fine.
  HeadParser ok(HeadParser::Kind::kRequest, limits);
  std::string small = "GET / HTTP/1.1\r\nX: " + std::string(1024 - 24, 'a') + "\r\n\r\n";
  ASSERT_LE(small.size(), 1024u);
  EXPECT_EQ(parseAll(ok, small), Status::kDone);

  // Too many fields.
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= HeadParser::kMaxHeaders; ++i) many += "A: b\r\n";
  many += "\r\n";
  HeadParser m(HeadParser::Kind::kRequest);
  EXPECT_EQ(parseAll(m, many), Status::kError);
  EXPECT_EQ(statusForError(m.error()), 431);
}

TEST(HeadParserTest, ResponseFraming) {
  struct Case {
    const char* resp;
    bool head;
    BodyFraming framing;
    bool keep_alive;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false, BodyFraming::kContentLength, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, BodyFraming::kNone, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, BodyFraming::kChunked, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
       BodyFraming::kChunked, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false,
       BodyFraming::kUntilClose, false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, BodyFraming::kUntilClose,
       false},
      {"HTTP/1.1 200 OK\r\n\r\n", false, BodyFraming::kUntilClose, false},
      {"HTTP/1.1 204 No Content\r\n\r\n", false, BodyFraming::kNone, true},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, BodyFraming::kNone, true},
      {"HTTP/1.1 100 Continue\r\n\r\n", false, BodyFraming::kNone, true},
      {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, BodyFraming::kContentLength, false},
      {"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false, BodyFraming::kContentLength, true},
      {"HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n", false, BodyFraming::kContentLength, true},
  };
  for (const auto& c : cases) {
    HeadParser p(HeadParser::Kind::kResponse);
    p.setRequestWasHead(c.head);
    ASSERT_EQ(parseAll(p, c.resp), Status::kDone) << c.resp;
    EXPECT_EQ(p.framing(), c.framing) << c.resp;
    EXPECT_EQ(p.keepAlive(), c.keep_alive) << c.resp;
  }
  HeadParser p(HeadParser::Kind::kResponse);
  ASSERT_EQ(parseAll(p, "HTTP/1.1 503 Service Unavailable\r\n\r\n"), Status::kDone);
  EXPECT_EQ(p.status(), 503);
  EXPECT_EQ(p.reason(), "Service Unavailable");
}

TEST(HeadParserTest, MalformedResponses) {
  const char* bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                       "HTTP/1.1 abc\r\n\r\n",   "HTTX/1.1 200 OK\r\n\r\n",
                       "HTTP/1.1 099 X\r\n\r\n", "\r\n\r\n"};
  for (const char* r : bad) {
    HeadParser p(HeadParser::Kind::kResponse);
    EXPECT_EQ(parseAll(p, r), Status::kError) << r;
    EXPECT_EQ(statusForError(p.error()), 502) << r;
  }
}

TEST(HeadParserTest, ResetAllowsReuse) {
  HeadParser p(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(p, "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"), Status::kDone);
  EXPECT_FALSE(p.keepAlive());
  p.reset();
  ASSERT_EQ(parseAll(p, "PUT /y HTTP/1.1\r\nContent-Length: 1\r\n\r\n"), Status::kDone);
  EXPECT_EQ(p.method(), "PUT");
  EXPECT_TRUE(p.keepAlive());
  EXPECT_EQ(p.headerCount(), 1u);
}

TEST(HeadParserTest, ByteByByteEqualsWhole) {
  std::string req =
      "POST /v2/models/m/infer?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
      "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\nabc";
  HeadParser p(HeadParser::Kind::kRequest);
  Status s = Status::kIncomplete;
  size_t fed = 0;
  while (s == Status::kIncomplete && fed < req.size()) {
    ++fed;
    s = p.parse(req.data(), fed);
  }
  ASSERT_EQ(s, Status::kDone);
  EXPECT_EQ(p.headSize(), req.size() - 3);
  EXPECT_EQ(fed, req.size() - 3);
  EXPECT_EQ(p.target(), "/v2/models/m/infer?x=1");
  EXPECT_EQ(p.contentLength(), 3u);
  EXPECT_TRUE(p.find("x-drop")->hop_by_hop);
}

// RFC 9110 §7.6.1: Connection names hop-by-hop fields; Host is end-to-end and stays, so
// "Connection: host" cannot smuggle a Host-less request past the gateway's Host rule.
TEST(HeadParserTest, ConnectionCannotMakeHostHopByHop) {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nConnection: host, x-drop\r\nX-Drop: 1\r\n\r\n";
  HeadParser p(HeadParser::Kind::kRequest);
  ASSERT_EQ(p.parse(req.data(), req.size()), Status::kDone);
  EXPECT_FALSE(p.find("host")->hop_by_hop);
  EXPECT_TRUE(p.find("x-drop")->hop_by_hop);
}

TEST(EqualsIgnoreCaseTest, Basics) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-length"));
  EXPECT_FALSE(equalsIgnoreCase("Content-Length", "content-lengt"));
  EXPECT_FALSE(equalsIgnoreCase("a", "b"));
  EXPECT_TRUE(listContainsToken("gzip, Chunked", "chunked"));
  EXPECT_FALSE(listContainsToken("gzip", "chunked"));
}

// ---- bodies -------------------------------------------------------------------------------------

// Decodes `wire` split into pieces at `cuts`; returns the payload, or "ERR" on error.
std::string decodeSplit(BodyFraming framing, uint64_t cl, const std::string& wire,
                        const std::vector<size_t>& cuts, size_t* consumed_total = nullptr,
                        uint64_t max_body = 0) {
  BodyDecoder d;
  d.reset(framing, cl, max_body);
  std::string out;
  size_t pos = 0, total = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(wire.size());
  for (size_t end : ends) {
    std::string_view piece(wire.data() + pos, end - pos);
    while (!piece.empty() && !d.done() && !d.failed()) {
      auto st = d.step(piece);
      out.append(st.data);
      total += st.consumed;
      piece.remove_prefix(st.consumed);
      if (st.consumed == 0) break;
    }
    pos = end;
    if (d.done() || d.failed()) break;
  }
  if (consumed_total) *consumed_total = total;
  if (d.failed()) return "ERR";
  if (!d.done()) return "INCOMPLETE";
  return out;
}

TEST(BodyDecoderTest, ContentLength) {
  size_t consumed = 0;
  EXPECT_EQ(decodeSplit(BodyFraming::kContentLength, 5, "helloNEXT", {}, &consumed), "hello");
  EXPECT_EQ(consumed, 5u);
  EXPECT_EQ(decodeSplit(BodyFraming::kContentLength, 5, "hel", {}), "INCOMPLETE");
}

TEST(BodyDecoderTest, ChunkedWithExtensionsAndTrailers) {
  std::string wire =
      "5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nNEXT";
  size_t consumed = 0;
  EXPECT_EQ(decodeSplit(BodyFraming::kChunked, 0, wire, {}, &consumed), "hello world");
  EXPECT_EQ(consumed, wire.size() - 4);
}

TEST(BodyDecoderTest, ChunkedUppercaseHex) {
  std::string wire = "A\r\nabcdefghij\r\n0\r\n\r\n";
  EXPECT_EQ(decodeSplit(BodyFraming::kChunked, 0, wire, {}), "abcdefghij");
}

TEST(BodyDecoderTest, ChunkedErrors) {
  const char* bad[] = {"x\r\n",    "5\r\nhelloXX",       "\r\n",
                       "5\rX",     "0\r\n: bad\r\n\r\n", "12345678901234567\r\n",
                       "5\x01\r\n"};
  for (const char* w : bad) {
    EXPECT_EQ(decodeSplit(BodyFraming::kChunked, 0, w, {}), "ERR") << w;
  }
}

TEST(BodyDecoderTest, BodyLimit) {
  BodyDecoder d;
  d.reset(BodyFraming::kChunked, 0, 4);
  d.consumeAll("5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(statusForError(d.error()), 413);

  BodyDecoder ok;
  ok.reset(BodyFraming::kChunked, 0, 5);
  EXPECT_EQ(ok.consumeAll("5\r\nhello\r\n0\r\n\r\n"), 15u);
  EXPECT_TRUE(ok.done());
}

TEST(BodyDecoderTest, UntilClose) {
  BodyDecoder d;
  d.reset(BodyFraming::kUntilClose, 0);
  auto s = d.step("abc");
  EXPECT_EQ(s.data, "abc");
  EXPECT_FALSE(d.done());
  d.onEof();
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.payloadBytes(), 3u);
}

TEST(BodyDecoderTest, NoneIsDoneAtOnce) {
  BodyDecoder d;
  d.reset(BodyFraming::kNone, 0);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.consumeAll("GET"), 0u);
}

TEST(BodyDecoderTest, RandomSplitsGiveSamePayload) {
  Random rng(42);
  std::string payload;
  std::string wire;
  for (int c = 0; c < 20; ++c) {
    size_t len = 1 + rng.uniform(300);
    std::string chunk;
    for (size_t i = 0; i < len; ++i) chunk.push_back(static_cast<char>('a' + rng.uniform(26)));
    payload += chunk;
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", len);
    wire += hex;
    if (c % 3 == 0) wire += ";ext=1";
    wire += "\r\n" + chunk + "\r\n";
  }
  wire += "0\r\nTrailer-A: x\r\n\r\n";
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<size_t> cuts;
    size_t ncuts = rng.uniform(10);
    for (size_t k = 0; k < ncuts; ++k) cuts.push_back(rng.uniform(wire.size()));
    std::sort(cuts.begin(), cuts.end());
    size_t consumed = 0;
    ASSERT_EQ(decodeSplit(BodyFraming::kChunked, 0, wire, cuts, &consumed), payload)
        << "trial " << trial;
    EXPECT_EQ(consumed, wire.size());
  }
  // Byte by byte.
  std::vector<size_t> every;
  for (size_t k = 1; k < wire.size(); ++k) every.push_back(k);
  EXPECT_EQ(decodeSplit(BodyFraming::kChunked, 0, wire, every), payload);
}

TEST(HeadParserTest, RandomSplitsOfPipelinedRequests) {
  std::string wire =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
      "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
      "GET /4 HTTP/1.0\r\n\r\n";
  Random rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    // Deliver the wire in random pieces into a growing buffer, parsing as a server would.
    std::string buf;
    size_t delivered = 0, pos = 0;
    std::vector<std::string> targets, bodies;
    HeadParser p(HeadParser::Kind::kRequest);
    BodyDecoder d;
    bool in_body = false;
    std::string body;
    while (pos < wire.size() || delivered < wire.size()) {
      if (delivered < wire.size()) {
        size_t n = 1 + rng.uniform(std::min<size_t>(40, wire.size() - delivered));
        buf.append(wire, delivered, n);
        delivered += n;
      }
      bool progress = true;
      while (progress) {
        progress = false;
        std::string_view avail(buf.data() + pos, buf.size() - pos);
        if (!in_body) {
          auto s = p.parse(avail.data(), avail.size());
          ASSERT_NE(s, Status::kError);
          if (s == Status::kDone) {
            targets.emplace_back(p.target());
            d.reset(p.framing(), p.contentLength());
            pos += p.headSize();
            p.reset();
            in_body = true;
            body.clear();
            progress = true;
          }
        } else {
          if (!avail.empty() && !d.done()) {
            auto st = d.step(avail);
            ASSERT_FALSE(d.failed());
            body.append(st.data);
            pos += st.consumed;
            progress = st.consumed > 0;
          }
          if (d.done()) {
            bodies.push_back(body);
            in_body = false;
            progress = true;
          }
        }
        if (pos == buf.size() && !in_body) break;
      }
      if (delivered == wire.size() && pos == buf.size() && !in_body) break;
    }
    ASSERT_EQ(targets, (std::vector<std::string>{"/1", "/2", "/3", "/4"})) << trial;
    ASSERT_EQ(bodies, (std::vector<std::string>{"", "body", "xyz", ""})) << trial;
  }
}


// ---- edge rules (docs/design/http-edge-rules.md): one test per rule, named by its id ----------

ParseLimits gatewayLimits() {
  ParseLimits l;
  l.max_head_bytes = 4096;
  l.max_body_bytes = 1 << 20;
  l.require_host = true;
  return l;
}

// Parses `req` as the gateway does; returns the error (kNone when the head parsed).
ParseError requestError(std::string_view req, ParseLimits limits = gatewayLimits()) {
  HeadParser p(HeadParser::Kind::kRequest, limits);
  auto st = p.parse(req.data(), req.size());
  if (st == Status::kIncomplete) return ParseError::kNone;
  return st == Status::kDone ? ParseError::kNone : p.error();
}

int requestStatus(std::string_view req) {
  return statusForError(requestError(req));
}

ParseError responseError(std::string_view resp) {
  HeadParser p(HeadParser::Kind::kResponse);
  auto st = p.parse(resp.data(), resp.size());
  return st == Status::kError ? p.error() : ParseError::kNone;
}

TEST(EdgeRules, RL1_MethodIsAToken) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
  EXPECT_EQ(requestStatus("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n"), 200);  // extension method
  EXPECT_EQ(requestError("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GE\x7fT / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
}

TEST(EdgeRules, RL2_SingleSpaceSeparators) {
  for (const char* r : {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
                        "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", "GET /\tHTTP/1.1\r\nHost: a\r\n\r\n",
                        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"}) {
    EXPECT_EQ(requestError(r), ParseError::kBadRequestLine) << r;
  }
}

TEST(EdgeRules, RL3_Http09IsRejected) {
  EXPECT_EQ(requestError("GET /\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
}

TEST(EdgeRules, RL4_VersionSyntax) {
  EXPECT_EQ(requestError("GET / http/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GET / HTTP/1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestStatus("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(requestStatus("GET / HTTP/3.0\r\nHost: a\r\n\r\n"), 505);
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "GET / HTTP/1.7\r\nHost: a\r\n\r\n";  // a later 1.x is served as 1.1
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.versionMinor(), 1);
}

TEST(EdgeRules, RL5_CrlfOnlyInRequestHeads) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\n\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX: 1\rY: 2\r\n\r\n"),
            ParseError::kBadHeader);                                       // bare CR
  EXPECT_EQ(requestError("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
}

TEST(EdgeRules, RL6_TargetCharacters) {
  EXPECT_EQ(requestStatus("GET /a%20b?c=%2F HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
  EXPECT_EQ(requestError("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(requestError("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(requestError("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(requestError("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"),
            ParseError::kBadRequestLine);  // raw UTF-8
  EXPECT_EQ(requestError(std::string_view("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29)),
            ParseError::kBadRequestLine);
}

TEST(EdgeRules, RL7_OriginForm) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "GET /v2/models?x=1 HTTP/1.1\r\nHost: api.example:8080\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.targetForm(), TargetForm::kOrigin);
  EXPECT_EQ(p.pathAndQuery(), "/v2/models?x=1");
  EXPECT_EQ(p.host(), "api.example:8080");
}

TEST(EdgeRules, RL8_AbsoluteForm) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "GET HTTP://Origin.example:81/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.targetForm(), TargetForm::kAbsolute);
  EXPECT_EQ(p.pathAndQuery(), "/p?q=1");
  EXPECT_EQ(p.host(), "Origin.example:81");  // H4: the authority wins over Host
  HeadParser q(HeadParser::Kind::kRequest, gatewayLimits());
  r = "GET https://h?x HTTP/1.1\r\nHost: h\r\n\r\n";
  ASSERT_EQ(q.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(q.pathAndQuery(), "?x");
  EXPECT_EQ(q.host(), "h");
  for (const char* bad : {"GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
                          "GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n",
                          "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n",
                          "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
                          "GET h/p HTTP/1.1\r\nHost: h\r\n\r\n"}) {
    EXPECT_EQ(requestError(bad), ParseError::kBadTarget) << bad;
  }
}

TEST(EdgeRules, RL9_AsteriskFormOnlyWithOptions) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.targetForm(), TargetForm::kAsterisk);
  EXPECT_EQ(requestError("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
}

TEST(EdgeRules, RL10_ConnectAndAuthorityForm) {
  EXPECT_EQ(requestStatus("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"), 501);
  EXPECT_EQ(requestError("GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
}

TEST(EdgeRules, RL11_LongRequestLineIs414) {
  std::string r = "GET /" + std::string(5000, 'a');  // no end of line within the 4 KiB limit
  EXPECT_EQ(requestStatus(r), 414);
  // The same bytes without a method and a space are not a request line at all.
  EXPECT_EQ(requestStatus(std::string(5000, 'a')), 400);
  // A request line that fits, with fields over the limit, is 431 (F5).
  std::string h = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'b');
  EXPECT_EQ(requestStatus(h), 431);
}

TEST(EdgeRules, F1_NoWhitespaceBeforeColon) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX\t: 1\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n"),
            ParseError::kBadHeader);
}

TEST(EdgeRules, F2_ObsFoldIsRejected) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n"),
            ParseError::kBadHeader);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n"), ParseError::kBadHeader);
}

TEST(EdgeRules, F3_NoControlsInValues) {
  EXPECT_EQ(requestError(std::string_view("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 36)),
            ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX: a\x0b b\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \xff\r\n\r\n"), 200);  // obs-text
}

TEST(EdgeRules, F4_FieldNameSyntax) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n"), ParseError::kBadHeader);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"), ParseError::kBadHeader);
}

TEST(EdgeRules, F5_HeadLimits) {
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < HeadParser::kMaxHeaders; ++i) many += "A: b\r\n";
  many += "\r\n";
  EXPECT_EQ(requestStatus(many), 431);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(4096, 'x') + "\r\n\r\n";
  EXPECT_EQ(requestStatus(big), 431);
}

TEST(EdgeRules, F6_LeadingCrlfSkipped) {
  EXPECT_EQ(requestStatus("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
}

TEST(EdgeRules, H1_Http11NeedsHost) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\n\r\n"), ParseError::kBadHost);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n\r\n"), 400);
  // The control-plane server leaves require_host off.
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\n\r\n", ParseLimits{}), ParseError::kNone);
}

TEST(EdgeRules, H2_OneHostOnly) {
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), ParseError::kBadHost);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), ParseError::kBadHost);
  EXPECT_EQ(requestError("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), ParseError::kBadHost);
  EXPECT_EQ(requestError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ParseLimits{}),
            ParseError::kBadHost);
}

TEST(EdgeRules, H3_HostSyntax) {
  for (const char* ok : {"a", "a.example", "a.example:8080", "127.0.0.1:1", "[::1]:80",
                         "[2001:db8::7]", "[v1.fe80::a+en1]", "a-b_c~d.%41", "a:", "xn--bcher-kva"}) {
    EXPECT_TRUE(isValidAuthority(ok)) << ok;
    std::string r = std::string("GET / HTTP/1.1\r\nHost: ") + ok + "\r\n\r\n";
    EXPECT_EQ(requestStatus(r), 200) << ok;
  }
  for (const char* bad : {"", "a b", "u@a", "u:p@a", "a:port", "a:65536", "a:123456", "a/b",
                          "[::1", "[zz::1]", "[1]", "a%4", "a\\b", "a\"", ":80", "a:80:81",
                          "a?b", "a#b"}) {
    EXPECT_FALSE(isValidAuthority(bad)) << bad;
    std::string r = std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n";
    EXPECT_EQ(requestError(r), ParseError::kBadHost)
        << bad;
  }
}

TEST(EdgeRules, H4_AbsoluteFormAuthorityWinsButHostIsStillChecked) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "GET http://target/x HTTP/1.1\r\nHost: field\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.host(), "target");
  EXPECT_EQ(requestError("GET http://target/x HTTP/1.1\r\n\r\n"), ParseError::kBadHost);
  EXPECT_EQ(requestError("GET http://target/x HTTP/1.1\r\nHost: a b\r\n\r\n"),
            ParseError::kBadHost);
}

TEST(EdgeRules, H5_Http10WithoutHost) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_EQ(p.host(), "");
}

TEST(EdgeRules, C1_ContentLengthDigitsOnly) {
  for (const char* v : {"1x", "-1", "+1", " ", "1 2", "0x10", "1.0", "99999999999999999999"}) {
    std::string r = std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + v + "\r\n\r\n";
    EXPECT_EQ(requestError(r), ParseError::kBadContentLength) << v;
  }
  EXPECT_EQ(requestError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
            ParseError::kBadContentLength);
}

TEST(EdgeRules, C2_ContentLengthOnce) {
  for (const char* r : {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3,4\r\n\r\n"}) {
    EXPECT_EQ(requestError(r), ParseError::kBadContentLength) << r;
  }
}

TEST(EdgeRules, C3_ContentLengthOverTheBodyLimit) {
  EXPECT_EQ(requestStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n"), 413);
  EXPECT_EQ(requestStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n"),
            413);
}

TEST(EdgeRules, T1_TransferEncodingWithContentLength) {
  EXPECT_EQ(requestError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Length: 3\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(requestError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

TEST(EdgeRules, T2_TransferEncodingInHttp10) {
  EXPECT_EQ(requestError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

TEST(EdgeRules, T3_FinalCodingMustBeChunked) {
  for (const char* te : {"gzip", "chunked, gzip", "identity", "foo"}) {
    std::string r = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n";
    EXPECT_EQ(requestStatus(r), 400) << te;
  }
}

TEST(EdgeRules, T4_ChunkedOnlyOnce) {
  EXPECT_EQ(requestError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(requestError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

TEST(EdgeRules, T5_CodingListSyntax) {
  for (const char* te : {"", ",chunked", "chunked,", "chunked;q=1", "\"chunked\"", "chun ked",
                         "chunked\t,"}) {
    std::string r = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n";
    EXPECT_EQ(requestError(r), ParseError::kBadTransferEncoding) << te;
  }
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  CHUNKED \r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);  // case-insensitive, OWS trimmed
  EXPECT_EQ(p.framing(), BodyFraming::kChunked);
}

TEST(EdgeRules, T6_UnimplementedCodingIs501) {
  for (const char* te : {"gzip, chunked", "x-custom, chunked", "deflate,chunked"}) {
    std::string r = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n";
    EXPECT_EQ(requestError(r), ParseError::kUnsupportedCoding) << te;
    EXPECT_EQ(requestStatus(r), 501) << te;
  }
}

TEST(EdgeRules, E2_UnknownExpectationIs417) {
  EXPECT_EQ(requestStatus("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                          "Content-Length: 1\r\n\r\n"),
            200);
  for (const char* e : {"Expect: 200-ok", "Expect: 100-continue, foo",
                        "Expect: 100-continue\r\nExpect: 100-continue"}) {
    std::string r = std::string("POST / HTTP/1.1\r\nHost: a\r\n") + e + "\r\nContent-Length: 1\r\n\r\n";
    EXPECT_EQ(requestStatus(r), 417) << e;
  }
}

TEST(EdgeRules, E3_Http10IgnoresContinue) {
  HeadParser p(HeadParser::Kind::kRequest, gatewayLimits());
  std::string_view r = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  ASSERT_EQ(p.parse(r.data(), r.size()), Status::kDone);
  EXPECT_FALSE(p.expectContinue());
  HeadParser q(HeadParser::Kind::kRequest, gatewayLimits());
  r = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
  ASSERT_EQ(q.parse(r.data(), r.size()), Status::kDone);
  EXPECT_TRUE(q.expectContinue());
}

TEST(EdgeRules, S1_StatusLine) {
  for (const char* r : {"HTTP/1.1 600 X\r\n\r\n", "HTTP/1.1 99 X\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
                        "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "ICY 200 OK\r\n\r\n"}) {
    EXPECT_EQ(responseError(r), ParseError::kBadStatusLine) << r;
  }
}

TEST(EdgeRules, S2_ResponseTransferEncodingWithContentLength) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

TEST(EdgeRules, S3_ResponseTransferEncodingInHttp10) {
  EXPECT_EQ(responseError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

TEST(EdgeRules, S4_ResponseContentLength) {
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"),
            ParseError::kBadContentLength);
  EXPECT_EQ(responseError("HTTP/1.1 200 OK\r\nContent-Length: 4x\r\n\r\n"),
            ParseError::kBadContentLength);
}

// ---- chunked framing rules ----------------------------------------------------------------------

std::string decodeChunked(const std::string& wire, uint64_t max_body = 0) {
  return decodeSplit(BodyFraming::kChunked, 0, wire, {}, nullptr, max_body);
}

TEST(EdgeRules, K1_ChunkSizeSyntax) {
  for (const char* w : {"\r\n", " 5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n0\r\n\r\n",
                        "0x5\r\nhello\r\n0\r\n\r\n", "-5\r\n", "g\r\n",
                        "00000000000000005\r\nhello\r\n0\r\n\r\n",  // 17 digits
                        "fffffffffffffffff\r\n"}) {
    EXPECT_EQ(decodeChunked(w), "ERR") << w;
  }
  EXPECT_EQ(decodeChunked("0000000000000005\r\nhello\r\n0\r\n\r\n"), "hello");  // 16 digits
  // The largest 16-digit size does not overflow; the body limit applies to it.
  EXPECT_EQ(decodeChunked("ffffffffffffffff\r\n", 1 << 20), "ERR");
}

TEST(EdgeRules, K2_SizeLineEndsWithCrlf) {
  for (const char* w : {"5\nhello\r\n0\r\n\r\n", "5\rhello\r\n0\r\n\r\n", "5;a\nhello\r\n0\r\n\r\n",
                        "5;a=\"b\"\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\n\r\n"}) {
    EXPECT_EQ(decodeChunked(w), "ERR") << w;
  }
}

TEST(EdgeRules, K3_ChunkExtensionGrammar) {
  for (const char* ok : {"5;a\r\nhello\r\n0\r\n\r\n", "5;a=b\r\nhello\r\n0\r\n\r\n",
                         "5 ; a = b ;c\r\nhello\r\n0\r\n\r\n", "5;a=\"x y\\\"z\"\r\nhello\r\n0\r\n\r\n",
                         "5\t;a\r\nhello\r\n0;last=1\r\n\r\n"}) {
    EXPECT_EQ(decodeChunked(ok), "hello") << ok;
  }
  for (const char* bad : {"5;\r\nhello\r\n0\r\n\r\n", "5 \r\nhello\r\n0\r\n\r\n",
                          "5;a \r\nhello\r\n0\r\n\r\n", "5;a=\r\nhello\r\n0\r\n\r\n",
                          "5;=b\r\nhello\r\n0\r\n\r\n", "5;a=b c\r\nhello\r\n0\r\n\r\n",
                          "5;a=\"b\r\nhello\r\n0\r\n\r\n", "5;a\x01\r\nhello\r\n0\r\n\r\n",
                          "5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", "5x\r\nhello\r\n0\r\n\r\n"}) {
    EXPECT_EQ(decodeChunked(bad), "ERR") << bad;
  }
}

TEST(EdgeRules, K4_CrlfAfterData) {
  for (const char* w : {"5\r\nhello\n0\r\n\r\n", "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\r0\r\n\r\n",
                        "5\r\nhello0\r\n\r\n"}) {
    EXPECT_EQ(decodeChunked(w), "ERR") << w;
  }
}

TEST(EdgeRules, K5_TrailerSection) {
  EXPECT_EQ(decodeChunked("5\r\nhello\r\n0\r\nA: 1\r\nB-c: x y\r\n\r\n"), "hello");
  for (const char* w : {"5\r\nhello\r\n0\r\nA: 1\n\r\n", "5\r\nhello\r\n0\r\nA : 1\r\n\r\n",
                        "5\r\nhello\r\n0\r\nA: 1\r\n 2\r\n\r\n", "5\r\nhello\r\n0\r\nNoColon\r\n\r\n",
                        "5\r\nhello\r\n0\r\n: v\r\n\r\n", "5\r\nhello\r\n0\r\nA: \x01\r\n\r\n",
                        "5\r\nhello\r\n0\r\n\n", "5\r\nhello\r\n0\r\n\rX"}) {
    EXPECT_EQ(decodeChunked(w), "ERR") << w;
  }
}

TEST(EdgeRules, K6_FramingLimits) {
  std::string long_ext = "5;a=" + std::string(5000, 'b') + "\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(decodeChunked(long_ext), "ERR");
  std::string long_trailer = "5\r\nhello\r\n0\r\n";
  for (int i = 0; i < 1000; ++i) long_trailer += "X-Trailer: " + std::string(60, 'v') + "\r\n";
  long_trailer += "\r\n";
  EXPECT_EQ(decodeChunked(long_trailer), "ERR");
  BodyDecoder d;
  d.reset(BodyFraming::kChunked, 0, 4);
  d.consumeAll("5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(statusForError(d.error()), 413);
}

// Re-framed output: canonical sizes, no extensions or trailers, CRLF only; it re-parses to the
// same payload whatever the input split.
TEST(EdgeRules, K7_ReframeIsCanonical) {
  std::string wire = "5;ext=\"x\"\r\nhello\r\n0006 ; y\r\n world\r\n0;z\r\nT: 1\r\n\r\nNEXT";
  BodyDecoder d;
  d.reset(BodyFraming::kChunked, 0);
  std::string out;
  size_t n = d.reframe(wire, &out);
  EXPECT_EQ(n, wire.size() - 4);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(out, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(d.reframe("more", &out), 0u);  // the last chunk is written once
  EXPECT_EQ(out, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");

  Random rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    BodyDecoder s;
    s.reset(BodyFraming::kChunked, 0);
    std::string re;
    size_t pos = 0;
    while (pos < wire.size() - 4 && !s.failed()) {
      size_t len = 1 + rng.uniform(8);
      len = std::min(len, wire.size() - 4 - pos);
      pos += s.reframe(std::string_view(wire).substr(pos, len), &re);
    }
    ASSERT_TRUE(s.done());
    EXPECT_EQ(decodeChunked(re), "hello world") << re;
    EXPECT_EQ(re.find(';'), std::string::npos);
    EXPECT_EQ(re.find("T:"), std::string::npos);
  }
  // Content-Length bodies pass verbatim.
  BodyDecoder cl;
  cl.reset(BodyFraming::kContentLength, 3);
  std::string o;
  EXPECT_EQ(cl.reframe("abcdef", &o), 3u);
  EXPECT_EQ(o, "abc");
}

TEST(EdgeRules, K8_ErrorKeepsTheValidPrefixOnly) {
  BodyDecoder d;
  d.reset(BodyFraming::kChunked, 0);
  std::string out;
  d.reframe("3\r\nabc\r\n3\nxyz\r\n0\r\n\r\n", &out);
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(out, "3\r\nabc\r\n");  // never a last chunk after an error
}
}  // namespace
}  // namespace surge::net
