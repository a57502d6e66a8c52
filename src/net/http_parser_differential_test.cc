// Differential test: surge's HTTP/1.1 parser (HeadParser + BodyDecoder, with the gateway's limits)
// against Boost.Beast's parser (boost/beast/http/parser.hpp, Boost 1.74) over the committed fuzz
// corpora (fuzz/corpus/http_request_head, http_response_head, http_body) and the edge-rule cases
// below. For every input both parsers give an outcome (message accepted with its payload,
// rejected, or incomplete). Where they differ, the difference must be listed in kExpected, which
// names the rule surge follows (docs/design/http-edge-rules.md) and why Beast differs; any other
// disagreement fails the test. The test also fails when an entry of kExpected is never used, so
// the table cannot rot.
#include <utility>  // before Asio/Beast (Boost 1.74, docs/design/foundation.md)

#include <gtest/gtest.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "net/http_parser.h"

namespace surge::net {
namespace {

namespace http = boost::beast::http;

constexpr size_t kHeadLimit = 4096;
constexpr uint64_t kBodyLimit = 65536;

enum class Kind { kOk, kError, kIncomplete };

const char* kindName(Kind k) {
  return k == Kind::kOk ? "ok" : k == Kind::kError ? "error" : "incomplete";
}

struct Outcome {
  Kind kind = Kind::kIncomplete;
  std::string body;  // payload when kOk
  ParseError error = ParseError::kNone;  // surge only
  std::string beast_error;              // Beast only
};

Outcome surgeParse(std::string_view in, bool request) {
  ParseLimits limits;
  limits.max_head_bytes = kHeadLimit;
  limits.max_body_bytes = request ? kBodyLimit : 0;
  limits.require_host = true;  // the gateway's setting
  HeadParser p(request ? HeadParser::Kind::kRequest : HeadParser::Kind::kResponse, limits);
  Outcome o;
  auto st = p.parse(in.data(), in.size());
  if (st == HeadParser::Status::kError) {
    o.kind = Kind::kError;
    o.error = p.error();
    return o;
  }
  if (st == HeadParser::Status::kIncomplete) return o;
  BodyDecoder d;
  d.reset(p.framing(), p.contentLength(), request ? kBodyLimit : 0);
  std::string_view rest = in.substr(p.headSize());
  while (!rest.empty() && !d.done() && !d.failed()) {
    auto s = d.step(rest);
    o.body.append(s.data);
    rest.remove_prefix(s.consumed);
  }
  if (p.framing() == BodyFraming::kUntilClose) d.onEof();  // the input is all there is
  if (d.failed()) {
    o.kind = Kind::kError;
    o.error = d.error();
  } else {
    o.kind = d.done() ? Kind::kOk : Kind::kIncomplete;
  }
  return o;
}

template <bool isRequest>
Outcome beastParse(std::string_view in) {
  http::parser<isRequest, http::string_body> p;
  p.eager(true);
  p.header_limit(kHeadLimit);
  if (isRequest) p.body_limit(kBodyLimit);
  else p.body_limit(boost::none);
  Outcome o;
  boost::beast::error_code ec;
  size_t pos = 0;
  while (pos < in.size() && !p.is_done()) {
    size_t n = p.put(boost::asio::const_buffer(in.data() + pos, in.size() - pos), ec);
    pos += n;
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
      continue;
    }
    if (ec) break;
    if (n == 0) break;
  }
  if (!ec && !p.is_done() && p.is_header_done() && !isRequest) {
    p.put_eof(ec);  // a read-until-close response body ends here
  }
  if (ec) {
    o.kind = Kind::kError;
    o.beast_error = ec.message();
  } else if (p.is_done()) {
    o.kind = Kind::kOk;
    o.body = p.get().body();
  }
  return o;
}

// ---- expected disagreements ---------------------------------------------------------------------

// Predicates that tell apart disagreements with the same outcomes.
bool hasObsFold(std::string_view in) {
  size_t end = in.find("\r\n\r\n");
  std::string_view head = in.substr(0, end);
  return head.find("\r\n ") != std::string_view::npos || head.find("\r\n\t") != std::string_view::npos;
}
bool hasBareLfInHead(std::string_view in) {
  size_t end = in.find("\r\n\r\n");
  std::string_view head = in.substr(0, end == std::string_view::npos ? in.size() : end + 2);
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) return true;
  }
  return false;
}
bool leadingEmptyLine(std::string_view in) { return in.substr(0, 2) == "\r\n"; }
bool statusWithoutReasonSpace(std::string_view in) {
  return in.size() > 14 && in.substr(12, 2) == "\r\n";
}
bool laterMinorVersion(std::string_view in) {
  size_t eol = in.find("\r\n");
  std::string_view line = in.substr(0, eol);
  return line.size() > 8 && line.substr(line.size() - 8, 7) == "HTTP/1." &&
         line.back() >= '2' && line.back() <= '9';
}

