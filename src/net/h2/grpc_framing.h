// gRPC over HTTP/2, the wire parts that are not protobuf (the gRPC HTTP/2 protocol spec,
// "PROTOCOL-HTTP2.md"): length-prefixed messages in a stream's DATA, the grpc-timeout header,
// grpc-status / grpc-message trailers with grpc-message percent-encoded. Pure; shared by the
// model server's gRPC endpoint and the gateway (which must answer gRPC errors it makes itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/h2/server_session.h"

namespace surge::h2 {

// gRPC status codes (google.rpc.Code).
enum class GrpcCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Splits a stream's DATA into gRPC messages (1-byte compressed flag, 4-byte big-endian length,
// payload). The length is checked against `max_message_bytes` before anything is buffered for
// it; a compressed message is refused (no grpc-encoding is negotiated: identity only).
class GrpcMessageReader {
 public:
  explicit GrpcMessageReader(size_t max_message_bytes) : max_(max_message_bytes) {}
  // Appends bytes; an error (message too large, compressed) is final for the stream, its code
  // the gRPC status to answer (kResourceExhausted, kUnimplemented).
  Status feed(std::string_view data);
  // The next complete message, if any.
  std::optional<std::string> next();
  // True when bytes of an incomplete message are buffered (at the end of the stream: an error).
  bool partial() const { return buffer_.size() > offset_; }
  GrpcCode errorCode() const { return error_code_; }

 private:
  size_t max_;
  std::string buffer_;
  size_t offset_ = 0;
  GrpcCode error_code_ = GrpcCode::kOk;
};

// One length-prefixed message.
std::string grpcFrame(std::string_view message);
void appendGrpcFrame(std::string* out, std::string_view message);

// grpc-timeout: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n). Anything else → error.
StatusOr<Duration> parseGrpcTimeout(std::string_view value);
// Percent-encodes grpc-message: bytes outside 0x20..0x7E and '%' become %XX (the spec's rule).
std::string grpcPercentEncode(std::string_view message);
std::string grpcPercentDecode(std::string_view value);

// The trailers of a gRPC response: grpc-status and, when not OK, grpc-message.
std::vector<Header> grpcTrailers(GrpcCode code, std::string_view message = {});
// A "Trailers-Only" response (headers that end the stream): :status 200, content-type, status.
std::vector<Header> grpcTrailersOnly(GrpcCode code, std::string_view message);
// The response headers of a gRPC call that will carry messages.
std::vector<Header> grpcResponseHeaders();

// grpc-status of a header block (trailers, or the headers of a Trailers-Only response) as a
// number, or -1 when absent or not a non-negative decimal.
int grpcStatusOf(const std::vector<Header>& headers);

// True when the request headers are a gRPC call (POST with content-type application/grpc[+…]).
bool isGrpcRequest(const std::vector<Header>& headers);
// The value of `name` (lower-case) in a header list, or nullptr.
const std::string* findHeader(const std::vector<Header>& headers, std::string_view name);

}  // namespace surge::h2
