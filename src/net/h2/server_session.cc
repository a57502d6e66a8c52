#include "net/h2/server_session.h"

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

}  // namespace

// The nghttp2 callbacks, with access to the session's internals.
struct SessionCallbacks {
  static ServerSession* self(void* user_data) { return static_cast<ServerSession*>(user_data); }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ServerSession* s = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    s->streams_[frame->hd.stream_id];  // created
    s->stats_.streams_opened++;
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    ServerSession* s = self(user_data);
    ServerSession::Stream* st = s->find(frame->hd.stream_id);
    if (st == nullptr || st->header_abuse) return 0;  // trailers of a request, or already refused
    if (st->delivered) return 0;                       // request trailers: not kept
    st->header_bytes += namelen + valuelen + 32;
    st->header_fields++;
    if (st->header_bytes > s->limits_.max_header_list_bytes ||
        st->header_fields > s->limits_.max_header_fields) {
      st->header_abuse = true;
      st->headers.clear();
      st->headers.shrink_to_fit();
      s->abuse(frame->hd.stream_id, "header list over the limit");
      return 0;
    }
    st->headers.push_back(Header{std::string(reinterpret_cast<const char*>(name), namelen),
                                 std::string(reinterpret_cast<const char*>(value), valuelen)});
    return 0;
  }

  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    ServerSession* s = self(user_data);
    const int32_t id = frame->hd.stream_id;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        ServerSession::Stream* st = s->find(id);
        if (st == nullptr || st->header_abuse) return 0;
        if (!st->delivered) {
          st->delivered = true;
          std::vector<Header> headers = std::move(st->headers);
          st->headers.clear();
          if (s->cb_.on_request) s->cb_.on_request(id, std::move(headers), end_stream);
        } else if (end_stream && s->cb_.on_data) {
          s->cb_.on_data(id, std::string_view(), true);  // request trailers end the body
        }
        return 0;
      }
      case NGHTTP2_DATA: {
        ServerSession::Stream* st = s->find(id);
        if (end_stream && st != nullptr && st->delivered && !st->header_abuse && s->cb_.on_data) {
          s->cb_.on_data(id, std::string_view(), true);
        }
        return 0;
      }
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && s->shutting_down_ &&
            !s->final_goaway_sent_) {
          s->final_goaway_sent_ = true;
          nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(session), NGHTTP2_NO_ERROR,
                                nullptr, 0);
        }
        return 0;
      case NGHTTP2_RST_STREAM:
        s->stats_.streams_reset_by_peer++;
        return 0;
      default:
        return 0;
    }
  }

  static int onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user_data) {
    ServerSession* s = self(user_data);
    ServerSession::Stream* st = s->find(stream_id);
    if (st == nullptr || st->header_abuse || !st->delivered) return 0;
    st->body_bytes += len;
    s->buffered_body_ += len;
    if (st->body_bytes > s->limits_.max_request_body) {
      st->header_abuse = true;  // stop delivering
      s->stats_.streams_refused++;
      nghttp2_submit_rst_stream(s->session_, NGHTTP2_FLAG_NONE, stream_id,
                                NGHTTP2_ENHANCE_YOUR_CALM);
      return 0;
    }
    if (s->buffered_body_ > s->limits_.max_buffered_body) {
      s->fatal(NGHTTP2_ENHANCE_YOUR_CALM, "request bodies over the session's limit");
      return 0;
    }
    if (s->cb_.on_data) {
      s->cb_.on_data(stream_id, std::string_view(reinterpret_cast<const char*>(data), len), false);
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
    ServerSession* s = self(user_data);
    auto it = s->streams_.find(stream_id);
    if (it == s->streams_.end()) return 0;
    const bool delivered = it->second.delivered;
    s->buffered_body_ -= std::min(s->buffered_body_, it->second.body_bytes);
    s->pending_output_ -=
        std::min(s->pending_output_, it->second.out.size() - it->second.out_offset);
    s->streams_.erase(it);
    if (delivered && s->cb_.on_close) s->cb_.on_close(stream_id, error_code);
    return 0;
  }

  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ServerSession* s = self(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      s->stats_.goaways_sent++;
      if (frame->goaway.error_code != NGHTTP2_NO_ERROR && s->stats_.goaway_reason.empty()) {
        s->stats_.goaway_reason = nghttp2_http2_strerror(frame->goaway.error_code);
      }
    }
    return 0;
  }

  static ssize_t readData(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    ServerSession* s = self(user_data);
    ServerSession::Stream* st = s->find(stream_id);
    if (st == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t left = st->out.size() - st->out_offset;
    const size_t n = std::min(left, length);
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
      if (!st->out_end) {
        if (n == 0) {
          st->deferred = true;
          return NGHTTP2_ERR_DEFERRED;
        }
        return static_cast<ssize_t>(n);
      }
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (st->has_trailers) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nv = toNv(st->trailers);
        if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) != 0) {
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
      }
    }
    return static_cast<ssize_t>(n);
  }
};

