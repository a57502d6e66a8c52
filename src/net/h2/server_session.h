// h2::ServerSession: the server side of one HTTP/2 connection as a byte-in / byte-out state
// machine over libnghttp2 (framing, HPACK, flow control and stream states are nghttp2's; nothing
// of HTTP/2 is hand-written here). No sockets, no threads, no clock: the driver that owns the
// connection feeds what it read (receive), writes what the session produced (send), and answers
// requests (respond / sendHeaders + sendData + sendTrailers). Used by the model server's gRPC
// endpoint and the gateway's HTTP/2 listener alike.
//
// What it adds to nghttp2 is the bounds an edge needs against a hostile peer
// (docs/design/h2.md):
//   - SETTINGS: max concurrent streams, the per-stream receive window, the HPACK dynamic table the
//     peer's encoder may use, the header list size (advertised and enforced);
//   - header lists over `max_header_list_bytes` (name + value + 32 per field, RFC 9113 §6.5.2,
//     counted as they are decoded: an HPACK bomb of tiny references to a large table entry is
//     stopped at the limit) or over `max_header_fields` → RST_STREAM(ENHANCE_YOUR_CALM) for that
//     stream; the session counts such abuses and ends with GOAWAY(ENHANCE_YOUR_CALM) after
//     `max_abuses`;
//   - CONTINUATION floods: at most `max_continuations` CONTINUATION frames per header block
//     (nghttp2 option) → GOAWAY;
//   - rapid reset (streams opened and reset by the client at once): nghttp2's reset rate limit
//     (a token bucket, `reset_burst` / `reset_rate_per_s`) → GOAWAY(ENHANCE_YOUR_CALM);
//   - request bodies: `max_request_body` per stream (RST_STREAM(ENHANCE_YOUR_CALM), on_close
//     reports it; a protocol above — gRPC's message size — answers a clear error well before this
//     hard cap) and `max_buffered_body` over the session's open streams (GOAWAY);
//   - queued output: respond()/sendData() fail with kResourceExhausted past
//     `max_pending_output` (a peer that never opens its receive window — a zero-window stall — can
//     pin at most that much; the driver also closes a connection whose output makes no progress).
// Graceful shutdown: shutdown() sends GOAWAY(NO_ERROR, 2^31-1) and a PING; on the PING's ACK (the
// client has seen the notice) the final GOAWAY with the last stream actually processed follows:
// streams in flight finish, new ones are refused, nothing the client sent before is lost.
// Complexity: O(bytes) per call plus nghttp2's per-frame work. Thread-safety: none (one owner).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct nghttp2_session;

namespace surge::h2 {

struct Header {
  std::string name;   // lower-case; pseudo-headers (":method", ":path", …) first
  std::string value;
};

// HTTP/2 error codes (RFC 9113 §7) used by the session and its callers.
enum ErrorCode : uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kEnhanceYourCalm = 0xb,
};

struct ServerLimits {
  uint32_t max_concurrent_streams = 128;
  uint32_t initial_window_size = 1u << 20;   // per-stream receive window (bytes)
  uint32_t connection_window_size = 8u << 20;
  uint32_t header_table_size = 4096;         // HPACK dynamic table the peer may use
  uint32_t max_header_list_bytes = 64 * 1024;
  uint32_t max_header_fields = 256;
  size_t max_continuations = 8;
  uint64_t reset_burst = 1000;               // rapid reset: token bucket size …
  uint64_t reset_rate_per_s = 33;            // … and refill rate (nghttp2's defaults)
  size_t max_request_body = 64u << 20;       // per stream
  size_t max_buffered_body = 256u << 20;     // request bytes over the open streams
  size_t max_pending_output = 64u << 20;     // response bytes queued, not yet sent
  int max_abuses = 16;                       // RST_STREAM(ENHANCE_YOUR_CALM)s before GOAWAY
};

struct SessionStats {
  uint64_t streams_opened = 0;
  uint64_t streams_reset_by_peer = 0;
  uint64_t streams_refused = 0;     // over a limit: RST_STREAM sent by us
  uint64_t goaways_sent = 0;
  std::string goaway_reason;        // why the session ended itself ("" = it did not)
};

class ServerSession {
 public:
  struct Callbacks {
    // A request's header block is complete (headers in arrival order, pseudo-headers first);
    // end_stream: no body follows.
    std::function<void(int32_t stream, std::vector<Header> headers, bool end_stream)> on_request;
    // Request body bytes (already counted against the limits); end_stream on the last.
    std::function<void(int32_t stream, std::string_view data, bool end_stream)> on_data;
    // The stream is gone: completed (kNoError after our response), reset by the peer, refused by a
    // limit or ended with the session. Called once per stream that reached on_request.
    std::function<void(int32_t stream, uint32_t error_code)> on_close;
  };

  ServerSession(const ServerLimits& limits, Callbacks callbacks);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Bytes read from the connection (the client preface first). An error means the peer broke the
  // protocol or a limit that ends the session: a GOAWAY is queued; send() what is left, then close.
  Status receive(std::string_view bytes);
  // Appends up to `max_bytes` of output to `out`; returns how many were appended.
  size_t send(std::string* out, size_t max_bytes = SIZE_MAX);
  bool wantsWrite() const;
  // False once the session is over (GOAWAY exchanged and no stream left, or a fatal error): the
  // driver closes the connection after writing what send() still returns.
  bool alive() const;

  // A whole response: headers, body (may be empty) and trailers (may be empty; gRPC's
  // grpc-status lives there).
  Status respond(int32_t stream, const std::vector<Header>& headers, std::string body,
                 const std::vector<Header>& trailers = {});
  // Streaming: headers once, then data (end_stream on the last or use sendTrailers).
  Status sendHeaders(int32_t stream, const std::vector<Header>& headers);
  Status sendData(int32_t stream, std::string data, bool end_stream);
  Status sendTrailers(int32_t stream, const std::vector<Header>& trailers);
  void resetStream(int32_t stream, uint32_t error_code);

  // Graceful shutdown (above). Idempotent.
  void shutdown();
  // Ends the session at once: GOAWAY(error_code) with the last processed stream; open streams
  // are closed.
  void terminate(uint32_t error_code, const std::string& reason);

  size_t openStreams() const { return streams_.size(); }
  size_t pendingOutputBytes() const { return pending_output_; }
  // Response DATA bytes of `stream` queued, not yet handed to send() (0 for a closed stream).
  size_t queuedBytes(int32_t stream) const;
  const SessionStats& stats() const { return stats_; }

 private:
  struct Stream {
    size_t header_bytes = 0;
    size_t header_fields = 0;
    bool header_abuse = false;
    bool delivered = false;      // on_request called
    size_t body_bytes = 0;       // received
    std::vector<Header> headers;
    // Output.
    std::string out;             // queued DATA payload
    size_t out_offset = 0;
    bool out_end = false;        // no more data after `out`
    bool data_started = false;   // a data provider is attached
    bool deferred = false;       // the provider returned DEFERRED
    std::vector<Header> trailers;
    bool has_trailers = false;
  };
  friend struct Callbacks_;
  friend struct SessionCallbacks;

  Stream* find(int32_t id);
  Status startData(int32_t stream, Stream& s);
  void abuse(int32_t stream, const char* why);
  void fatal(uint32_t error_code, const std::string& reason);

  ServerLimits limits_;
  Callbacks cb_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  size_t buffered_body_ = 0;
  size_t pending_output_ = 0;
  int abuses_ = 0;
  bool shutting_down_ = false;
  bool final_goaway_sent_ = false;
  bool dead_ = false;
  SessionStats stats_;
};

}  // namespace surge::h2
