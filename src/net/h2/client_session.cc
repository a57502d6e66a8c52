#include "net/h2/client_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace surge::h2 {
namespace {

std::vector<nghttp2_nv> toNv(const std::vector<Header>& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  for (const Header& h : headers) {
    nghttp2_nv v;
    v.name = reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data()));
    v.namelen = h.name.size();
    v.value = reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data()));
    v.valuelen = h.value.size();
    v.flags = NGHTTP2_NV_FLAG_NONE;
    nv.push_back(v);
  }
  return nv;
}

// A PING's 8 opaque bytes: the big-endian count of PINGs sent.
void pingOpaque(uint64_t n, uint8_t out[8]) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(n);
    n >>= 8;
  }
}

// Before the peer's SETTINGS arrive, RFC 9113 §6.5.2 leaves its stream limit unbounded; assume
// the value it recommends as a minimum, so a burst of requests on a new connection does not run
// into REFUSED_STREAMs of a server with a smaller limit.
constexpr uint32_t kPeerStreamsBeforeSettings = 100;

}  // namespace

// The nghttp2 callbacks, with access to the session's internals. User callbacks may call back
// into the session: no reference into streams_ is held across one.
struct ClientCallbacks {
  static ClientSession* self(void* user_data) { return static_cast<ClientSession*>(user_data); }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientSession::Stream* st = self(user_data)->find(frame->hd.stream_id);
    if (st == nullptr) return 0;
    st->header_bytes = 0;  // each block (1xx, final, trailers) is a list of its own
    st->header_fields = 0;
    st->headers.clear();
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;  // PUSH_PROMISE: refused by nghttp2
    ClientSession* s = self(user_data);
    const int32_t id = frame->hd.stream_id;
    ClientSession::Stream* st = s->find(id);
    if (st == nullptr || st->quiet) return 0;
    st->header_bytes += namelen + valuelen + 32;
    st->header_fields++;
    if (st->header_bytes > s->limits_.max_header_list_bytes ||
        st->header_fields > s->limits_.max_header_fields) {
      st->quiet = true;
      st->quiet_code = NGHTTP2_ENHANCE_YOUR_CALM;
      st->headers.clear();
      st->headers.shrink_to_fit();
      s->stats_.header_lists_refused++;
      // The rest of the block is still decoded by nghttp2 (the HPACK state must stay in step),
      // but nothing of it is kept.
      nghttp2_submit_rst_stream(s->session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_ENHANCE_YOUR_CALM);
      return 0;
    }
    st->headers.push_back(Header{std::string(reinterpret_cast<const char*>(name), namelen),
                                 std::string(reinterpret_cast<const char*>(value), valuelen)});
    return 0;
  }

  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientSession* s = self(user_data);
    const int32_t id = frame->hd.stream_id;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        ClientSession::Stream* st = s->find(id);
        if (st == nullptr || st->quiet) return 0;
        std::vector<Header> headers = std::move(st->headers);
        st->headers.clear();
        if (st->final_headers) {  // trailers: nghttp2 checked they carry END_STREAM
          st->complete = true;
          if (s->cb_.on_trailers) s->cb_.on_trailers(id, std::move(headers));
          return 0;
        }
        // nghttp2 checked :status (three digits, present once); 1xx blocks are not the response.
        const bool informational =
            !headers.empty() && headers.front().name == ":status" &&
            !headers.front().value.empty() && headers.front().value[0] == '1';
        if (informational) return 0;
        st->final_headers = true;
        st->complete = end_stream;
        if (s->cb_.on_headers) s->cb_.on_headers(id, std::move(headers), end_stream);
        return 0;
      }
      case NGHTTP2_DATA: {
        if (!end_stream) return 0;
        ClientSession::Stream* st = s->find(id);
        if (st == nullptr || st->quiet) return 0;
        std::string last = std::move(st->last_data);
        st->last_data.clear();
        st->complete = true;
        if (s->cb_.on_data) s->cb_.on_data(id, last, true);
        return 0;
      }
      case NGHTTP2_RST_STREAM:
        s->stats_.streams_reset_by_peer++;
        return 0;
      case NGHTTP2_GOAWAY:
        s->onGoaway(frame->goaway.last_stream_id, frame->goaway.error_code);
        return 0;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && s->ping_outstanding_) {
          uint8_t expected[8];
          pingOpaque(s->ping_sent_, expected);
          if (std::memcmp(expected, frame->ping.opaque_data, 8) == 0) {
            s->ping_outstanding_ = false;
          }
        }
        return 0;
      default:
        return 0;
    }
  }

  static int onDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t len, void* user_data) {
    ClientSession* s = self(user_data);
    ClientSession::Stream* st = s->find(stream_id);
    if (st == nullptr || st->quiet) {
      // Nobody will consume these: credit them back at once (stream and connection).
      nghttp2_session_consume(session, stream_id, len);
      return 0;
    }
    st->unconsumed += len;
    if ((flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      // The frame that ends the stream: its bytes go out with end_stream = true once the whole
      // frame is in (at most one frame, ≤ SETTINGS_MAX_FRAME_SIZE = 16 KiB, is held this way).
      st->last_data.append(reinterpret_cast<const char*>(data), len);
      return 0;
    }
    if (s->cb_.on_data) {
      s->cb_.on_data(stream_id, std::string_view(reinterpret_cast<const char*>(data), len), false);
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
    ClientSession* s = self(user_data);
    ClientSession::Stream* st = s->find(stream_id);
    if (st == nullptr) return 0;
    // Bytes delivered but not consumed: the stream's window went with it; the connection's is
    // credited back so it does not shrink for good.
    if (st->unconsumed > 0) nghttp2_session_consume_connection(session, st->unconsumed);
    st->unconsumed = 0;
    uint32_t code = error_code;
    if (st->quiet) {
      code = st->quiet_code;
    } else if (code == NGHTTP2_NO_ERROR && !st->complete) {
      code = NGHTTP2_PROTOCOL_ERROR;  // RST_STREAM(NO_ERROR) before the response ended
    }
    s->closeStream(stream_id, code, s->retryable(stream_id, *st, code));
    return 0;
  }

  static int beforeFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      ClientSession::Stream* st = self(user_data)->find(frame->hd.stream_id);
      if (st != nullptr) st->headers_sent = true;  // its bytes leave in this send()
    }
    return 0;
  }

  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientSession* s = self(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        s->terminated_reason_.empty()) {
      // nghttp2 ended the session (a connection error); its GOAWAY carries the reason.
      s->terminated_reason_ = "HTTP/2: ";
      s->terminated_reason_.append(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                   frame->goaway.opaque_data_len);
      if (frame->goaway.opaque_data_len == 0) {
        s->terminated_reason_ += nghttp2_http2_strerror(frame->goaway.error_code);
      }
      s->terminated_code_ = frame->goaway.error_code;
    }
    return 0;
  }

  static int onFrameNotSend(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                            void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    ClientSession::Stream* st = self(user_data)->find(frame->hd.stream_id);
    if (st == nullptr || st->quiet) return 0;
    if (lib_error_code == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED ||
        lib_error_code == NGHTTP2_ERR_SESSION_CLOSING) {
      return 0;  // refused by a GOAWAY: nghttp2 closes it with REFUSED_STREAM, retryable
    }
    // Not sendable at all (e.g. a header block over nghttp2's limit): retrying elsewhere would
    // fail the same way.
    st->quiet = true;
    st->quiet_code = NGHTTP2_INTERNAL_ERROR;
    st->unsendable = true;
    return 0;
  }

  static int onInvalidFrame(nghttp2_session*, const nghttp2_frame*, int lib_error_code,
                            void* user_data) {
    self(user_data)->last_invalid_ = lib_error_code;
    return 0;
  }

  static ssize_t readData(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    ClientSession* s = self(user_data);
    ClientSession::Stream* st = s->find(stream_id);
    if (st == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = std::min(st->out.size() - st->out_offset, length);
    if (n > 0) {
      std::memcpy(buf, st->out.data() + st->out_offset, n);
      st->out_offset += n;
      s->pending_output_ -= std::min(s->pending_output_, n);
      if (st->out_offset == st->out.size()) {
        st->out.clear();
        st->out_offset = 0;
      }
    }
    if (st->out.size() == st->out_offset) {
      if (st->out_end) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

ClientSession::ClientSession(const ClientLimits& limits, Callbacks callbacks)
    : limits_(limits), cb_(std::move(callbacks)) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &ClientCallbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &ClientCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &ClientCallbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &ClientCallbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &ClientCallbacks::onStreamClose);
  nghttp2_session_callbacks_set_before_frame_send_callback(cbs, &ClientCallbacks::beforeFrameSend);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &ClientCallbacks::onFrameSend);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, &ClientCallbacks::onFrameNotSend);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs,
                                                               &ClientCallbacks::onInvalidFrame);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);  // consume() returns the credit
  nghttp2_option_set_peer_max_concurrent_streams(
      opt, std::min(limits_.max_concurrent_streams, kPeerStreamsBeforeSettings));
  nghttp2_option_set_max_reserved_remote_streams(opt, 0);  // no server push
  nghttp2_option_set_max_continuations(opt, limits_.max_continuations);
  nghttp2_option_set_max_outbound_ack(opt, 1000);  // SETTINGS/PING floods: bounded ACK queue
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);  // whatever the peer allows
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
}

