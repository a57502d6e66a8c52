#include "gateway/h2_proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "gateway/activator.h"
#include "gateway/h2_rewrite.h"
#include "gateway/host_selection.h"
#include "gateway/proxy.h"
#include "gateway/retry_policy.h"
#include "net/h2/grpc_framing.h"
#include "net/tls/tls.h"

namespace surge::gateway {

namespace {

inline int statusClass(int status) {
  int c = status / 100;
  return (c >= 1 && c <= 5) ? c : 0;
}

// Response bytes of one stream queued toward its client above which that stream's upstream DATA
// is no longer credited back (its upstream window stays closed until the client reads).
constexpr size_t kMaxQueuedPerStream = 256u << 10;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kWriteChunk = 64 * 1024;

}  // namespace

// One proxied stream.
struct H2Call {
  H2Downstream* down = nullptr;
  int32_t stream = 0;
  std::vector<h2::Header> up_headers;
  std::string body;         // request body bytes kept for a replay (while replayable)
  uint64_t body_bytes = 0;  // received from the client
  bool body_done = false;
  bool replayable = true;
  bool grpc = false;
  std::optional<uint64_t> hash_key;
  TimePoint start{};
  TimePoint deadline = TimePoint::max();  // timeouts.request or grpc-timeout
  TimePoint try_deadline = TimePoint::max();
  bool deadline_is_grpc = false;
  // attempt
  lb::Host* host = nullptr;
  HostPool* pool = nullptr;
  H2Upstream* up = nullptr;
  int32_t up_stream = -1;
  int tries = 0;
  std::array<const lb::Host*, 8> excluded{};
  size_t excluded_n = 0;
  int fail_status = 502;
  TimePoint sent_at{};
  bool resp_started = false;  // response headers handed to the client's session
  bool resp_from_up = false;  // this try received something
  bool resp_done = false;     // the client's stream has its whole answer queued
  bool counted = false;
  bool retry_counted = false;
  int status = 0;
  size_t unconsumed = 0;  // upstream DATA bytes not yet credited back
  HostPool* answered_by = nullptr;  // the backend whose answer went out (held for the metric)
  bool held = false;          // in the activator's queue (no replica ready yet)
  bool waiting = false;       // picked, waiting for a stream slot on its backend's connections
  TimePoint hold_deadline{};  // held: answered 503 / UNAVAILABLE at this time
};

// ---- ClientIo -----------------------------------------------------------------------------------

ssize_t ClientIo::read(char* buf, size_t n) {
  if (tls != nullptr) {
    tls::Io st = tls::Io::kOk;
    size_t r = tls->read(buf, n, &st);
    if (r > 0) return static_cast<ssize_t>(r);
    if (st == tls::Io::kWantRead || st == tls::Io::kWantWrite) return -1;
    if (st == tls::Io::kEof) return 0;
    return -2;
  }
  while (true) {
    ssize_t r = ::recv(fd, buf, n, 0);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    return -2;
  }
}

ssize_t ClientIo::write(const char* buf, size_t n) {
  if (tls != nullptr) {
    tls::Io st = tls::Io::kOk;
    size_t r = tls->write(buf, n, &st);
    if (r > 0) return static_cast<ssize_t>(r);
    if (st == tls::Io::kWantRead || st == tls::Io::kWantWrite) return 0;
    return -1;
  }
  while (true) {
    ssize_t r = ::send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

size_t ClientIo::pending() const { return tls != nullptr ? tls->pending() : 0; }

// ---- H2Downstream -------------------------------------------------------------------------------

H2Downstream::H2Downstream(Worker& w, H2Owner& owner, ClientIo io, std::string client_ip, bool tls)
    : w_(w), hub_(*w.h2_), owner_(owner), io_(io), client_ip_(std::move(client_ip)), tls_(tls) {
  const auto& o = w_.options_.http2;
  h2::ServerLimits limits;
  limits.max_concurrent_streams = o.max_concurrent_streams;
  limits.initial_window_size = o.initial_stream_window;
  limits.connection_window_size = o.initial_connection_window;
  limits.max_header_list_bytes = static_cast<uint32_t>(w_.options_.max_header_bytes);
  // The session's own cap is a backstop above max_body_size: onData answers 413 first.
  limits.max_request_body = w_.options_.max_body_bytes + (1u << 20);
  limits.max_buffered_body = std::max<uint64_t>(w_.options_.max_body_bytes, 256u << 20);
  limits.max_pending_output = 64u << 20;
  h2::ServerSession::Callbacks cb;
  cb.on_request = [this](int32_t s, std::vector<h2::Header> h, bool end) {
    onRequest(s, std::move(h), end);
  };
  cb.on_data = [this](int32_t s, std::string_view d, bool end) { onData(s, d, end); };
  cb.on_close = [this](int32_t s, uint32_t code) { onStreamClose(s, code); };
  ss_ = std::make_unique<h2::ServerSession>(limits, std::move(cb));
}

H2Downstream::~H2Downstream() { abort(); }

void H2Downstream::start(std::string_view first_bytes) {
  idle_deadline_ = w_.now() + w_.options_.idle_timeout;
  deadline_ = idle_deadline_;
  if (w_.metrics_.h2_connections) w_.metrics_.h2_connections->inc();
  if (!first_bytes.empty()) {
    Status st = ss_->receive(first_bytes);
    if (!st.isOk()) eof_ = true;
  }
  if (w_.shutting_down_) onShutdown();
  readSome();
  hub_.markDirty(this);
}

void H2Downstream::onIo(uint32_t events) {
  if (finished_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) write_blocked_ = false;
  if (readable_) readSome();
  hub_.markDirty(this);
}

void H2Downstream::readSome() {
  char buf[kReadChunk];
  int rounds = 0;
  while ((readable_ || io_.pending() > 0) && !eof_ && !finished_) {
    // Bounded per event: a client streaming at line rate must not starve the worker's others;
    // the rest is read on the next batch (readiness kept).
    if (++rounds > 16) {
      hub_.markDirty(this);
      return;
    }
    // Backpressure: while the client does not read what we answer, stop reading its requests.
    if (ss_->pendingOutputBytes() + (out_.size() - out_off_) > (16u << 20)) return;
    ssize_t n = io_.read(buf, sizeof buf);
    if (n > 0) {
      Status st = ss_->receive(std::string_view(buf, static_cast<size_t>(n)));
      if (!st.isOk() || (!ss_->alive() && !shutting_down_ && ss_->stats().goaways_sent > 0)) {
        // Protocol error or an abusive client (nghttp2's own flood checks end the session
        // without failing the read): GOAWAY is queued; flush it and close.
        eof_ = true;
        if (w_.metrics_.h2_goaways && !goaway_counted_) w_.metrics_.h2_goaways->inc();
        goaway_counted_ = true;
        return;
      }
      idle_deadline_ = w_.now() + w_.options_.idle_timeout;
    } else if (n == 0) {
      eof_ = true;
    } else if (n == -1) {
      readable_ = false;
    } else {
      eof_ = true;
    }
  }
}

bool H2Downstream::flush() {
  while (true) {
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
      if (!ss_->wantsWrite()) return true;
      ss_->send(&out_, kWriteChunk);
      if (out_.empty()) return true;
    }
    if (write_blocked_) return true;
    ssize_t n = io_.write(out_.data() + out_off_, out_.size() - out_off_);
    if (n < 0) return false;
    if (n == 0) {
      write_blocked_ = true;
      return true;
    }
    out_off_ += static_cast<size_t>(n);
  }
}

void H2Downstream::finish() {
  if (finished_) return;
  abort();
  owner_.h2Finished();
}

void H2Downstream::abort() {
  if (finished_) return;
  finished_ = true;
  // Every call ends: upstream streams are reset (their connections stay for others).
  auto calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, c] : calls) {
    if (c->held) endHold(c.get(), HoldEnd::kAbandoned);
    releaseAttempt(c.get(), true);
    if (!c->resp_done) c->status = 499;  // the connection ended first
    endCall(c.get());
  }
  auto& d = hub_.dirty_down_;
  d.erase(std::remove(d.begin(), d.end(), this), d.end());
}

