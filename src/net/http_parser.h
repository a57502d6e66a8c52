// HTTP/1.1 message parsing for the proxy data path and the control-plane server: request heads,
// response heads and body framing (RFC 9112). Zero-copy: every string_view points into the
// caller's buffer, which must stay in place (not moved or compacted) while the head is used.
// Incremental: HeadParser::parse may be called again with the same buffer grown by new bytes; it
// resumes the search for the end of the head where it stopped (O(total bytes) however the input is
// split) and parses the head once, when it is complete. BodyDecoder walks Content-Length, chunked
// (extensions, trailers) and read-until-close bodies step by step, so bodies are streamed, never
// buffered whole. No allocation after construction; no sockets, no Asio.
// Strictness (RFC 9112): malformed request or status line, whitespace before ':', obs-fold,
// control characters, bad or conflicting Content-Length, Transfer-Encoding with Content-Length in
// a request, and unknown final transfer codings in requests are errors (400); heads over the limit
// or with too many fields → 431; bodies over the limit → 413; versions other than 1.0/1.1 → 505.
// Thread-safety: none; one parser per connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace surge::net {

enum class ParseError : uint8_t {
  kNone = 0,
  kBadRequestLine,       // 400
  kBadStatusLine,        // 502 (from an upstream)
  kBadVersion,           // 505
  kBadHeader,            // 400: bad name, whitespace before ':', obs-fold, control characters
  kBadContentLength,     // 400: not digits, or several different values
  kBadTransferEncoding,  // 400: TE with CL, TE in HTTP/1.0, final coding not chunked (requests)
  kHeadTooLarge,         // 431: head over the limit or too many header fields
  kBadChunk,             // 400: malformed chunk size line, missing CRLF, bad trailer
  kBodyTooLarge,         // 413
};

// The HTTP status a server answers with for `e` (400, 413, 431, 505; 502 for a bad status line).
int statusForError(ParseError e);
// A short English description ("malformed request line").
std::string_view describeError(ParseError e);

// Header names the proxy treats specially; everything else is kOther.
enum class HeaderId : uint8_t {
  kOther = 0,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kTransferEncoding,
  kUpgrade,
  kContentLength,
  kHost,
  kXForwardedFor,
  kXRequestId,
  kExpect,
  kCookie,
  kProxyAuthenticate,
  kProxyAuthorization,
};

struct HeaderField {
  std::string_view name;   // as received
  std::string_view value;  // without leading/trailing whitespace
  HeaderId id = HeaderId::kOther;
  bool hop_by_hop = false;  // hop-by-hop by definition or named in Connection
};

enum class BodyFraming : uint8_t {
  kNone,           // no body (requests without CL/TE, HEAD responses, 1xx/204/304)
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding (final coding)
  kUntilClose,     // responses only: body ends when the connection closes
};

// ASCII case-insensitive equality.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True when the comma-separated list `list` contains `token` (case-insensitive, OWS trimmed).
bool listContainsToken(std::string_view list, std::string_view token);

struct ParseLimits {
  size_t max_head_bytes = 64 * 1024;
  uint64_t max_body_bytes = 64ull * 1024 * 1024;  // requests; responses are not limited
};

class HeadParser {
 public:
  static constexpr size_t kMaxHeaders = 128;
  enum class Kind : uint8_t { kRequest, kResponse };
  enum class Status : uint8_t { kIncomplete, kDone, kError };

  explicit HeadParser(Kind kind, ParseLimits limits = {}) : kind_(kind), limits_(limits) {}

  // Forgets the previous message (call before parsing the next one, on a new buffer position).
  void reset();
  // For responses: the request was HEAD (no body whatever the headers say).
  void setRequestWasHead(bool head) { request_was_head_ = head; }

  // Parses the head at the start of data[0, len). The same bytes must be passed again (possibly
  // followed by more) after kIncomplete. On kDone, headSize() bytes were the head; the body (if
  // any) starts right after. On kError, error() tells why.
  Status parse(const char* data, size_t len);

  ParseError error() const { return error_; }
  size_t headSize() const { return head_size_; }

