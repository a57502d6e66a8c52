// h2::ClientSession: the client side of one HTTP/2 connection (a gateway upstream) as a byte-in /
// byte-out state machine over libnghttp2 (framing, HPACK, flow control, stream states and HTTP
// messaging validation are nghttp2's; nothing of HTTP/2 is hand-written here). No sockets, no
// threads, no clock: the driver that owns the connection calls start(), feeds what it read
// (receive), writes what the session produced (send), submits requests (submitRequest + sendData)
// and passes responses on (callbacks), returning flow-control credit as it goes (consume).
//
// What it adds to nghttp2 is the bounds a proxy needs against a broken or hostile upstream
// (docs/design/h2.md, "Client sessions"):
//   - response header and trailer lists over `max_header_list_bytes` (name + value + 32 per field,
//     counted as they are decoded, so an HPACK bomb stops at the limit) or `max_header_fields` →
//     RST_STREAM(ENHANCE_YOUR_CALM) and on_close(kEnhanceYourCalm); nothing past the limit is kept;
//   - CONTINUATION floods: at most `max_continuations` CONTINUATION frames per header block
//     (nghttp2 option) → the session ends (GOAWAY); SETTINGS/PING floods likewise (bounded ACK
//     queue); any invalid frame or HTTP message → the session or the stream ends, as nghttp2 rules;
//   - response bodies: manual flow control. The session returns window credit only for bytes the
//     caller consume()s, so an upstream can push at most the stream window (`initial_window_size`)
//     per stream and the connection window over all streams ahead of a slow downstream;
//   - queued request bytes: sendData() fails with kResourceExhausted past `max_pending_output` (an
//     upstream that never opens its window pins at most that much);
//   - our own cap on concurrent streams, under the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
// Every submitted stream ends with exactly one on_close, whatever ends it (a complete response, a
// reset by either side, a GOAWAY, a dead session or connectionClosed()), and says whether the
// request may be retried elsewhere: only when the server provably did not process it.
// Complexity: O(bytes) per call plus nghttp2's per-frame work. Thread-safety: none (one owner).
// Callbacks run inside receive(), send() and connectionClosed(); they must not destroy the session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "net/h2/server_session.h"  // Header, ErrorCode

struct nghttp2_session;

namespace surge::h2 {

struct ClientLimits {
  uint32_t max_concurrent_streams = 1000;     // our own cap on streams opened on the connection
                                              // (the min with the peer's SETTINGS applies)
  uint32_t initial_window_size = 1u << 20;    // per-stream receive window we advertise
  uint32_t connection_window_size = 8u << 20;
  uint32_t header_table_size = 4096;          // HPACK dynamic table the peer's encoder may use
  uint32_t max_header_list_bytes = 64 * 1024; // response header/trailer lists, counted as decoded
                                              // → RST_STREAM(kEnhanceYourCalm) + on_close
  uint32_t max_header_fields = 256;
  size_t max_continuations = 8;
  size_t max_pending_output = 64u << 20;      // request bytes queued, not yet sent → sendData
                                              // fails with kResourceExhausted
};

struct ClientStats {
  uint64_t streams_submitted = 0;
  uint64_t streams_retryable = 0;      // closed with retryable = true
  uint64_t streams_reset_by_peer = 0;  // RST_STREAM received
  uint64_t header_lists_refused = 0;   // over max_header_list_bytes / max_header_fields
  uint64_t goaways_received = 0;
  std::string error;                   // why the session died ("" = it did not)
};

class ClientSession {
 public:
  struct Callbacks {
    // Final response headers (1xx informational blocks are skipped); end_stream: no body or
    // trailers follow.
    std::function<void(int32_t stream, std::vector<Header> headers, bool end_stream)> on_headers;
    // Response DATA; end_stream on the last (also called with empty data + end_stream = true if
    // the END_STREAM came on an empty DATA frame).
    std::function<void(int32_t stream, std::string_view data, bool end_stream)> on_data;
    // Trailers (a header block after the response headers; it ends the stream).
    std::function<void(int32_t stream, std::vector<Header> trailers)> on_trailers;
    // Stream gone (once per submitted stream): kNoError after a complete response, the RST code
    // otherwise. `retryable` = true when the server provably did not process it: REFUSED_STREAM,
    // or a stream id above a GOAWAY's last_stream_id, or never sent before the session died.
    std::function<void(int32_t stream, uint32_t error_code, bool retryable)> on_close;
    // GOAWAY received (no new streams on this session after it). Called before the on_close of
    // the streams it refuses.
    std::function<void(int32_t last_stream_id, uint32_t error_code)> on_goaway;
  };

  ClientSession(const ClientLimits& limits, Callbacks callbacks);
  // Calls no callback: call connectionClosed() first for the on_close of streams still open.
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Queues the client preface + SETTINGS (and the connection window). Call once before send().
  Status start();

