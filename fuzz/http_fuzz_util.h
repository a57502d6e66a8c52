// Shared properties for the HTTP parser harnesses (http_request_head, http_response_head,
// http_body): a head that parsed re-serializes (as the gateway forwards it) into bytes that parse
// to the same message; incremental parsing equals one-shot parsing; a re-framed body decodes to
// the same payload. A violation aborts (surge::fuzz::fail).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "net/http_parser.h"

namespace surge::fuzz {

using net::BodyDecoder;
using net::BodyFraming;
using net::HeadParser;

inline bool hasCtl(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

// The head as a proxy re-emits it: start line, every field, CRLF only.
inline std::string serializeHead(const HeadParser& p, HeadParser::Kind kind) {
  std::string o;
  if (kind == HeadParser::Kind::kRequest) {
    o.append(p.method()).append(" ").append(p.target()).append(" HTTP/1.");
  } else {
    o.append("HTTP/1.");
  }
  o.push_back(p.versionMinor() == 0 ? '0' : '1');
  if (kind == HeadParser::Kind::kResponse) {
    o.append(" ").append(std::to_string(p.status())).append(" ").append(p.reason());
  }
  o.append("\r\n");
  for (size_t i = 0; i < p.headerCount(); ++i) {
    o.append(p.header(i).name).append(": ").append(p.header(i).value).append("\r\n");
  }
  o.append("\r\n");
  return o;
}

// Parses `in` one-shot and in two pieces split at `split` (the second call sees the whole
// input, as the proxy's growing buffer does); both must agree.
inline HeadParser::Status parseBothWays(HeadParser& whole, HeadParser& pieces, std::string_view in,
                                        size_t split) {
  auto a = whole.parse(in.data(), in.size());
  auto b = pieces.parse(in.data(), split < in.size() ? split : in.size());
  if (b == HeadParser::Status::kIncomplete && split < in.size()) b = pieces.parse(in.data(), in.size());
  if (a != b) fail("incremental parse differs from one-shot");
  if (a == HeadParser::Status::kError && whole.error() != pieces.error()) {
    fail("incremental parse error differs");
  }
  if (a == HeadParser::Status::kDone &&
      (whole.headSize() != pieces.headSize() || whole.headerCount() != pieces.headerCount())) {
    fail("incremental parse result differs");
  }
  return a;
}

// Checks the fields of a parsed head and that its re-serialization parses to the same message.
inline void checkHeadRoundTrip(const HeadParser& p, HeadParser::Kind kind, net::ParseLimits limits,
                               bool request_was_head) {
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const auto& f = p.header(i);
    if (f.name.empty() || hasCtl(f.name) || f.name.find(':') != std::string_view::npos ||
        f.name.find(' ') != std::string_view::npos) {
      fail("bad field name accepted", f.name);
    }
    if (hasCtl(f.value)) fail("control character in an accepted field value", f.value);
  }
  if (p.framing() == BodyFraming::kChunked && p.contentLength() != 0) {
    fail("chunked framing with a content length");
  }
  std::string again = serializeHead(p, kind);
  limits.max_head_bytes = again.size() + 16;
  HeadParser q(kind, limits);
  q.setRequestWasHead(request_was_head);
  if (q.parse(again.data(), again.size()) != HeadParser::Status::kDone) {
    fail("re-serialized head does not parse", again);
  }
  if (q.headSize() != again.size() || q.headerCount() != p.headerCount() ||
      q.framing() != p.framing() || q.contentLength() != p.contentLength() ||
      q.keepAlive() != p.keepAlive() || q.versionMinor() != p.versionMinor()) {
    fail("re-serialized head parses differently", again);
  }
  if (kind == HeadParser::Kind::kRequest &&
      (q.method() != p.method() || q.target() != p.target() || q.host() != p.host() ||
       q.targetForm() != p.targetForm() || q.pathAndQuery() != p.pathAndQuery())) {
    fail("re-serialized request line parses differently", again);
  }
  if (kind == HeadParser::Kind::kResponse && (q.status() != p.status() || q.reason() != p.reason())) {
    fail("re-serialized status line parses differently", again);
  }
  for (size_t i = 0; i < p.headerCount(); ++i) {
    if (q.header(i).name != p.header(i).name || q.header(i).value != p.header(i).value ||
        q.header(i).id != p.header(i).id || q.header(i).hop_by_hop != p.header(i).hop_by_hop) {
      fail("re-serialized field differs", again);
    }
  }
}

struct BodyResult {
  bool done = false, failed = false;
  size_t consumed = 0;
  std::string payload;
  std::string reframed;
};

// Decodes `in` with step() in pieces of the sizes drawn from `cuts` (cycled), and once more with
// reframe() in the same pieces; the two must agree. Returns the step() result plus the reframed
// bytes.
inline BodyResult decodeBody(BodyFraming framing, uint64_t cl, uint64_t max_body, std::string_view in,
                             std::string_view cuts) {
  BodyResult r;
  BodyDecoder d;
  d.reset(framing, cl, max_body);
  size_t pos = 0, k = 0;
  while (pos < in.size() && !d.done() && !d.failed()) {
    size_t len = cuts.empty() ? in.size() : 1 + static_cast<unsigned char>(cuts[k++ % cuts.size()]) % 64;
    std::string_view piece = in.substr(pos, len);
    while (!piece.empty() && !d.done() && !d.failed()) {
      auto s = d.step(piece);
      if (s.consumed > piece.size()) fail("step consumed more than its input");
      if (s.data.size() > s.consumed) fail("step returned more payload than it consumed");
      if (!s.data.empty() && (s.data.data() < piece.data() ||
                              s.data.data() + s.data.size() > piece.data() + s.consumed)) {
        fail("step payload outside the consumed bytes");
      }
      r.payload.append(s.data);
      pos += s.consumed;
      piece.remove_prefix(s.consumed);
      if (s.consumed == 0 && !d.done() && !d.failed()) fail("step made no progress");
    }
  }
  r.done = d.done();
  r.failed = d.failed();
  r.consumed = pos;
  if (d.payloadBytes() != r.payload.size()) fail("payloadBytes differs from the payload");
  if (max_body != 0 && r.payload.size() > max_body) fail("payload over the body limit");
  if (framing == BodyFraming::kContentLength && r.payload.size() > cl) fail("payload over CL");
  if (r.failed && d.error() == net::ParseError::kNone) fail("failed without an error");

  BodyDecoder f;
  f.reset(framing, cl, max_body);
  size_t fpos = 0;
  k = 0;
  while (fpos < in.size() && !f.done() && !f.failed()) {
    size_t len = cuts.empty() ? in.size() : 1 + static_cast<unsigned char>(cuts[k++ % cuts.size()]) % 64;
    size_t n = f.reframe(in.substr(fpos, len), &r.reframed);
    fpos += n;
    if (n == 0 && !f.done() && !f.failed()) fail("reframe made no progress");
  }
  if (f.done() != r.done || f.failed() != r.failed || fpos != r.consumed) {
    fail("reframe disagrees with step");
  }
  // One-shot equals pieces.
  BodyDecoder o;
  o.reset(framing, cl, max_body);
  size_t once = o.consumeAll(in);
  // (Where an error stops depends on the split for the body limit of until-close bodies.)
  if (o.done() != r.done || o.failed() != r.failed || (!r.failed && once != r.consumed)) {
    fail("one-shot decode disagrees with split decode");
  }
  return r;
}

// The re-framed output of a body that decoded completely must decode (chunked, no limit) to the
// same payload, be consumed exactly, and be canonical (re-framing it again changes nothing).
inline void checkReframed(const BodyResult& r, BodyFraming framing) {
  if (framing != BodyFraming::kChunked) {
    if (r.reframed != r.payload) fail("non-chunked reframe is not the payload");
    return;
  }
  if (!r.done) return;  // (step and reframe agreed on where it stopped)
  BodyDecoder d;
  d.reset(BodyFraming::kChunked, 0, 0);
  std::string again;
  size_t n = d.reframe(r.reframed, &again);
  if (!d.done() || n != r.reframed.size()) fail("re-framed body does not decode", r.reframed);
  if (again != r.reframed) fail("re-framed body is not canonical", r.reframed);
  std::string payload;
  BodyDecoder e;
  e.reset(BodyFraming::kChunked, 0, 0);
  std::string_view in = r.reframed;
  while (!in.empty() && !e.done()) {
    auto s = e.step(in);
    payload.append(s.data);
    in.remove_prefix(s.consumed);
  }
  if (payload != r.payload) fail("re-framed body decodes to a different payload");
}

}  // namespace surge::fuzz