ServerSession::ServerSession(const ServerLimits& limits, Callbacks callbacks)
    : limits_(limits), cb_(std::move(callbacks)) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &SessionCallbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &SessionCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &SessionCallbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &SessionCallbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &SessionCallbacks::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &SessionCallbacks::onFrameSend);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_continuations(opt, limits_.max_continuations);
  nghttp2_option_set_stream_reset_rate_limit(opt, limits_.reset_burst, limits_.reset_rate_per_s);
  nghttp2_option_set_max_outbound_ack(opt, 1000);  // SETTINGS/PING floods: bounded ACK queue
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.initial_window_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits_.header_table_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  if (limits_.connection_window_size > 65535) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(limits_.connection_window_size));
  }
}

ServerSession::~ServerSession() {
  cb_ = Callbacks{};  // nghttp2 may close streams while deleting: nobody is listening any more
  nghttp2_session_del(session_);
}

size_t ServerSession::queuedBytes(int32_t stream) const {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return 0;
  return it->second.out.size() - it->second.out_offset;
}

ServerSession::Stream* ServerSession::find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

void ServerSession::abuse(int32_t stream, const char* why) {
  stats_.streams_refused++;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, NGHTTP2_ENHANCE_YOUR_CALM);
  if (++abuses_ >= limits_.max_abuses) {
    fatal(NGHTTP2_ENHANCE_YOUR_CALM, std::string("too many refused streams (last: ") + why + ")");
  }
}

void ServerSession::fatal(uint32_t error_code, const std::string& reason) {
  if (dead_) return;
  dead_ = true;
  if (stats_.goaway_reason.empty()) stats_.goaway_reason = reason;
  nghttp2_session_terminate_session(session_, error_code);
}

Status ServerSession::receive(std::string_view bytes) {
  if (dead_) return failedPrecondition("session ended: " + stats_.goaway_reason);
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size());
  if (n < 0) {
    const int err = static_cast<int>(n);
    const bool flood = err == NGHTTP2_ERR_FLOODED || err == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
                       err == NGHTTP2_ERR_TOO_MANY_SETTINGS;
    std::string reason = std::string("HTTP/2: ") + nghttp2_strerror(err);
    if (!dead_) {
      dead_ = true;
      if (stats_.goaway_reason.empty()) stats_.goaway_reason = reason;
      nghttp2_session_terminate_session(session_,
                                        flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    }
    return invalidArgument(reason);
  }
  if (dead_) return invalidArgument("HTTP/2: " + stats_.goaway_reason);
  return Status::ok();
}

size_t ServerSession::send(std::string* out, size_t max_bytes) {
  size_t total = 0;
  while (total < max_bytes) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
  return total;
}

bool ServerSession::wantsWrite() const { return nghttp2_session_want_write(session_) != 0; }