bool H2Downstream::waitingOnUpstream() const {
  for (const auto& [id, c] : calls_) {
    if (!c->resp_started) return true;
  }
  return false;
}

void H2Downstream::recomputeDeadline() {
  // A call waiting for its answer is bounded by its own deadlines (the request's or
  // grpc-timeout, per try, connect); the connection's idle timeout applies when none waits (calls
  // streaming their answers, or none at all).
  TimePoint t = TimePoint::max();
  bool waiting = false;
  for (auto& [id, c] : calls_) {
    if (c->resp_started) {
      // Answering: still bounded by the request's deadline (grpc-timeout included).
      if (!c->resp_done) t = std::min(t, c->deadline);
      continue;
    }
    waiting = true;
    if (c->held) {
      t = std::min(t, c->hold_deadline);
      continue;
    }
    TryDeadlines d;
    d.request = c->deadline;
    d.per_try = c->try_deadline;
    if (c->up != nullptr && c->up->connecting_) d.connect = c->up->connect_deadline_;
    t = std::min(t, nextDeadline(d));
  }
  if (!waiting) t = std::min(t, idle_deadline_);
  deadline_ = t;
}

void H2Downstream::onTimeout(TimePoint now) {
  if (finished_) return;
  std::vector<H2Call*> due;
  for (auto& [id, c] : calls_) due.push_back(c.get());
  for (H2Call* c : due) checkCallDeadline(c, now);
  if (now >= idle_deadline_ && !waitingOnUpstream()) {
    if (calls_.empty()) {
      // Idle: a graceful GOAWAY, then close (a client that never answers our PING is closed by
      // the short deadline that follows).
      if (!shutting_down_) {
        onShutdown();
        idle_deadline_ = now + std::chrono::seconds(1);
      } else {
        finish();
        return;
      }
    } else {
      // Streams open but no byte moved either way for idle_timeout: the client is gone or stuck.
      finish();
      return;
    }
  }
  hub_.markDirty(this);
}

void H2Downstream::hold(H2Call* c, TimePoint now) {
  HoldQueue& q = *w_.activator_;
  if (!q.tryHold()) {
    answerLocal(c, 503, "no replica is ready and the activator queue is full");
    return;
  }
  c->held = true;
  ++held_calls_;
  ++w_.held_count_;
  c->hold_deadline = holdDeadline(now, q.options().timeout, c->deadline);
  recomputeDeadline();
}

void H2Downstream::endHold(H2Call* c, HoldEnd how) {
  if (!c->held) return;
  c->held = false;
  --held_calls_;
  --w_.held_count_;
  w_.activator_->end(how);
}