ClientSession::~ClientSession() {
  cb_ = Callbacks{};  // nghttp2 may close streams while deleting: nobody is listening any more
  nghttp2_session_del(session_);
}

ClientSession::Stream* ClientSession::find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool ClientSession::retryable(int32_t id, const Stream& s, uint32_t code) const {
  if (s.final_headers || s.unsendable) return false;  // something was passed on, or never can be
  return !s.headers_sent || code == NGHTTP2_REFUSED_STREAM || id > goaway_last_stream_id_;
}

void ClientSession::closeStream(int32_t id, uint32_t error_code, bool retryable) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  pending_output_ -= std::min(pending_output_, it->second.out.size() - it->second.out_offset);
  streams_.erase(it);
  if (retryable) stats_.streams_retryable++;
  if (cb_.on_close) cb_.on_close(id, error_code, retryable);
}

void ClientSession::onGoaway(int32_t last_stream_id, uint32_t error_code) {
  goaway_received_ = true;
  goaway_last_stream_id_ = std::min(goaway_last_stream_id_, last_stream_id);
  stats_.goaways_received++;
  if (cb_.on_goaway) cb_.on_goaway(last_stream_id, error_code);
  // Requests still queued behind the peer's stream limit will never be sent (nghttp2 refuses new
  // streams after a GOAWAY): close them now, retryable, rather than when a slot frees up. nghttp2
  // closes those above last_stream_id it did send right after this, with REFUSED_STREAM.
  std::vector<int32_t> unsent;
  for (const auto& [id, st] : streams_) {
    if (!st.headers_sent) unsent.push_back(id);
  }
  for (int32_t id : unsent) {
    Stream* st = find(id);
    if (st == nullptr) continue;  // closed by an on_close callback meanwhile
    st->quiet = true;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);  // unqueue
    closeStream(id, NGHTTP2_REFUSED_STREAM, !st->unsendable);
  }
}