struct Expected {
  const char* rule;    // docs/design/http-edge-rules.md id(s)
  bool request;
  Kind surge, beast;
  ParseError surge_error;  // the error surge reports (kNone when surge accepts)
  const char* reason;
  bool (*match)(std::string_view) = nullptr;  // narrows the entry to inputs it holds for
};

// clang-format off
const Expected kExpected[] = {
    {"H1-H3", true, Kind::kError, Kind::kOk, ParseError::kBadHost,
     "RFC 9110 §7.2: an HTTP/1.1 request without Host, with two, or with an invalid one is 400; "
     "Beast does not look at Host"},
    {"RL6 RL8 RL9 RL10", true, Kind::kError, Kind::kOk, ParseError::kBadTarget,
     "RFC 9112 §3.2 / RFC 3986: the target must be origin-form, absolute-form (http/https, valid "
     "authority), '*' with OPTIONS; pct-encoding well formed; Beast accepts any visible target"},
    {"RL6", true, Kind::kError, Kind::kOk, ParseError::kBadRequestLine,
     "RFC 9112 §3.2: a fragment ('#') is never part of a request-target; Beast accepts it"},
    {"RL10", true, Kind::kError, Kind::kOk, ParseError::kMethodNotImplemented,
     "RFC 9110 §9.3.6: CONNECT is for proxies that tunnel; the gateway answers 501"},
    {"F2", true, Kind::kError, Kind::kOk, ParseError::kBadHeader,
     "RFC 9112 §5.2: obs-fold in a request is rejected (400); Beast unfolds it", hasObsFold},
    {"F6", true, Kind::kOk, Kind::kError, ParseError::kNone,
     "RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line; "
     "Beast rejects it", leadingEmptyLine},
    {"RL4", true, Kind::kOk, Kind::kError, ParseError::kNone,
     "RFC 9110 §2.5/§6.2: HTTP/1.x with a higher minor version is served as HTTP/1.1; Beast "
     "rejects minor versions other than 0 and 1", laterMinorVersion},
    {"C2", true, Kind::kError, Kind::kOk, ParseError::kBadContentLength,
     "RFC 9110 §8.6 lets a recipient reject repeated or listed Content-Length even when the "
     "values agree; surge does, Beast merges identical values"},
    {"T3-T6", true, Kind::kError, Kind::kOk, ParseError::kBadTransferEncoding,
     "RFC 9112 §6.1/§6.3: Transfer-Encoding in a request must be exactly one final chunked "
     "(no chunked twice, no empty elements or parameters, no TE in HTTP/1.0); Beast accepts more"},
    {"T6", true, Kind::kError, Kind::kOk, ParseError::kUnsupportedCoding,
     "RFC 9112 §6.1: a coding before chunked that the server does not implement → 501; Beast "
     "leaves codings to the application"},
    {"E2", true, Kind::kError, Kind::kOk, ParseError::kExpectationFailed,
     "RFC 9110 §10.1.1: an expectation other than 100-continue → 417; Beast does not interpret "
     "Expect"},
    {"K1-K5", true, Kind::kError, Kind::kOk, ParseError::kBadChunk,
     "RFC 9112 §7.1: strict chunk grammar (1..16 hex digits, extension grammar, CRLF after data, "
     "trailer field syntax); Beast accepts some of it"},
    {"K5", true, Kind::kError, Kind::kIncomplete, ParseError::kBadChunk,
     "RFC 9112 §7.1.2: a trailer line ended by a bare LF is an error at once; Beast waits for a "
     "CRLF that does not come (neither delivers the message)"},
    {"S2 S3", false, Kind::kError, Kind::kOk, ParseError::kBadTransferEncoding,
     "RFC 9112 §6.3 item 3 / §6.1: a response with TE and CL, or TE in HTTP/1.0, is faulty framing "
     "(the gateway answers 502); Beast lets TE win"},
    {"S1", false, Kind::kError, Kind::kOk, ParseError::kBadStatusLine,
     "RFC 9110 §15: status codes outside 100..599 are invalid; Beast accepts any three digits"},
    {"S4", false, Kind::kError, Kind::kOk, ParseError::kBadContentLength,
     "RFC 9110 §8.6: repeated Content-Length rejected even when equal; Beast merges"},
    {"S5", false, Kind::kError, Kind::kOk, ParseError::kBadHeader,
     "RFC 9112 §5.2: a proxy MUST reject obs-fold in a response (502) or replace it; Beast "
     "unfolds it", hasObsFold},
    {"S7", false, Kind::kOk, Kind::kError, ParseError::kNone,
     "RFC 9112 §2.2: a recipient MAY accept a bare LF line end; surge does for responses (its "
     "own upstreams), Beast rejects it", hasBareLfInHead},
    {"S8", false, Kind::kOk, Kind::kError, ParseError::kNone,
     "RFC 9112 §4: a status line without the SP before an empty reason-phrase is accepted (as "
     "browsers and curl do; the reason is ignored anyway); Beast requires the SP",
     statusWithoutReasonSpace},
};
// clang-format on