void H2Downstream::checkHeld(TimePoint now, bool any_eligible) {
  if (held_calls_ == 0 || finished_) return;
  std::vector<H2Call*> held;
  for (auto& [id, c] : calls_) {
    if (c->held) held.push_back(c.get());
  }
  for (H2Call* c : held) {
    switch (heldOutcome(now, c->hold_deadline, any_eligible)) {
      case HeldOutcome::kWait:
        break;
      case HeldOutcome::kRelease:
        endHold(c, HoldEnd::kReleased);
        startAttempt(c);
        break;
      case HeldOutcome::kTimeout:
        endHold(c, HoldEnd::kTimedOut);
        answerLocal(c, 503, "no replica became ready within the activator timeout");
        break;
    }
  }
  recomputeDeadline();
  hub_.markDirty(this);
}

void H2Downstream::checkCallDeadline(H2Call* c, TimePoint now) {
  if (c->held) {
    if (now >= c->hold_deadline) {
      checkHeld(now, anyEligible(*w_.snapshot_, now));
    }
    return;
  }
  if (c->resp_done) return;
  if (c->resp_started) {
    if (now < c->deadline) return;
    // The answer is under way and the deadline passed: the upstream stream is cancelled; a gRPC
    // call ends with DEADLINE_EXCEEDED in its trailers, another stream is reset.
    releaseAttempt(c, true);
    c->resp_done = true;
    c->status = 504;
    if (c->grpc) {
      Status st = ss_->sendTrailers(
          c->stream, h2::grpcTrailers(h2::GrpcCode::kDeadlineExceeded, "deadline exceeded"));
      if (!st.isOk()) ss_->resetStream(c->stream, h2::kCancel);
      if (auto* ctr = w_.grpcStatusCounter(4)) ctr->inc();
    } else {
      ss_->resetStream(c->stream, h2::kCancel);
    }
    hub_.markDirty(this);
    return;
  }
  TryDeadlines d;
  d.request = c->deadline;
  d.per_try = c->try_deadline;
  if (c->up != nullptr && c->up->connecting_) d.connect = c->up->connect_deadline_;
  switch (expiredDeadline(d, now)) {
    case Expired::kNone:
      return;
    case Expired::kConnect:
      attemptFailed(c, TryFailure::kConnectFailed,
                    Outcome::kConnectFailed, "connect to upstream timed out");
      return;
    case Expired::kPerTry:
      attemptFailed(c, TryFailure::kPerTryTimeout,
                    Outcome::kTimeout, "upstream per-try timeout");
      return;
    case Expired::kRequest:
      break;
  }
  if (c->host != nullptr) {
    c->host->recordFailure();
    w_.cluster_.onResult(*c->host, Outcome::kTimeout, std::nullopt, now);
  }
  releaseAttempt(c, true);
  answerLocal(
      c, 504,
      c->deadline_is_grpc ? "deadline exceeded (grpc-timeout)" : "upstream request timeout");
}

void H2Downstream::onShutdown() {
  if (shutting_down_ || finished_) return;
  shutting_down_ = true;
  if (held_calls_ > 0) {
    std::vector<H2Call*> held;
    for (auto& [id, c] : calls_) {
      if (c->held) held.push_back(c.get());
    }
    for (H2Call* c : held) {
      endHold(c, HoldEnd::kTimedOut);
      answerLocal(c, 503, "the gateway is shutting down");
    }
  }
  ss_->shutdown();
  hub_.markDirty(this);
}

// ---- requests -----------------------------------------------------------------------------------

void H2Downstream::onRequest(int32_t stream, std::vector<h2::Header> headers, bool end_stream) {
  auto owned = std::make_unique<H2Call>();
  H2Call* c = owned.get();
  c->down = this;
  c->stream = stream;
  c->start = w_.now();
  c->grpc = h2::isGrpcRequest(headers);
  c->body_done = end_stream;
  c->deadline = c->start + w_.options_.request_timeout;
  calls_[stream] = std::move(owned);
  c->counted = true;
  w_.in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (w_.metrics_.h2_streams) w_.metrics_.h2_streams->inc();
  if (const std::string* t = h2::findHeader(headers, "grpc-timeout")) {
    auto d = h2::parseGrpcTimeout(*t);
    if (!d.isOk()) {
      answerLocal(c, 400, "malformed grpc-timeout header: " + d.status().message());
      return;
    }
    // Saturating: a huge grpc-timeout (parseGrpcTimeout saturates) leaves the request's own.
    if (d.value() < c->deadline - c->start) {
      c->deadline = c->start + d.value();
      c->deadline_is_grpc = true;
    }
  }
  if (!w_.options_.upstreamIsH2()) {
    answerLocal(c, 502,
                "this gateway's upstreams speak HTTP/1.1 (upstream_protocol: http1); HTTP/2 "
                "requests need upstream_protocol: h2");
    return;
  }
  c->hash_key = w_.wants_hash_key_ ? h2HashKey(w_.options_.hash_key, headers) : std::nullopt;
  rewriteH2Request(headers, client_ip_, tls_ ? "https" : "http", w_.random_, &c->up_headers);
  startAttempt(c);
}