  // Opens a stream with `headers` (pseudo-headers :method :scheme :authority :path first).
  // end_stream: no body. Fails (kUnavailable) when !canOpenStream(), kFailedPrecondition before
  // start(). The HEADERS go out on the next send().
  StatusOr<int32_t> submitRequest(const std::vector<Header>& headers, bool end_stream);
  // Request body bytes for an open stream; end_stream on the last (data may be empty).
  // kNotFound: the stream is closed; kFailedPrecondition: its body had ended;
  // kResourceExhausted: more than max_pending_output would be queued (nothing is queued then).
  Status sendData(int32_t stream, std::string data, bool end_stream);
  // RST_STREAM(error_code); no more on_headers/on_data/on_trailers for the stream, its on_close
  // follows (with error_code). A stream whose HEADERS were not sent yet is dropped unsent.
  void resetStream(int32_t stream, uint32_t error_code);
  // Manual flow control: response DATA bytes of `stream` the caller has passed on downstream;
  // the session returns window credit only for consumed bytes (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE),
  // so a slow downstream bounds what an upstream can push at us to the window. Bytes never
  // consumed when the stream closes are credited back to the connection at close (the stream's
  // window went with it); consume() of a closed stream does nothing.
  void consume(int32_t stream, size_t n);

  // Bytes read from the connection. An error means the session is dead (the peer broke the
  // protocol or a limit; a GOAWAY is queued if appropriate, every open stream got its on_close):
  // send() what is left, then close.
  Status receive(std::string_view bytes);
  // Appends up to `max_bytes` of output to `out`; returns how many were appended.
  size_t send(std::string* out, size_t max_bytes = SIZE_MAX);
  bool wantsWrite() const;
  // False after a fatal error, after connectionClosed(), or after a GOAWAY (either way) once no
  // stream remains: the driver closes the connection after writing what send() still returns.
  bool alive() const;
  // alive, no GOAWAY received or sent, stream ids left, open streams < min(our cap, peer's
  // SETTINGS_MAX_CONCURRENT_STREAMS; 100 until the peer's SETTINGS arrive).
  bool canOpenStream() const;
  size_t openStreams() const { return streams_.size(); }  // submitted, on_close not yet called
  size_t pendingOutputBytes() const { return pending_output_; }
  const ClientStats& stats() const { return stats_; }

  // GOAWAY(NO_ERROR): no new streams; open streams finish, then alive() turns false. Idempotent.
  void shutdown();
  // The transport is gone (EOF, read/write error, the driver's timeout): every open stream gets
  // on_close(kCancel, retryable = its HEADERS were never sent); the session is dead.
  void connectionClosed();

  // Tests and fuzzing: number streams from `id` (odd, positive), before the first request; reaches
  // stream-id exhaustion (after 2^31 - 1 the session shuts itself down: GOAWAY, open streams finish,
  // canOpenStream() false) without a billion requests.
  Status setNextStreamId(int32_t id);

  // Keep-alive probe: queues a PING (8 opaque bytes, a counter). pingOutstanding() is true from
  // ping() until the ACK of that (the last) PING arrives; pingAcked() once it has.
  void ping();
  bool pingOutstanding() const { return ping_outstanding_; }
  bool pingAcked() const { return ping_sent_ > 0 && !ping_outstanding_; }

 private:
  struct Stream {
    bool headers_sent = false;   // the HEADERS left through send()
    bool final_headers = false;  // on_headers called (a later block is trailers)
    bool quiet = false;          // over a limit or reset by us: deliver nothing more
    uint32_t quiet_code = 0;     // on_close's code when quiet (kEnhanceYourCalm for a limit)
    bool complete = false;       // the response ended (END_STREAM delivered)
    bool unsendable = false;     // nghttp2 could not send the HEADERS (not a GOAWAY's refusal)
    size_t header_bytes = 0;     // of the block being received
    size_t header_fields = 0;
    std::vector<Header> headers;
    std::string last_data;       // chunks of a DATA frame carrying END_STREAM, held to its end
    size_t unconsumed = 0;       // delivered DATA bytes not consume()d yet
    // Request body.
    std::string out;
    size_t out_offset = 0;
    bool out_end = false;        // no more data after `out`
    bool deferred = false;       // the provider returned DEFERRED
  };
  friend struct ClientCallbacks;

  Stream* find(int32_t id);
  bool retryable(int32_t id, const Stream& s, uint32_t error_code) const;
  // Calls on_close once and forgets the stream.
  void closeStream(int32_t id, uint32_t error_code, bool retryable);
  void onGoaway(int32_t last_stream_id, uint32_t error_code);
  // The session is dead: every open stream is closed (retryable if never sent).
  void die(const std::string& reason, uint32_t error_code);
  // After receive()/send(): notices that nghttp2 ended the session (or that it is over with
  // requests it will never send) and dies.
  void settle();

  ClientLimits limits_;
  Callbacks cb_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  size_t pending_output_ = 0;
  bool started_ = false;
  bool dead_ = false;
  bool transport_closed_ = false;
  std::string terminated_reason_;  // nghttp2 sent a GOAWAY with an error: why
  uint32_t terminated_code_ = 0;
  int last_invalid_ = 0;           // nghttp2's error for the last invalid frame received
  bool goaway_received_ = false;
  bool goaway_sent_ = false;
  int32_t goaway_last_stream_id_ = INT32_MAX;
  uint64_t ping_sent_ = 0;
  bool ping_outstanding_ = false;
  ClientStats stats_;
};

}  // namespace surge::h2