bool ServerSession::alive() const {
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

Status ServerSession::startData(int32_t stream, Stream& s) {
  if (s.data_started) {
    if (s.deferred) {
      s.deferred = false;
      nghttp2_session_resume_data(session_, stream);
    }
    return Status::ok();
  }
  s.data_started = true;
  nghttp2_data_provider provider{};
  provider.read_callback = &SessionCallbacks::readData;
  // Headers were submitted already (sendHeaders): DATA follows through a provider attached now.
  if (nghttp2_submit_data(session_, NGHTTP2_FLAG_END_STREAM, stream, &provider) != 0) {
    return internalError("HTTP/2: cannot submit data on stream " + std::to_string(stream));
  }
  return Status::ok();
}

Status ServerSession::respond(int32_t stream, const std::vector<Header>& headers, std::string body,
                              const std::vector<Header>& trailers) {
  Stream* s = find(stream);
  if (s == nullptr) return notFound("HTTP/2 stream " + std::to_string(stream) + " is closed");
  if (pending_output_ + body.size() > limits_.max_pending_output) {
    return Status(StatusCode::kResourceExhausted, "HTTP/2: too much output queued");
  }
  pending_output_ += body.size();
  s->out = std::move(body);
  s->out_offset = 0;
  s->out_end = true;
  s->trailers = trailers;
  s->has_trailers = !trailers.empty();
  s->data_started = true;
  std::vector<nghttp2_nv> nv = toNv(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = &SessionCallbacks::readData;
  const bool no_data = s->out.empty() && !s->has_trailers;
  int rv = nghttp2_submit_response(session_, stream, nv.data(), nv.size(),
                                   no_data ? nullptr : &provider);
  if (rv != 0) return internalError(std::string("HTTP/2: ") + nghttp2_strerror(rv));
  return Status::ok();
}

Status ServerSession::sendHeaders(int32_t stream, const std::vector<Header>& headers) {
  Stream* s = find(stream);
  if (s == nullptr) return notFound("HTTP/2 stream " + std::to_string(stream) + " is closed");
  std::vector<nghttp2_nv> nv = toNv(headers);
  // Headers without END_STREAM; the data provider is attached on the first sendData/Trailers.
  int rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream, nullptr, nv.data(),
                                  nv.size(), nullptr);
  if (rv < 0) return internalError(std::string("HTTP/2: ") + nghttp2_strerror(rv));
  return Status::ok();
}

Status ServerSession::sendData(int32_t stream, std::string data, bool end_stream) {
  Stream* s = find(stream);
  if (s == nullptr) return notFound("HTTP/2 stream " + std::to_string(stream) + " is closed");
  if (s->out_end) return failedPrecondition("HTTP/2: data after the end of the stream");
  if (pending_output_ + data.size() > limits_.max_pending_output) {
    return Status(StatusCode::kResourceExhausted, "HTTP/2: too much output queued");
  }
  pending_output_ += data.size();
  if (s->out_offset > 0) {
    s->out.erase(0, s->out_offset);
    s->out_offset = 0;
  }
  s->out += data;
  s->out_end = end_stream;
  return startData(stream, *s);
}

Status ServerSession::sendTrailers(int32_t stream, const std::vector<Header>& trailers) {
  Stream* s = find(stream);
  if (s == nullptr) return notFound("HTTP/2 stream " + std::to_string(stream) + " is closed");
  if (s->out_end) return failedPrecondition("HTTP/2: trailers after the end of the stream");
  s->trailers = trailers;
  s->has_trailers = true;
  s->out_end = true;
  return startData(stream, *s);
}

void ServerSession::resetStream(int32_t stream, uint32_t error_code) {
  if (find(stream) == nullptr) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code);
}

void ServerSession::shutdown() {
  if (shutting_down_ || dead_) return;
  shutting_down_ = true;
  nghttp2_submit_shutdown_notice(session_);
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
}

void ServerSession::terminate(uint32_t error_code, const std::string& reason) {
  fatal(error_code, reason);
}

}  // namespace surge::h2