void H2Downstream::onData(int32_t stream, std::string_view data, bool end_stream) {
  auto it = calls_.find(stream);
  if (it == calls_.end()) return;
  H2Call* c = it->second.get();
  if (c->resp_done) return;  // answered already (an error): the rest of the body is dropped
  c->body_bytes += data.size();
  if (c->body_bytes > w_.options_.max_body_bytes) {
    if (!c->resp_started) {
      answerLocal(c, 413, "request body over max_body_size");
    } else {
      releaseAttempt(c, true);
      ss_->resetStream(c->stream, h2::kCancel);
      c->resp_done = true;
      c->status = 413;
    }
    return;  // the deadline is recomputed after the batch (H2Hub::drain)
  }
  if (end_stream) c->body_done = true;
  const bool sent_upstream = c->up != nullptr && c->up_stream >= 0;
  if (c->replayable && c->body.size() + data.size() > w_.options_.retry_max_body_bytes) {
    c->replayable = false;
    // Bytes already on an upstream stream need no copy; a call not on one yet (held by the
    // activator, or waiting for a stream slot) keeps every byte until it is sent.
    if (sent_upstream) {
      c->body.clear();
      c->body.shrink_to_fit();
    }
  }
  if (c->replayable || !sent_upstream) c->body.append(data);
  if (sent_upstream) {
    Status st = c->up->cs_->sendData(c->up_stream, std::string(data), end_stream);
    if (!st.isOk()) {
      attemptFailed(c, TryFailure::kReset, std::nullopt,
                    "upstream connection cannot take more request bytes");
      return;
    }
    hub_.markDirty(c->up);
    if (end_stream && c->try_deadline == TimePoint::max()) {
      c->try_deadline = perTryDeadline(w_.now(), w_.options_.per_try_timeout);
    }
  }
  // No recomputeDeadline() per DATA frame: onData runs inside readSome, whose callers (start,
  // onIo, H2Hub::drain) leave the connection dirty, and drain recomputes it after the batch.
}

void H2Downstream::onStreamClose(int32_t stream, uint32_t error_code) {
  auto it = calls_.find(stream);
  if (it == calls_.end()) return;
  std::unique_ptr<H2Call> c = std::move(it->second);
  calls_.erase(it);
  idle_deadline_ = w_.now() + w_.options_.idle_timeout;
  if (error_code != h2::kNoError && w_.metrics_.h2_resets) w_.metrics_.h2_resets->inc();
  if (c->held) endHold(c.get(), HoldEnd::kAbandoned);
  releaseAttempt(c.get(), true);  // a client that reset its stream cancels the upstream's
  if (!c->resp_done && c->status == 0) c->status = 499;  // the client went away first
  endCall(c.get());
  recomputeDeadline();
}

// ---- attempts -----------------------------------------------------------------------------------

void H2Downstream::startAttempt(H2Call* c) {
  w_.refreshSnapshot();
  TimePoint now = w_.now();
  lb::PickContext ctx;
  ctx.now = now;
  ctx.hash_key = c->hash_key;
  ctx.exclude = std::span<const lb::Host* const>(c->excluded.data(), c->excluded_n);
  lb::Host* h = admitPick(w_.balancer_->pick(ctx), *w_.snapshot_, now);
  HostPool* pool = h ? w_.pool_.forHost(h) : nullptr;
  if (c->tries == 0) c->fail_status = 502;
  if (pool == nullptr) {
    if (w_.activator_ != nullptr &&
        shouldHold(w_.activator_->options(), c->tries, anyEligible(*w_.snapshot_, now))) {
      hold(c, now);
      return;
    }
    NoHostAnswer a = noHostAnswer(c->tries, c->fail_status);
    answerLocal(c, a.status, a.message);
    return;
  }
  c->host = h;
  c->pool = pool;
  w_.pool_.acquire(pool);
  h->onRequestStart();
  ++c->tries;
  if (c->excluded_n < c->excluded.size()) c->excluded[c->excluded_n++] = h;
  c->resp_from_up = false;
  c->try_deadline = TimePoint::max();
  if (!pool->resolved) {
    attemptFailed(c, TryFailure::kConnectFailed, Outcome::kConnectFailed,
                  "backend address does not resolve");
    return;
  }
  int err = 0;
  H2Upstream* up = hub_.connectionFor(pool, &err);
  if (up == nullptr) {
    attemptFailed(c, TryFailure::kConnectFailed, Outcome::kConnectFailed,
                  "connect to upstream failed");
    return;
  }
  if (!up->cs_->canOpenStream()) {
    // Every connection to this backend is at its stream limit and the pool at its bound: the
    // call waits for a stream slot (bounded by its deadline), as nghttp2 would queue it.
    c->waiting = true;
    hub_.waiters_[pool].push_back(c);
    recomputeDeadline();
    return;
  }
  submitOn(c, up);
}

void H2Downstream::submitOn(H2Call* c, H2Upstream* up) {
  TimePoint now = w_.now();
  bool headers_only = c->body_done && c->body_bytes == 0;
  auto id = up->cs_->submitRequest(c->up_headers, headers_only);
  if (!id.isOk()) {
    attemptFailed(c, TryFailure::kStaleConnection, std::nullopt,
                  "upstream connection refused a new stream");
    return;
  }
  c->up = up;
  c->up_stream = id.value();
  up->calls_[c->up_stream] = c;
  if (!headers_only) {
    if (c->body_bytes > 0 && !c->replayable && c->tries > 1) {
      // Unreachable: a non-replayable body is never retried (decideRetry).
      attemptFailed(c, TryFailure::kReset, std::nullopt, "body not replayable");
      return;
    }
    if (!c->body.empty() || c->body_done) {
      Status st = up->cs_->sendData(c->up_stream, c->body, c->body_done);
      if (!st.isOk()) {
        attemptFailed(c, TryFailure::kReset, std::nullopt,
                      "upstream connection cannot take the request body");
        return;
      }
      if (!c->replayable) {
        c->body.clear();  // on the stream now; never replayed
        c->body.shrink_to_fit();
      }
    }
  }
  c->sent_at = now;
  if (c->body_done) c->try_deadline = perTryDeadline(now, w_.options_.per_try_timeout);
  hub_.markDirty(up);
  recomputeDeadline();
}

