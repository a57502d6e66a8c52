// Fuzzes the gateway's request head parser (net::HeadParser, request kind, the gateway's limits)
// and the body that follows it: byte 0 picks where the input is split for an incremental parse;
// the rest is the wire. Properties: incremental == one-shot; an accepted head has clean fields,
// at most one Host, never TE with CL, and re-serializes into bytes that parse to the same
// message; a rejected head maps to a 4xx/5xx the gateway answers; the body after an accepted
// head decodes the same in pieces and re-framed (http_fuzz_util.h).
#include <cstdint>
#include <string_view>

#include "http_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = in.empty() ? 0 : (data[0] * in.size()) / 255;
  net::ParseLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_body_bytes = 4096;
  limits.require_host = true;
  net::HeadParser whole(net::HeadParser::Kind::kRequest, limits);
  net::HeadParser pieces(net::HeadParser::Kind::kRequest, limits);
  auto st = fuzz::parseBothWays(whole, pieces, in, split);
  if (st == net::HeadParser::Status::kError) {
    int s = net::statusForError(whole.error());
    if (s != 400 && s != 413 && s != 414 && s != 417 && s != 431 && s != 501 && s != 505) {
      fuzz::fail("request error maps to an unexpected status");
    }
    if (net::describeError(whole.error()).empty()) fuzz::fail("error without a description");
    return 0;
  }
  if (st == net::HeadParser::Status::kIncomplete) {
    if (in.size() >= limits.max_head_bytes) fuzz::fail("incomplete past the head limit");
    return 0;
  }
  if (whole.headSize() > in.size()) fuzz::fail("head larger than the input");
  int hosts = 0, te = 0, cl = 0;
  for (size_t i = 0; i < whole.headerCount(); ++i) {
    auto id = whole.header(i).id;
    hosts += id == net::HeaderId::kHost;
    te += id == net::HeaderId::kTransferEncoding;
    cl += id == net::HeaderId::kContentLength;
  }
  if (hosts > 1 || cl > 1 || (te > 0 && cl > 0)) fuzz::fail("ambiguous framing or Host accepted");
  if (whole.versionMinor() == 1 && hosts == 0) fuzz::fail("HTTP/1.1 without Host accepted");
  if (te > 0 && whole.versionMinor() == 0) fuzz::fail("TE in HTTP/1.0 accepted");
  if (hosts == 1 && !net::isValidAuthority(whole.find(net::HeaderId::kHost)->value)) {
    fuzz::fail("invalid Host accepted");
  }
  if (whole.framing() == net::BodyFraming::kContentLength &&
      whole.contentLength() > limits.max_body_bytes) {
    fuzz::fail("Content-Length over the limit accepted");
  }
  if (whole.method() == "CONNECT") fuzz::fail("CONNECT accepted");
  fuzz::checkHeadRoundTrip(whole, net::HeadParser::Kind::kRequest, limits, false);
  std::string_view body = in.substr(whole.headSize());
  auto r = fuzz::decodeBody(whole.framing(), whole.contentLength(), limits.max_body_bytes, body,
                            std::string_view(reinterpret_cast<const char*>(data), 1));
  fuzz::checkReframed(r, whole.framing());
  return 0;
}