void ClientSession::die(const std::string& reason, uint32_t error_code) {
  if (dead_) return;
  dead_ = true;
  if (stats_.error.empty()) stats_.error = reason;
  while (!streams_.empty()) {
    auto it = streams_.begin();
    const int32_t id = it->first;
    closeStream(id, error_code, retryable(id, it->second, error_code));
  }
}

void ClientSession::settle() {
  if (dead_) return;
  if (!terminated_reason_.empty()) {
    die(terminated_reason_, terminated_code_);
    return;
  }
  const bool want_read = nghttp2_session_want_read(session_) != 0;
  const bool want_write = nghttp2_session_want_write(session_) != 0;
  // nghttp2 queued a GOAWAY for a connection error in receive() (its own terminate: new streams
  // are no longer allowed although no GOAWAY arrived and ids are left).
  if ((want_read || want_write) && !goaway_received_ &&
      nghttp2_session_check_request_allowed(session_) == 0 &&
      nghttp2_session_get_next_stream_id(session_) <= static_cast<uint32_t>(INT32_MAX)) {
    std::string reason = "HTTP/2: the upstream broke the protocol";
    if (last_invalid_ != 0) reason += std::string(" (") + nghttp2_strerror(last_invalid_) + ")";
    die(reason, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  // Over (GOAWAY and nothing left to do) with streams nghttp2 will never send, e.g. behind a peer
  // limit of 0 streams.
  if (!want_read && !want_write && !streams_.empty()) {
    die("HTTP/2: session over with requests unsent", NGHTTP2_REFUSED_STREAM);
  }
}

Status ClientSession::start() {
  if (started_) return failedPrecondition("HTTP/2: session already started");
  started_ = true;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.initial_window_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits_.header_table_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
  };
  int rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                                   sizeof(settings) / sizeof(settings[0]));
  if (rv != 0) return invalidArgument(std::string("HTTP/2 SETTINGS: ") + nghttp2_strerror(rv));
  if (limits_.connection_window_size > 65535) {
    rv = nghttp2_session_set_local_window_size(
        session_, NGHTTP2_FLAG_NONE, 0,
        static_cast<int32_t>(std::min<uint32_t>(limits_.connection_window_size, INT32_MAX)));
    if (rv != 0) return internalError(std::string("HTTP/2 window: ") + nghttp2_strerror(rv));
  }
  return Status::ok();
}

bool ClientSession::canOpenStream() const {
  if (!started_ || dead_ || goaway_received_ || goaway_sent_) return false;
  if (nghttp2_session_check_request_allowed(session_) == 0) return false;
  const uint32_t peer =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < std::min(limits_.max_concurrent_streams, peer);
}

