// Fuzzes the response head parser (net::HeadParser, response kind) the gateway reads upstream
// answers with. Byte 0: bit 0 = the request was HEAD, the rest picks the split for an
// incremental parse. Properties: incremental == one-shot; an accepted head has a status in
// 100..599, clean fields, never TE with CL, never TE in HTTP/1.0, and re-serializes into bytes
// that parse to the same message; its body decodes the same in pieces and one-shot.
#include <cstdint>
#include <string_view>

#include "http_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;
  if (size < 1) return 0;
  const bool head = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = in.empty() ? 0 : ((data[0] >> 1) * in.size()) / 127;
  net::ParseLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_body_bytes = 0;
  net::HeadParser whole(net::HeadParser::Kind::kResponse, limits);
  net::HeadParser pieces(net::HeadParser::Kind::kResponse, limits);
  whole.setRequestWasHead(head);
  pieces.setRequestWasHead(head);
  auto st = fuzz::parseBothWays(whole, pieces, in, split);
  if (st != net::HeadParser::Status::kDone) return 0;
  if (whole.status() < 100 || whole.status() > 599) fuzz::fail("status outside 100..599");
  int te = 0, cl = 0;
  for (size_t i = 0; i < whole.headerCount(); ++i) {
    te += whole.header(i).id == net::HeaderId::kTransferEncoding;
    cl += whole.header(i).id == net::HeaderId::kContentLength;
  }
  if (cl > 1 || (te > 0 && cl > 0)) fuzz::fail("ambiguous response framing accepted");
  if (te > 0 && whole.versionMinor() == 0) fuzz::fail("TE in an HTTP/1.0 response accepted");
  if (head && whole.framing() != net::BodyFraming::kNone) fuzz::fail("HEAD response with a body");
  fuzz::checkHeadRoundTrip(whole, net::HeadParser::Kind::kResponse, limits, head);
  std::string_view body = in.substr(whole.headSize());
  auto r = fuzz::decodeBody(whole.framing(), whole.contentLength(), 0, body,
                            std::string_view(reinterpret_cast<const char*>(data), 1));
  fuzz::checkReframed(r, whole.framing());
  return 0;
}