  // ---- request line
  // ------------------------------------------------------------------------------
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  bool isHead() const { return is_head_; }
  // ---- status line
  // -------------------------------------------------------------------------------
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }
  // ---- both
  // --------------------------------------------------------------------------------------
  int versionMinor() const { return version_minor_; }  // 0 or 1
  size_t headerCount() const { return header_count_; }
  const HeaderField& header(size_t i) const { return headers_[i]; }
  // First header named `name` (case-insensitive), or nullptr.
  const HeaderField* find(std::string_view name) const;
  const HeaderField* find(HeaderId id) const;

  BodyFraming framing() const { return framing_; }
  uint64_t contentLength() const { return content_length_; }
  // Persistent connection per HTTP version and Connection header (close / keep-alive).
  bool keepAlive() const { return keep_alive_; }
  bool expectContinue() const { return expect_continue_; }
  // Request carried Upgrade (with Connection: upgrade).
  bool upgrade() const { return upgrade_; }

 private:
  Status fail(ParseError e) {
    error_ = e;
    return Status::kError;
  }
  Status parseComplete(const char* data, size_t len);
  bool parseRequestLine(std::string_view line);
  bool parseStatusLine(std::string_view line);
  bool parseHeaderLine(std::string_view line);
  Status finish();

  Kind kind_;
  ParseLimits limits_;
  bool request_was_head_ = false;
  size_t scan_pos_ = 0;  // where the search for the blank line resumes
  size_t head_size_ = 0;
  ParseError error_ = ParseError::kNone;

  std::string_view method_, target_, reason_;
  int status_ = 0;
  int version_minor_ = 1;
  bool is_head_ = false;
  std::array<HeaderField, kMaxHeaders> headers_;
  size_t header_count_ = 0;
  BodyFraming framing_ = BodyFraming::kNone;
  uint64_t content_length_ = 0;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool upgrade_ = false;
};

// Walks a message body. Each step() consumes a prefix of the input: framing bytes (chunk size
// lines, CRLFs, trailers) and at most one run of payload, returned as `data` (a view into the
// input). A proxy forwards the consumed bytes verbatim (the framing passes through unchanged); a
// server keeps only `data`.
class BodyDecoder {
 public:
  struct Step {
    size_t consumed = 0;
    std::string_view data;  // payload within the consumed bytes (may be empty)
  };

  // max_body: payload limit (kBodyTooLarge above it); 0 = unlimited.
  void reset(BodyFraming framing, uint64_t content_length, uint64_t max_body = 0);
  Step step(std::string_view in);
  // Consumes as much of `in` as belongs to the body; returns the byte count (stops at done() or
  // an error). For pass-through forwarding.
  size_t consumeAll(std::string_view in);
  // For kUntilClose: the connection closed, which ends the body.
  void onEof();

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  ParseError error() const { return error_; }
  uint64_t payloadBytes() const { return payload_; }
  BodyFraming framing() const { return framing_; }

 private:
  enum class State : uint8_t {
    kData,         // content-length or until-close data, or chunk data
    kChunkSize,    // hex digits
    kChunkExt,     // after the size: extensions up to CRLF
    kChunkSizeLf,  // saw CR after the size line
    kChunkDataCr,  // CRLF after chunk data
    kChunkDataLf,
    kTrailerLineStart,
    kTrailerLine,
    kFinalLf,
    kDone,
    kError,
  };
  Step fail(ParseError e, size_t consumed) {
    state_ = State::kError;
    error_ = e;
    return {consumed, {}};
  }

  BodyFraming framing_ = BodyFraming::kNone;
  State state_ = State::kDone;
  ParseError error_ = ParseError::kNone;
  uint64_t remaining_ = 0;  // bytes left in the current chunk / content-length body
  uint64_t payload_ = 0;
  uint64_t max_body_ = 0;
  uint32_t size_digits_ = 0;
  uint32_t line_bytes_ = 0;  // bytes of the current size/trailer line (limit against abuse)
  bool in_chunk_ = false;    // kData refers to chunk data
};

}  // namespace surge::net