StatusOr<int32_t> ClientSession::submitRequest(const std::vector<Header>& headers,
                                               bool end_stream) {
  if (!started_) return failedPrecondition("HTTP/2: submitRequest() before start()");
  if (!canOpenStream()) {
    return unavailable(dead_ ? "HTTP/2 session ended: " + stats_.error
                             : std::string("HTTP/2 session cannot open a stream (GOAWAY or "
                                           "concurrent stream limit)"));
  }
  std::vector<nghttp2_nv> nv = toNv(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = &ClientCallbacks::readData;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                            end_stream ? nullptr : &provider, nullptr);
  if (id < 0) return unavailable(std::string("HTTP/2 request: ") + nghttp2_strerror(id));
  Stream& s = streams_[id];
  s.out_end = end_stream;
  stats_.streams_submitted++;
  // The last stream id a client may use (2^31 - 1; a connection at 100k requests/s gets there in
  // about three hours): say goodbye, so the streams in flight finish and alive() turns false.
  if (nghttp2_session_get_next_stream_id(session_) > static_cast<uint32_t>(INT32_MAX)) shutdown();
  return id;
}

Status ClientSession::setNextStreamId(int32_t id) {
  if (stats_.streams_submitted > 0 || id <= 0 || id % 2 == 0) {
    return failedPrecondition("HTTP/2: next stream id: odd, positive, before the first request");
  }
  const int rv = nghttp2_session_set_next_stream_id(session_, id);
  if (rv != 0) return invalidArgument(std::string("HTTP/2 next stream id: ") + nghttp2_strerror(rv));
  return Status::ok();
}

Status ClientSession::sendData(int32_t stream, std::string data, bool end_stream) {
  Stream* s = find(stream);
  if (s == nullptr) return notFound("HTTP/2 stream " + std::to_string(stream) + " is closed");
  if (s->out_end || s->quiet) {
    return failedPrecondition("HTTP/2: data after the end of stream " + std::to_string(stream));
  }
  if (pending_output_ + data.size() > limits_.max_pending_output) {
    return Status(StatusCode::kResourceExhausted, "HTTP/2: too much request data queued");
  }
  pending_output_ += data.size();
  if (s->out_offset > 0) {
    s->out.erase(0, s->out_offset);
    s->out_offset = 0;
  }
  if (s->out.empty()) {
    s->out = std::move(data);
  } else {
    s->out += data;
  }
  s->out_end = end_stream;
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, stream);
  }
  return Status::ok();
}

void ClientSession::resetStream(int32_t stream, uint32_t error_code) {
  Stream* s = find(stream);
  if (s == nullptr || s->quiet) return;
  s->quiet = true;
  s->quiet_code = error_code;
  pending_output_ -= std::min(pending_output_, s->out.size() - s->out_offset);
  s->out.clear();
  s->out_offset = 0;
  // Also unqueues a request whose HEADERS were not sent yet; nghttp2 then closes it.
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code);
}

void ClientSession::consume(int32_t stream, size_t n) {
  Stream* s = find(stream);
  if (s == nullptr || dead_) return;
  n = std::min(n, s->unconsumed);
  if (n == 0) return;
  s->unconsumed -= n;
  nghttp2_session_consume(session_, stream, n);
}

Status ClientSession::receive(std::string_view bytes) {
  if (!started_) return failedPrecondition("HTTP/2: receive() before start()");
  if (dead_) return failedPrecondition("HTTP/2 session ended: " + stats_.error);
  const ssize_t n = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (n < 0) {
    const int err = static_cast<int>(n);
    const bool flood = err == NGHTTP2_ERR_FLOODED || err == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
                       err == NGHTTP2_ERR_TOO_MANY_SETTINGS;
    const uint32_t code = flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR;
    nghttp2_session_terminate_session(session_, code);
    die(std::string("HTTP/2: ") + nghttp2_strerror(err), code);
  } else {
    settle();
  }
  if (dead_) return invalidArgument(stats_.error);
  return Status::ok();
}

size_t ClientSession::send(std::string* out, size_t max_bytes) {
  if (transport_closed_) return 0;
  size_t total = 0;
  while (total < max_bytes) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
  settle();
  return total;
}

bool ClientSession::wantsWrite() const {
  return !transport_closed_ && nghttp2_session_want_write(session_) != 0;
}

bool ClientSession::alive() const {
  if (dead_) return false;
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

void ClientSession::shutdown() {
  if (goaway_sent_ || dead_ || !started_) return;
  goaway_sent_ = true;
  // No stream of the server's was accepted (push is off): last_stream_id 0.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void ClientSession::connectionClosed() {
  if (transport_closed_) return;
  transport_closed_ = true;
  die(streams_.empty() ? std::string() : "HTTP/2: connection closed", NGHTTP2_CANCEL);
  dead_ = true;
}

void ClientSession::ping() {
  if (!started_ || dead_) return;
  uint8_t opaque[8];
  pingOpaque(++ping_sent_, opaque);
  if (nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, opaque) == 0) ping_outstanding_ = true;
}

}  // namespace surge::h2