void H2Downstream::releaseAttempt(H2Call* c, bool reset_upstream) {
  if (c->waiting) {
    c->waiting = false;
    auto it = hub_.waiters_.find(c->pool);
    if (it != hub_.waiters_.end()) {
      auto& q = it->second;
      q.erase(std::remove(q.begin(), q.end(), c), q.end());
      if (q.empty()) hub_.waiters_.erase(it);
    }
  }
  if (c->up != nullptr) {
    H2Upstream* up = c->up;
    if (c->up_stream >= 0) {
      up->calls_.erase(c->up_stream);
      if (reset_upstream && !up->dead_) {
        up->cs_->resetStream(c->up_stream, h2::kCancel);
        hub_.markDirty(up);
      }
      if (c->unconsumed > 0 && !up->dead_) up->cs_->consume(c->up_stream, c->unconsumed);
    }
    c->unconsumed = 0;
    c->up = nullptr;
    c->up_stream = -1;
    if (up->calls_.empty()) up->idle_since_ = w_.now();
  }
  if (c->host != nullptr) {
    c->host->onRequestEnd();
    c->host = nullptr;
  }
  if (c->pool != nullptr) {
    w_.pool_.releaseUser(c->pool);
    c->pool = nullptr;
  }
  c->try_deadline = TimePoint::max();
}

void H2Downstream::attemptFailed(H2Call* c, TryFailure failure, std::optional<Outcome> outcome,
                                 std::string_view why) {
  TimePoint now = w_.now();
  if (c->host != nullptr && outcome) {
    c->host->recordFailure();
    w_.cluster_.onResult(*c->host, *outcome, std::nullopt, now);
  }
  TryState ts;
  ts.tries = c->tries;
  ts.body_replayable = c->replayable;
  ts.response_to_client = c->resp_started;
  ts.response_from_upstream = c->resp_from_up;
  RetryDecision d = w_.decideTryRetry(failure, ts, &c->retry_counted);
  c->fail_status = d.status;
  releaseAttempt(c, true);
  if (d.retry && !c->resp_started) {
    if (w_.metrics_.retries) w_.metrics_.retries->inc();
    startAttempt(c);
    return;
  }
  if (c->resp_started) {
    // Part of the answer is with the client: the stream can only be reset.
    ss_->resetStream(c->stream, h2::kInternalError);
    c->resp_done = true;
    c->status = 502;
    return;
  }
  // A gRPC call whose tries all timed out while its own deadline is still ahead is UNAVAILABLE
  // (retryable by the client), not DEADLINE_EXCEEDED.
  int status = d.status;
  if (status == 504 && c->grpc && now < c->deadline) status = 503;
  answerLocal(c, status, why);
}

void H2Downstream::answerLocal(H2Call* c, int status, std::string_view message) {
  if (c->resp_done) return;
  releaseAttempt(c, true);
  H2LocalAnswer a = h2LocalAnswer(c->grpc, status, message);
  c->status = status;
  c->resp_done = true;
  c->resp_started = true;
  Status st = ss_->respond(c->stream, a.headers, std::move(a.body), a.trailers);
  if (!st.isOk()) ss_->resetStream(c->stream, h2::kInternalError);
  if (c->grpc) {
    if (auto* ctr = w_.grpcStatusCounter(static_cast<int>(grpcCodeForGatewayStatus(status)))) {
      ctr->inc();
    }
  }
  // The rest of a request body is dropped as it comes (onData). No RST_STREAM(NO_ERROR) after
  // the answer (RFC 9113 §8.1 allows it): nghttp2 drops frames still queued for a stream it
  // resets, which would lose the answer itself; max_body_size still bounds what is read.
  hub_.markDirty(this);
}

void H2Downstream::endCall(H2Call* c) {
  if (c->counted) {
    c->counted = false;
    w_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (metrics::Counter* counter = w_.requestsCounter(c->answered_by, statusClass(c->status))) {
      counter->inc();
    }
    if (w_.duration_) w_.duration_->observe(toSeconds(w_.now() - c->start));
  }
  if (c->retry_counted) {
    c->retry_counted = false;
    w_.shared_.retries_in_flight->fetch_sub(1, std::memory_order_relaxed);
  }
  if (c->answered_by != nullptr) {
    w_.pool_.releaseUser(c->answered_by);
    c->answered_by = nullptr;
  }
}

// ---- upstream events ----------------------------------------------------------------------------

