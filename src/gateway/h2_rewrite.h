// H2Rewrite: the pure decisions of the gateway's HTTP/2 path (h2_proxy.cc) — the header list a
// client's stream is forwarded with, the hash key of a stream, the headers an upstream response
// goes back with, and the gateway's own answers on a stream (a gRPC status for gRPC calls, a
// JSON error otherwise). The HTTP/1.1 path's equivalents are head_rewrite.h and hash_key.h; the
// rules are the same where HTTP/2 allows (docs/design/gateway-h2.md, "Headers").
// Request rules:
//   - pseudo-headers first, in the order :method, :scheme, :authority, :path (as received, with
//     Host as :authority when the client sent no :authority, RFC 9113 §8.3.1;
//     :scheme is rewritten to "http" — the hop toward the upstream is clear text; the client's
//     scheme goes on in X-Forwarded-Proto);
//   - connection-specific fields (connection, keep-alive, proxy-connection, transfer-encoding,
//     upgrade) never reach here (nghttp2 refuses such a request); "te" goes on only as "trailers"
//     (gRPC requires it);
//   - x-forwarded-for: the first gets ", <client ip>" appended, later ones dropped; without one,
//     one is added; x-forwarded-proto: set to the client's scheme unless present;
//   - x-request-id: passed through; without one, one is generated (32 hex digits from `random`).
// Response rules: the upstream's fields as received (nghttp2 has already refused
// connection-specific ones), pseudo-header :status first.
// gRPC status of the gateway's own answers (gRPC's HTTP-to-gRPC status mapping, with the
// gateway's timeouts as DEADLINE_EXCEEDED as Envoy answers them): 504 → 4 DEADLINE_EXCEEDED,
// 502 / 503 → 14 UNAVAILABLE, 413 → 8 RESOURCE_EXHAUSTED, 400 → 3 INVALID_ARGUMENT,
// 401 → 16, 403 → 7, 404 → 12, 429 → 14, anything else → 2 UNKNOWN.
// Complexity: O(header bytes). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "gateway/gateway_config.h"
#include "net/h2/grpc_framing.h"
#include "net/h2/server_session.h"

namespace surge::gateway {

// Replaces `out` with the header list forwarded upstream for the client's request `in`.
void rewriteH2Request(const std::vector<h2::Header>& in, std::string_view client_ip,
                      std::string_view client_scheme, Random& random, std::vector<h2::Header>* out);

// The consistent-hash key of a stream (header, query parameter of :path, or cookie — the
// cookie fields of HTTP/2 may come split, RFC 9113 §8.2.3: each is searched), or nullopt.
std::optional<uint64_t> h2HashKey(const HashKeySource& source,
                                  const std::vector<h2::Header>& headers);

h2::GrpcCode grpcCodeForGatewayStatus(int http_status);

// The gateway's own answer on a stream.
struct H2LocalAnswer {
  std::vector<h2::Header> headers;   // ends the stream when body is empty and grpc
  std::string body;                  // JSON for non-gRPC requests, "" for gRPC
  std::vector<h2::Header> trailers;  // empty
};
H2LocalAnswer h2LocalAnswer(bool grpc, int http_status, std::string_view message);

using h2::grpcStatusOf;

}  // namespace surge::gateway
