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

TEST(HeadParserTest, BareLfAndLeadingEmptyLines) {
  HeadParser p(HeadParser::Kind::kRequest);
  std::string req = "\r\nGET / HTTP/1.1\nHost: x\n\n";
  ASSERT_EQ(parseAll(p, req), Status::kDone);
  EXPECT_EQ(p.headSize(), req.size());
  EXPECT_EQ(p.target(), "/");
  EXPECT_EQ(p.header(0).value, "x");
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

  HeadParser same(HeadParser::Kind::kRequest);
  ASSERT_EQ(parseAll(same, "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
            Status::kDone);
  EXPECT_EQ(same.contentLength(), 5u);

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
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", false,
       BodyFraming::kChunked, true},
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

TEST(BodyDecoderTest, ChunkedUppercaseHexAndBareLf) {
  std::string wire = "A\nabcdefghij\n0\n\n";
  EXPECT_EQ(decodeSplit(BodyFraming::kChunked, 0, wire, {}), "abcdefghij");
}

TEST(BodyDecoderTest, ChunkedErrors) {
  const char* bad[] = {"x\r\n",    "5\r\nhelloXX",       "\r\n",
                       "5\rX",     "0\r\n: bad\r\n\r\n", "1234567890123456\r\n",
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

}  // namespace
}  // namespace surge::net