void H2Downstream::onUpstreamHeaders(H2Call* c, std::vector<h2::Header> headers, bool end_stream) {
  TimePoint now = w_.now();
  c->resp_from_up = true;
  int status = 0;
  if (const std::string* s = h2::findHeader(headers, ":status")) status = std::atoi(s->c_str());
  int grpc_status = end_stream ? grpcStatusOf(headers) : -1;
  // A Trailers-Only UNAVAILABLE (the replica is draining or overloaded and did not process the
  // call) is retried like a refused stream.
  if (c->grpc && end_stream && grpc_status == static_cast<int>(h2::GrpcCode::kUnavailable) &&
      !c->resp_started) {
    if (c->host != nullptr) {
      c->host->recordFailure();
      w_.cluster_.onResult(*c->host, Outcome::kServerError, now - c->sent_at, now);
    }
    c->resp_from_up = false;  // nothing of it was forwarded: as good as a refused stream
    // Retried only when the policy allows; otherwise the upstream's own status goes through.
    if (c->tries <= w_.options_.retries && c->replayable) {
      attemptFailed(c, TryFailure::kReset, std::nullopt, "upstream unavailable");
      return;
    }
  } else if (c->host != nullptr) {
    if (status >= 500) c->host->recordFailure();
    w_.cluster_.onResult(*c->host, status >= 500 ? Outcome::kServerError : Outcome::kSuccess,
                         now - c->sent_at, now);
  }
  c->status = status;
  c->resp_started = true;
  c->try_deadline = TimePoint::max();
  if (c->pool != nullptr && c->answered_by == nullptr) {
    c->answered_by = c->pool;
    w_.pool_.acquire(c->pool);  // the entry outlives the attempt until endCall counts it
  }
  Status st;
  if (end_stream) {
    c->resp_done = true;
    if (grpc_status >= 0) {
      if (auto* ctr = w_.grpcStatusCounter(grpc_status)) ctr->inc();
    }
    st = ss_->respond(c->stream, headers, std::string(), {});
  } else {
    st = ss_->sendHeaders(c->stream, headers);
  }
  if (!st.isOk()) ss_->resetStream(c->stream, h2::kInternalError);
  recomputeDeadline();
  hub_.markDirty(this);
}

void H2Downstream::onUpstreamData(H2Call* c, std::string_view data, bool end_stream) {
  if (c->resp_done) return;
  Status st = ss_->sendData(c->stream, std::string(data), end_stream);
  if (!st.isOk()) {
    ss_->resetStream(c->stream, h2::kInternalError);
    c->resp_done = true;
    return;
  }
  c->unconsumed += data.size();
  credit_pending_ = true;
  if (end_stream) c->resp_done = true;
  hub_.markDirty(this);
}

void H2Downstream::onUpstreamTrailers(H2Call* c, std::vector<h2::Header> trailers) {
  if (c->resp_done) return;
  int g = grpcStatusOf(trailers);
  if (g >= 0) {
    if (auto* ctr = w_.grpcStatusCounter(g)) ctr->inc();
  }
  Status st = ss_->sendTrailers(c->stream, trailers);
  if (!st.isOk()) ss_->resetStream(c->stream, h2::kInternalError);
  c->resp_done = true;
  hub_.markDirty(this);
}

void H2Downstream::onUpstreamClose(H2Call* c, uint32_t error_code, bool retryable) {
  // The upstream stream is gone: detach (no reset to send), keep the call.
  if (c->up != nullptr) {
    ++c->up->streams_done_;
    c->up->calls_.erase(c->up_stream);
    if (c->up->calls_.empty()) c->up->idle_since_ = w_.now();
    c->up = nullptr;
    c->up_stream = -1;
    c->unconsumed = 0;  // nghttp2 forgets the stream's window with it
  }
  if (c->resp_done && error_code == h2::kNoError) {
    releaseAttempt(c, false);
    return;
  }
  if (!c->resp_started) {
    if (retryable) {
      attemptFailed(c, TryFailure::kStaleConnection, std::nullopt,
                    "upstream refused the stream");
    } else {
      attemptFailed(c, TryFailure::kReset,
                    Outcome::kReset,
                    error_code == h2::kNoError ? "upstream ended the stream without an answer"
                                               : "upstream reset the stream");
    }
    return;
  }
  // Mid-answer: the client's stream is reset. A lost upstream connection (reported as CANCEL)
  // is INTERNAL_ERROR to the client — CANCEL would read as "the caller cancelled".
  releaseAttempt(c, false);
  if (!c->resp_done) {
    uint32_t code = (error_code == h2::kNoError || error_code == h2::kCancel)
                        ? static_cast<uint32_t>(h2::kInternalError)
                        : error_code;
    ss_->resetStream(c->stream, code);
    c->resp_done = true;
    c->status = 502;
    hub_.markDirty(this);
  }
}

void H2Downstream::onUpstreamLost(H2Call* c, bool stale) {
  if (c->resp_started) {
    releaseAttempt(c, false);
    if (!c->resp_done) {
      ss_->resetStream(c->stream, h2::kInternalError);
      c->resp_done = true;
      c->status = 502;
      hub_.markDirty(this);
    }
    return;
  }
  if (stale) {
    attemptFailed(c, TryFailure::kStaleConnection, std::nullopt,
                  "upstream closed the connection");
  } else {
    attemptFailed(c, TryFailure::kReset, Outcome::kReset,
                  "upstream closed the connection");
  }
}

void H2Downstream::creditUpstreams() {
  credit_pending_ = false;
  for (auto& [id, c] : calls_) {
    if (c->unconsumed == 0 || c->up == nullptr || c->up_stream < 0) continue;
    // Per stream: a stream whose client does not read keeps its upstream window closed; the
    // others on the connection go on.
    if (ss_->queuedBytes(c->stream) > kMaxQueuedPerStream) {
      credit_pending_ = true;  // retried after the next write
      continue;
    }
    c->up->cs_->consume(c->up_stream, c->unconsumed);
    c->unconsumed = 0;
    hub_.markDirty(c->up);
  }
}

// ---- H2Upstream ---------------------------------------------------------------------------------

