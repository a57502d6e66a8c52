// Fuzzes net::BodyDecoder: byte 0 picks the framing (chunked, Content-Length, until-close) and a
// body limit; bytes 1..8 are the piece sizes the wire is cut into (arbitrary splits); the rest is
// the wire. Properties (http_fuzz_util.h): step() never overruns its input or the limits and
// always progresses; split, one-shot and reframe() decoding agree; a complete chunked body
// re-framed is canonical CRLF framing that decodes to the same payload.
#include <cstdint>
#include <string_view>

#include "http_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;
  if (size < 9) return 0;
  const uint8_t mode = data[0];
  std::string_view cuts(reinterpret_cast<const char*>(data + 1), 8);
  std::string_view in(reinterpret_cast<const char*>(data + 9), size - 9);
  net::BodyFraming framing = (mode & 3) == 1   ? net::BodyFraming::kContentLength
                             : (mode & 3) == 2 ? net::BodyFraming::kUntilClose
                                               : net::BodyFraming::kChunked;
  const uint64_t max_body = (mode & 4) ? 64 : 0;
  const uint64_t cl = mode >> 3;
  auto r = fuzz::decodeBody(framing, cl, max_body, in, cuts);
  fuzz::checkReframed(r, framing);
  return 0;
}
