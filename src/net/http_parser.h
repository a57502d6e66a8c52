// HTTP/1.1 message parsing for the proxy data path and the control-plane server: request heads,
// response heads and body framing (RFC 9112). Zero-copy: every string_view points into the
// caller's buffer, which must stay in place (not moved or compacted) while the head is used.
// Incremental: HeadParser::parse may be called again with the same buffer grown by new bytes; it
// resumes the search for the end of the head where it stopped (O(total bytes) however the input is
// split) and parses the head once, when it is complete. BodyDecoder walks Content-Length, chunked
// (extensions, trailers) and read-until-close bodies step by step, so bodies are streamed, never
// buffered whole; reframe() re-emits a request body in canonical framing for a proxy. No
// allocation after construction; no sockets, no Asio. Every check is O(bytes), table-driven.
// Strictness: the edge rules of docs/design/http-edge-rules.md (RFC 9112 / RFC 9110), one row per
// rule, each naming its ParseError and status. In short, for requests: CRLF line endings only;
// exactly one SP between method, target and version; target forms per RFC 9112 §3.2; exactly one
// valid Host (a missing one only when ParseLimits::require_host); no whitespace before ':', no
// obs-fold, no CTL in values; one Content-Length of at most 19 digits; Transfer-Encoding only as
// a single final "chunked" (400, or 501 for a coding we do not implement), never with
// Content-Length or in HTTP/1.0; strict chunked framing (no bare LF, 1..16 hex digits, extension
// grammar, CRLF after data, valid trailer fields). Responses follow the same field rules, accept
// bare LF line endings (RFC 9112 §2.2) and map every framing doubt to a parse error (502).
// Thread-safety: none; one parser per connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
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
  kBadHost,              // 400: HTTP/1.1 without Host, several Host fields, an invalid Host
  kBadTarget,            // 400: request-target not in a form RFC 9112 §3.2 allows for the method
  kUriTooLong,           // 414: the request line alone is over the head limit
  kUnsupportedCoding,    // 501: Transfer-Encoding "x, chunked" with a coding we do not implement
  kMethodNotImplemented, // 501: CONNECT (a gateway is not a tunnel)
  kExpectationFailed,    // 417: Expect other than a single "100-continue"
};

// The HTTP status a server answers with for `e` (400, 413, 414, 417, 431, 501, 505; 502 for a
// bad status line).
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
  // An HTTP/1.1 request without Host is an error (RFC 9110 §7.2). The gateway sets it; the
  // control-plane server leaves it off for bare probes. Duplicate or invalid Host is always an
  // error.
  bool require_host = false;
};

// The form of a request-target (RFC 9112 §3.2).
enum class TargetForm : uint8_t {
  kOrigin,     // "/path?query"
  kAbsolute,   // "http://authority/path?query" (the authority replaces Host, §3.2.2)
  kAuthority,  // "host:port" (CONNECT only; CONNECT itself is answered 501)
  kAsterisk,   // "*" (OPTIONS only)
};

// RFC 3986 §3.2.2 host [":" port] with RFC 9110 §4.2.1 restrictions: no userinfo, a non-empty
// host, a port of at most 5 digits (<= 65535). reg-name, IPv4 and IP-literal ("[v6]", IPvFuture).
bool isValidAuthority(std::string_view authority);

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
  std::string_view target() const { return target_; }  // as received
  TargetForm targetForm() const { return target_form_; }
  // origin-form: the target; absolute-form: its path-abempty and query ("" or "?q" when the path
  // is empty: a proxy writes "/" before it); asterisk-form: "*".
  std::string_view pathAndQuery() const { return path_; }
  // The request's authority: the target's in absolute-form (RFC 9112 §3.2.2), else the Host
  // field's value; empty when there is none (HTTP/1.0 without Host).
  std::string_view host() const { return host_; }
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
  bool parseTarget();
  Status requestHeadTooLarge(const char* data, size_t start, size_t len);
  Status finish();

  Kind kind_;
  ParseLimits limits_;
  bool request_was_head_ = false;
  size_t scan_pos_ = 0;  // where the search for the blank line resumes
  size_t head_size_ = 0;
  ParseError error_ = ParseError::kNone;

  std::string_view method_, target_, reason_, path_, host_;
  TargetForm target_form_ = TargetForm::kOrigin;
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
// input). A server keeps only `data`; a proxy forwarding a request re-frames it with reframe()
// (never the client's framing bytes); a proxy forwarding a validated response may pass the
// consumed bytes through (consumeAll).
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
  // Like consumeAll, and appends the consumed body to *out in canonical framing: Content-Length
  // and until-close payload verbatim; chunked as "<hex size>\r\n<data>\r\n" per run of payload
  // and "0\r\n\r\n" once the body ends (chunk extensions and trailer fields are dropped).
  // On an error, *out holds what was valid before it. Returns the bytes of `in` consumed.
  size_t reframe(std::string_view in, std::string* out);
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
    kChunkSize,       // hex digits
    kExtBws,          // BWS that must lead to ';'
    kExtNameStart,    // after ';': BWS, then the extension name
    kExtName,         // token
    kExtAfterName,    // BWS, then '=' or ';'
    kExtValueStart,   // after '=': BWS, then a token or a quoted-string
    kExtValueToken,   // token
    kExtQuoted,       // inside a quoted-string
    kExtQuotedPair,   // after '\\' in a quoted-string
    kExtAfterQuoted,  // after the closing quote
    kChunkSizeLf,     // saw CR after the size line
    kChunkDataCr,     // CRLF after chunk data
    kChunkDataLf,
    kTrailerLineStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,
    kDone,
    kError,
  };
  // One byte of chunk extensions (RFC 9112 §7.1.1); false on a syntax error.
  bool extensionByte(unsigned char c);
  // One byte of the trailer section (RFC 9112 §7.1.2); false on a syntax error.
  bool trailerByte(unsigned char c);
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
  uint32_t line_bytes_ = 0;  // bytes of the current extensions / all trailers (abuse limit)
  bool in_chunk_ = false;    // kData refers to chunk data
  bool final_emitted_ = false;  // reframe() wrote the last chunk
};

}  // namespace surge::net