H2Upstream::H2Upstream(H2Hub& hub, HostPool* pool) : hub_(hub), pool_(pool) {
  const auto& o = hub_.w_.options_.http2;
  h2::ClientLimits limits;
  limits.initial_window_size = o.initial_stream_window;
  // The connection window is shared by the streams of many clients: large, so that streams
  // whose clients stall (each holding at most its stream window) do not block the others.
  limits.connection_window_size = std::max<uint32_t>(o.initial_connection_window, 256u << 20);
  limits.max_header_list_bytes = static_cast<uint32_t>(hub_.w_.options_.max_header_bytes);
  h2::ClientSession::Callbacks cb;
  cb.on_headers = [this](int32_t s, std::vector<h2::Header> h, bool end) {
    auto it = calls_.find(s);
    if (it == calls_.end()) return;
    H2Call* c = it->second;
    c->down->onUpstreamHeaders(c, std::move(h), end);
  };
  cb.on_data = [this](int32_t s, std::string_view d, bool end) {
    auto it = calls_.find(s);
    if (it == calls_.end()) {
      cs_->consume(s, d.size());  // a stream we abandoned: keep the connection's window open
      return;
    }
    H2Call* c = it->second;
    c->down->onUpstreamData(c, d, end);
  };
  cb.on_trailers = [this](int32_t s, std::vector<h2::Header> t) {
    auto it = calls_.find(s);
    if (it == calls_.end()) return;
    H2Call* c = it->second;
    c->down->onUpstreamTrailers(c, std::move(t));
  };
  cb.on_close = [this](int32_t s, uint32_t code, bool retryable) {
    auto it = calls_.find(s);
    if (it == calls_.end()) return;
    H2Call* c = it->second;
    c->down->onUpstreamClose(c, code, retryable);
    hub_.markDirty(c->down);
  };
  cb.on_goaway = [](int32_t, uint32_t) {};
  cs_ = std::make_unique<h2::ClientSession>(limits, std::move(cb));
}

H2Upstream::~H2Upstream() = default;

bool H2Upstream::connect(int* err) {
  const auto& ep = pool_->endpoint;
  fd_ = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *err = errno;
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  handle_ = hub_.w_.epoll_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  if (handle_ == EpollSet::kNoHandle) {
    *err = errno;
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  if (pool_->connections_total) pool_->connections_total->inc();
  int r;
  do {
    r = ::connect(fd_, ep.data(), static_cast<socklen_t>(ep.size()));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      return false;
    }
    connecting_ = true;
    connect_deadline_ = hub_.w_.now() + hub_.w_.options_.connect_timeout;
  }
  Status st = cs_->start();
  if (!st.isOk()) {
    *err = EPROTO;
    return false;
  }
  return true;
}

void H2Upstream::onIo(uint32_t events) {
  if (dead_) return;
  if (connecting_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    connecting_ = false;
    connect_deadline_ = TimePoint::max();
    if (err != 0) {
      kill(/*connect_failed=*/true);
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) write_blocked_ = false;
  if (readable_) readSome();
  if (!dead_) hub_.markDirty(this);
}

void H2Upstream::readSome() {
  char buf[kReadChunk];
  int rounds = 0;
  while (readable_ && !dead_) {
    if (++rounds > 16) {
      hub_.markDirty(this);
      return;
    }
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      if (static_cast<size_t>(n) < sizeof buf) readable_ = false;
      Status st = cs_->receive(std::string_view(buf, static_cast<size_t>(n)));
      if (!st.isOk()) {
        flush();  // the GOAWAY, best effort
        kill();  // upstream broke the HTTP/2 protocol
        return;
      }
    } else if (n == 0) {
      readable_ = false;
      kill();  // upstream closed the connection
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
    } else if (errno != EINTR) {
      readable_ = false;
      kill();  // upstream connection failed
      return;
    }
  }
}

bool H2Upstream::flush() {
  if (dead_ || connecting_) return true;
  while (true) {
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
      if (!cs_->wantsWrite()) break;
      cs_->send(&out_, kWriteChunk);
      if (out_.empty()) break;
    }
    if (write_blocked_) return true;
    ssize_t n;
    do {
      n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;
        return true;
      }
      kill();  // upstream write failed
      return false;
    }
    out_off_ += static_cast<size_t>(n);
  }
  if (!cs_->alive() && calls_.empty()) {
    kill();  // upstream session ended
    return false;
  }
  return true;
}

void H2Upstream::kill(bool connect_failed) {
  if (dead_) return;
  dead_ = true;
  hub_.forget(this);
  if (handle_ != EpollSet::kNoHandle) {
    hub_.w_.epoll_.remove(fd_, handle_);
    handle_ = EpollSet::kNoHandle;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  // The calls still on it fail. A refused connect is the backend's failure; otherwise the
  // session reports each open stream (retryable when its HEADERS never left) and the call's own
  // rules decide (onUpstreamClose).
  if (connect_failed) {
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [id, c] : calls) {
      c->up = nullptr;
      c->up_stream = -1;
      c->unconsumed = 0;
      c->down->attemptFailed(c, TryFailure::kConnectFailed,
                             Outcome::kConnectFailed,
                             "connect to upstream failed");
      hub_.markDirty(c->down);
    }
  } else {
    cs_->connectionClosed();
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [id, c] : calls) {  // not reported by the session (none expected)
      c->up = nullptr;
      c->up_stream = -1;
      c->unconsumed = 0;
      c->down->onUpstreamLost(c, false);
      hub_.markDirty(c->down);
    }
  }
  hub_.dead_.push_back(this);
}

// ---- H2Hub --------------------------------------------------------------------------------------

H2Hub::H2Hub(Worker& w) : w_(w) {}

H2Hub::~H2Hub() {
  closeAll();
  reap();
}

