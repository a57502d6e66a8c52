// Fuzzes the model server's HTTP content codings (serving/http_compression.h). Byte 0 picks the
// coding (bit 0: gzip or deflate) and the decoded-size limit (bits 1..3: 0 B to 4 MiB); the rest
// is the request body. The same bytes are also read as a Content-Encoding and an Accept-Encoding
// field value.
// Properties: never a crash or hang; a decoded body never exceeds the limit and, re-encoded with
// either coding, decodes back to itself; a too-large body is refused with the limit's message;
// every error message makes a valid UTF-8 JSON error body; negotiation honours a lone "gzip" or
// "identity".
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "serving/http_compression.h"
#include "serving/inference_service.h"

namespace {

using surge::serving::ContentCoding;

constexpr size_t kLimits[8] = {0, 1, 64, 1000, 4096, 65536, 1 << 20, 4 << 20};

void checkError(const surge::Status& st, const char* what) {
  surge::fuzz::requireJson(surge::serving::jsonErrorBody(st.message()), what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge::serving;
  if (size < 1) return 0;
  const ContentCoding coding = (data[0] & 1) ? ContentCoding::kDeflate : ContentCoding::kGzip;
  const size_t limit = kLimits[(data[0] >> 1) & 7];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  auto decoded = decodeBody(body, coding, limit);
  if (decoded.isOk()) {
    if (decoded->size() > limit) surge::fuzz::fail("decoded body above the limit");
    for (ContentCoding again : {ContentCoding::kGzip, ContentCoding::kDeflate}) {
      auto packed = encodeBody(*decoded, again);
      if (!packed.isOk()) surge::fuzz::fail("encode failed", packed.status().message());
      auto back = decodeBody(*packed, again, limit);
      if (!back.isOk()) surge::fuzz::fail("re-encoded body does not decode", back.status().message());
      if (*back != *decoded) surge::fuzz::fail("round trip changed the body");
    }
  } else {
    const surge::Status& st = decoded.status();
    if (st.code() == surge::StatusCode::kResourceExhausted &&
        st.message() != "decompressed body exceeds --max-request-size (" + std::to_string(limit) +
                            " bytes)") {
      surge::fuzz::fail("too-large message", st.message());
    }
    checkError(st, "decode error body");
  }

  auto header = parseContentEncoding(body);
  if (!header.isOk()) checkError(header.status(), "Content-Encoding error body");

  ContentCoding answer = negotiateAcceptEncoding(body);
  if (body == "gzip" && answer != ContentCoding::kGzip) surge::fuzz::fail("gzip not chosen");
  if (body == "identity" && answer != ContentCoding::kIdentity) {
    surge::fuzz::fail("identity not chosen");
  }
  return 0;
}
