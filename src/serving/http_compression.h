// HTTP content codings for the model server (Triton's HTTP compression): request bodies sent with
// Content-Encoding gzip or deflate are decoded before parsing, and inference responses are
// compressed when the client's Accept-Encoding asks for it. zlib underneath.
//   - gzip: RFC 1952 (what Python's gzip.compress and tritonclient's "gzip" send); concatenated
//     members are decoded one after the other.
//   - deflate: RFC 9110 says zlib-wrapped (RFC 1950: what zlib.compress and tritonclient's
//     "deflate" send); a raw RFC 1951 stream (what some clients send) is accepted too: a body
//     whose first two bytes are not a zlib header is decoded as raw deflate.
//   - Like Triton (inflate with automatic header detection), a gzip body under "deflate" or a zlib
//     body under "gzip" is decoded too.
// Decoding is bounded: output grows in steps and stops as soon as it would pass `max_bytes`, so a
// compression bomb costs at most `max_bytes` of memory and the time to inflate that much.
// Design and limits: docs/design/serving-compression.md.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace surge::serving {

enum class ContentCoding { kIdentity, kGzip, kDeflate };

// "gzip", "deflate", "identity".
std::string_view contentCodingName(ContentCoding c);

// The coding named by a Content-Encoding field value (every field of the request joined with
// ", "): empty or "identity" is kIdentity; names are case-insensitive, "x-gzip" is gzip;
// "identity" entries in a list are skipped. Errors (the caller answers 415): an unknown coding —
// "unsupported Content-Encoding 'br' (supported: gzip, deflate, identity)" — or more than one
// coding applied ("gzip, gzip": stacked codings are not supported).
StatusOr<ContentCoding> parseContentEncoding(std::string_view value);

// Decodes `body`. kResourceExhausted (413) when the decoded body would exceed `max_bytes`
// ("decompressed body exceeds --max-request-size (N bytes)"); kInvalidArgument (400) for a
// corrupt, truncated or empty stream, or bytes after its end. kIdentity returns `body` as is.
StatusOr<std::string> decodeBody(std::string_view body, ContentCoding coding, size_t max_bytes);

// Compresses `body` with `coding` (kIdentity returns it unchanged). zlib level 1: responses are on
// the latency path, and level 1 keeps most of the gain on JSON and tensor data.
StatusOr<std::string> encodeBody(std::string_view body, ContentCoding coding);

// The coding to answer with, from an Accept-Encoding field value (RFC 9110 §12.5.3): the
// supported coding (gzip, deflate) with the highest q-value above 0, "*" standing for those not
// named; gzip on a tie; kIdentity when none is acceptable, when identity is named with a higher
// q-value, or when the field is absent or malformed. Never fails: an answer the client refuses
// every coding of ("identity;q=0" alone) is still sent as identity.
ContentCoding negotiateAcceptEncoding(std::string_view value);

// Responses smaller than this are sent as they are (the coding would cost more than it saves).
inline constexpr size_t kMinCompressBytes = 1024;
// Answers at least this large are compressed on the codec pool rather than the event loop
// (level 1 costs about 20 ms per MiB; below this it is cheaper than the hop).
inline constexpr size_t kPoolCompressBytes = 32 * 1024;

}  // namespace surge::serving