H2Upstream* H2Hub::connectionFor(HostPool* pool, int* err) {
  auto& list = conns_[pool];
  for (H2Upstream* u : list) {
    if (!u->dead_ && u->cs_->canOpenStream()) return u;
  }
  if (list.size() >= static_cast<size_t>(std::max(1, w_.options_.http2.upstream_connections))) {
    // Every connection is at the backend's stream limit and the pool at its bound: the least
    // loaded one is returned, and the caller queues the call for its next free stream slot
    // (H2Downstream::startAttempt, waiters_).
    H2Upstream* best = nullptr;
    for (H2Upstream* u : list) {
      if (!u->dead_ && u->cs_->alive() &&
          (best == nullptr || u->calls_.size() < best->calls_.size())) {
        best = u;
      }
    }
    if (best != nullptr) return best;
  }
  auto* u = new H2Upstream(*this, pool);
  if (!u->connect(err)) {
    if (u->handle_ != EpollSet::kNoHandle) w_.epoll_.remove(u->fd_, u->handle_);
    if (u->fd_ >= 0) ::close(u->fd_);
    delete u;
    return nullptr;
  }
  w_.pool_.acquire(pool);
  u->idle_since_ = w_.now();
  list.push_back(u);
  if (w_.metrics_.h2_upstream_connections) w_.metrics_.h2_upstream_connections->inc();
  return u;
}

void H2Hub::forget(H2Upstream* u) {
  auto it = conns_.find(u->pool_);
  if (it == conns_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), u), v.end());
  if (v.empty()) conns_.erase(it);
}

void H2Hub::markDirty(H2Downstream* d) {
  if (d->dirty_ || d->finished_) return;
  d->dirty_ = true;
  dirty_down_.push_back(d);
}

void H2Hub::markDirty(H2Upstream* u) {
  if (u->dirty_ || u->dead_) return;
  u->dirty_ = true;
  dirty_up_.push_back(u);
}

void H2Hub::drain() {
  if (draining_) return;
  draining_ = true;
  for (int round = 0; round < 64 && (!dirty_down_.empty() || !dirty_up_.empty()); ++round) {
    std::vector<H2Upstream*> ups;
    ups.swap(dirty_up_);
    for (H2Upstream* u : ups) {
      u->dirty_ = false;
      if (u->dead_) continue;
      if (u->readable_) u->readSome();
      if (!u->dead_) u->flush();
    }
    if (!waiters_.empty()) serveWaiters();
    std::vector<H2Downstream*> downs;
    downs.swap(dirty_down_);
    for (H2Downstream* d : downs) {
      d->dirty_ = false;
      if (d->finished_) continue;
      if (d->readable_ && !d->eof_) d->readSome();
      if (!d->flush()) {
        d->finish();
        continue;
      }
      if (d->credit_pending_) d->creditUpstreams();
      d->recomputeDeadline();
      bool out_empty = d->out_off_ == d->out_.size() && !d->ss_->wantsWrite();
      if (!d->ss_->alive() && out_empty) {
        d->finish();
        continue;
      }
      if (d->eof_ && (out_empty || d->write_blocked_)) {
        // The client is gone (or broke the protocol: the GOAWAY has been written if it could).
        d->finish();
        continue;
      }
    }
  }
  draining_ = false;
}

void H2Hub::serveWaiters() {
  std::vector<HostPool*> pools;
  for (auto& [pool, q] : waiters_) pools.push_back(pool);
  for (HostPool* pool : pools) {
    while (true) {
      auto it = waiters_.find(pool);
      if (it == waiters_.end() || it->second.empty()) break;
      int err = 0;
      H2Upstream* up = connectionFor(pool, &err);
      if (up == nullptr || !up->cs_->canOpenStream()) break;
      H2Call* c = it->second.front();
      it->second.pop_front();
      if (it->second.empty()) waiters_.erase(it);
      c->waiting = false;
      c->down->submitOn(c, up);
      markDirty(c->down);
    }
  }
}

void H2Hub::sweep(TimePoint now) {
  std::vector<H2Upstream*> all;
  for (auto& [pool, v] : conns_) all.insert(all.end(), v.begin(), v.end());
  for (H2Upstream* u : all) {
    if (u->dead_) continue;
    if (u->connecting_ && now >= u->connect_deadline_) {
      u->kill(/*connect_failed=*/true);
      continue;
    }
    bool idle = u->calls_.empty();
    if (idle && (!u->pool_->live || now - u->idle_since_ >= w_.options_.upstream_idle_timeout ||
                 !u->cs_->alive())) {
      u->kill();  // idle
    }
  }
}

void H2Hub::reap() {
  for (H2Upstream* u : dead_) {
    w_.pool_.releaseUser(u->pool_);
    delete u;
  }
  dead_.clear();
}

void H2Hub::closeIdle() {
  std::vector<H2Upstream*> all;
  for (auto& [pool, v] : conns_) all.insert(all.end(), v.begin(), v.end());
  for (H2Upstream* u : all) {
    if (u->calls_.empty()) u->kill();  // shutdown
  }
}

void H2Hub::closeAll() {
  std::vector<H2Upstream*> all;
  for (auto& [pool, v] : conns_) all.insert(all.end(), v.begin(), v.end());
  for (H2Upstream* u : all) u->kill();  // shutdown
}

size_t H2Hub::upstreamCount() const {
  size_t n = 0;
  for (const auto& [pool, v] : conns_) n += v.size();
  return n;
}

}  // namespace surge::gateway