struct Input {
  std::string name;
  std::string bytes;
  bool request;
};

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<Input> corpusInputs() {
  std::vector<Input> v;
  const std::filesystem::path root = SURGE_FUZZ_CORPUS_DIR;
  for (const char* dir : {"http_request_head", "http_response_head"}) {
    const bool request = std::string_view(dir) == "http_request_head";
    for (const auto& e : std::filesystem::directory_iterator(root / dir)) {
      std::string b = readFile(e.path());
      if (b.empty()) continue;
      v.push_back({std::string(dir) + "/" + e.path().filename().string(), b.substr(1), request});
    }
  }
  // Body seeds (mode byte, 8 split bytes, wire): chunked ones wrapped in a request.
  for (const auto& e : std::filesystem::directory_iterator(root / "http_body")) {
    std::string b = readFile(e.path());
    if (b.size() < 9 || (static_cast<unsigned char>(b[0]) & 3) != 0) continue;
    v.push_back({"http_body/" + e.path().filename().string(),
                 "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b.substr(9),
                 true});
  }
  return v;
}

// The edge-rule cases of the conformance battery (tests/gateway_http_conformance_test.cc) that
// are not already corpus seeds.
std::vector<Input> ruleInputs() {
  const std::string h = "Host: a\r\n";
  const std::string te = "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n";
  return {
      {"RL2_tab", "GET\t/p HTTP/1.1\r\n" + h + "\r\n", true},
      {"RL4_lowercase", "GET /p http/1.1\r\n" + h + "\r\n", true},
      {"RL4_http17", "GET /p HTTP/1.7\r\n" + h + "\r\n", true},
      {"RL6_bad_pct", "GET /p%zz HTTP/1.1\r\n" + h + "\r\n", true},
      {"RL8_other_scheme", "GET ftp://o/p HTTP/1.1\r\n" + h + "\r\n", true},
      {"RL9_get_asterisk", "GET * HTTP/1.1\r\n" + h + "\r\n", true},
      {"RL10_authority_get", "GET o:443 HTTP/1.1\r\n" + h + "\r\n", true},
      {"F3_ctl", "GET /p HTTP/1.1\r\n" + h + "X: a\x0b\r\n\r\n", true},
      {"F3_obs_text", "GET /p HTTP/1.1\r\n" + h + "X: caf\xc3\xa9\r\n\r\n", true},
      {"F4_empty_name", "GET /p HTTP/1.1\r\n" + h + ": v\r\n\r\n", true},
      {"RL5_bare_lf_field", "GET /p HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", true},
      {"F1_space_before_colon", "GET /p HTTP/1.1\r\n" + h + "X : 1\r\n\r\n", true},
      {"H2_same_twice", "GET /p HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", true},
      {"H3_empty", "GET /p HTTP/1.1\r\nHost:\r\n\r\n", true},
      {"H3_userinfo", "GET /p HTTP/1.1\r\nHost: u@a\r\n\r\n", true},
      {"C1_sign", "POST /p HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", true},
      {"C1_leading_zeros", "POST /p HTTP/1.1\r\n" + h + "Content-Length: 005\r\n\r\nhello", true},
      {"T3_chunked_gzip", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       true},
      {"T5_empty_element", "POST /p HTTP/1.1\r\n" + h + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
       true},
      {"K1_size_0x", te + "0x5\r\nhello\r\n0\r\n\r\n", true},
      {"K1_size_empty", te + "\r\nhello\r\n0\r\n\r\n", true},
      {"K1_size_overflow", te + "10000000000000005\r\nhello\r\n0\r\n\r\n", true},
      {"K2_bare_lf_size", te + "5\nhello\r\n0\r\n\r\n", true},
      {"K3_ext_no_name", te + "5;=x\r\nhello\r\n0\r\n\r\n", true},
      {"K3_ext_trailing_ws", te + "5;a \r\nhello\r\n0\r\n\r\n", true},
      {"K3_ext_quoted", te + "5;a=\"b c\"\r\nhello\r\n0\r\n\r\n", true},
      {"K4_bare_lf_data", te + "5\r\nhello\n0\r\n\r\n", true},
      {"K5_trailer_bare_lf", te + "5\r\nhello\r\n0\r\nA: 1\n\r\n", true},
      {"K5_trailer_ok", te + "5\r\nhello\r\n0\r\nA: 1\r\n\r\n", true},
      {"E2_other", "POST /p HTTP/1.1\r\n" + h + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", true},
      {"S1_status_600", "HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", false},
      {"S7_bare_lf", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false},
      {"S_chunked_ok", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
       false},
  };
}

std::string printable(std::string_view s) {
  std::string o;
  for (char c : s.substr(0, 160)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\r') o += "\\r";
    else if (c == '\n') o += "\\n";
    else if (u < 0x20 || u >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", u);
      o += b;
    } else {
      o.push_back(c);
    }
  }
  return o;
}

TEST(HttpParserDifferential, DisagreementsWithBeastAreTheListedRules) {
  std::vector<Input> inputs = corpusInputs();
  ASSERT_GE(inputs.size(), 40u) << "corpora missing";
  for (auto& i : ruleInputs()) inputs.push_back(std::move(i));

  std::map<size_t, int> used;  // kExpected index → hits
  int agreements = 0, disagreements = 0;
  std::ostringstream report;
  for (const Input& in : inputs) {
    Outcome s = surgeParse(in.bytes, in.request);
    Outcome b = in.request ? beastParse<true>(in.bytes) : beastParse<false>(in.bytes);
    if (s.kind == b.kind && (s.kind != Kind::kOk || s.body == b.body)) {
      ++agreements;
      continue;
    }
    ++disagreements;
    bool explained = false;
    for (size_t k = 0; k < std::size(kExpected); ++k) {
      const Expected& e = kExpected[k];
      if (e.request == in.request && e.surge == s.kind && e.beast == b.kind &&
          e.surge_error == s.error && (e.match == nullptr || e.match(in.bytes))) {
        ++used[k];
        explained = true;
        report << "  " << in.name << ": rule " << e.rule << " (surge " << describeError(s.error)
               << ")\n";
        break;
      }
    }
    EXPECT_TRUE(explained) << "unexpected disagreement on " << in.name << ": surge "
                           << kindName(s.kind) << " (" << describeError(s.error) << ", body '"
                           << printable(s.body) << "'), Beast " << kindName(b.kind) << " ("
                           << b.beast_error << ", body '" << printable(b.body) << "')\n  input: "
                           << printable(in.bytes);
  }
  for (size_t k = 0; k < std::size(kExpected); ++k) {
    EXPECT_GT(used[k], 0) << "expected disagreement never seen (stale table entry): rule "
                          << kExpected[k].rule << ": " << kExpected[k].reason;
  }
  std::printf("%zu inputs: %d agree, %d differ, all by listed rules:\n%s", inputs.size(),
              agreements, disagreements, report.str().c_str());
  EXPECT_GT(agreements, 20);
}

}  // namespace
}  // namespace surge::net
