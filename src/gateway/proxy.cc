#include "gateway/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "gateway/h2_proxy.h"
#include "gateway/hash_key.h"
#include "gateway/head_rewrite.h"
#include "gateway/host_selection.h"
#include "gateway/retry_policy.h"
#include "net/http_parser.h"
#include "net/tls/tls.h"

namespace surge::gateway {

using net::BodyDecoder;
using net::BodyFraming;
using net::HeadParser;
using net::ParseError;
namespace asio = net::asio;
using error_code = boost::system::error_code;

namespace {

inline TimePoint steadyNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

inline int statusClass(int status) {
  int c = status / 100;
  return (c >= 1 && c <= 5) ? c : 0;
}

const char* const kClassNames[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Non-blocking gather send; returns bytes sent, 0 on EAGAIN, -1 on error.
ssize_t sendv(int fd, iovec* iov, int n) {
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = static_cast<size_t>(n);
  while (true) {
    ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

}  // namespace

// =================================================================================================
// Session: one client connection.

class Session final : public IoTarget, public UpstreamOwner, public H2Owner {
 public:
  Session(Worker& w, int fd, std::string client_ip);
  ~Session();

  void start();
  // Readiness of the client socket (epoll events).
  void onIo(uint32_t events) override;
  // Readiness of this session's upstream connection.
  void onUpstreamIo(UpstreamConn* c, uint32_t events) override;
  // Sweep: the deadline passed.
  void onTimeout(TimePoint now);
  void onShutdown();
  void forceClose() { close(); }
  // The HTTP/2 session is over (h2_proxy.h).
  void h2Finished() override { close(); }

  bool closed() const { return closed_; }
  TimePoint deadline() const { return h2_ ? h2_->deadline() : deadline_; }

  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  enum class State : uint8_t {
    kIdle,       // waiting for the first byte of a request
    kHead,       // reading a request head
    kUpstream,   // request accepted; picking / connecting / sending / awaiting the response head
    kStreaming,  // response head sent to the client; forwarding the body
    kLingering,  // error sent; draining input before close
    kHeld,       // activator: no host yet; waiting for one (no upstream, body left buffered)
  };

  // ---- client side ----
  // Reads the client while its socket has unread readiness and the buffer has room (the read is
  // "always on": it also notices resets while a request is in progress). Re-entrant calls return
  // at once; the outer loop picks up what they would have done.
  void readClient();
  // TLS: runs the handshake; on success continues as HTTP/2 (ALPN h2) or HTTP/1.1.
  void tlsHandshake();
  // The connection continues as HTTP/2 (h2_proxy.h), `first` already read.
  void startH2(std::string_view first);
  // recv / sendmsg through TLS when it is on: >= 0 bytes, -1 with errno (EAGAIN: wait).
  ssize_t clientRecv(char* buf, size_t n);
  ssize_t clientSendv(iovec* iov, int n);
  void handleClientData(size_t n);
  void handleClientEof(bool clean);
  void processClientData();
  void parseHead();
  void beginRequest();
  // Sends a (+ b); completes with onClientWritten(), at once or when the socket drains.
  void writeClient(const char* a, size_t alen, const char* b, size_t blen);
  void continueClientWrite();
  void onClientWritten();
  // retry_after_s > 0: the answer's Retry-After (activator.h).
  void respondLocal(int status, std::string_view message, bool linger, int64_t retry_after_s = 0);

  // ---- activator (activator.h) ----
 public:
  bool held() const { return h2_ ? h2_->heldCalls() > 0 : held_; }
  // A held request at `now`: picks again once a host is eligible, 503 after its hold deadline.
  void checkHeld(TimePoint now, bool any_eligible);

 private:
  void hold(TimePoint now);
  void endHold(HoldEnd how);

  // ---- upstream side ----
  void pickAndConnect();
  void onConnect(UpstreamConn* c, int err);
  void sendRequest();
  void writeUpstream();
  void onUpstreamWritten();
  void pumpRequestBody();
  void readUpstream();
  void handleUpstreamData(UpstreamConn* c, size_t n);
  void handleUpstreamEof(bool clean);
  void parseResponseHead();
  void forwardResponseBody(bool with_head);
  // outcome nullopt: not reported to the cluster (a stale pooled connection); kTimeout: the
  // per-try timeout. Whether to retry is retry_policy.h's decideRetry.
  void attemptFailed(std::optional<Outcome> outcome, std::string_view why);
  void releaseUpstream(bool reusable);
  // The deadlines of the try in progress (retry_policy.h) and the sweep deadline they imply.
  TryDeadlines tryDeadlines() const;
  void armTryDeadline();
  // Starts the per-try clock once the whole request body is in (idempotent).
  void startPerTryClock();

  void finishExchange();
  // Access log (no-ops when it is off): copies what the entry needs out of the parser's buffer
  // (bounded), and formats + queues the entry of the current exchange.
  void captureForLog(bool parsed);
  void logAccess(std::string_view abort_reason);
  // Ends the request's accounting (in-flight, metrics, retry slot); idempotent.
  void accountEnd();
  void closeGracefully(bool linger);
  void close();

  Worker& w_;
  int fd_;
  uint64_t handle_ = EpollSet::kNoHandle;  // registration of fd_ in the worker's epoll set
  std::unique_ptr<tls::Conn> tls_;         // TLS listener: the connection's TLS state
  std::unique_ptr<H2Downstream> h2_;       // set once the connection speaks HTTP/2
  bool fresh_ = true;                      // no request yet (an HTTP/2 preface may come)
  std::string client_ip_;
  State state_ = State::kIdle;
  bool closed_ = false;
  TimePoint deadline_{};

  // client input
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_start_ = 0, in_len_ = 0;
  bool client_readable_ = true;  // edge-triggered readiness not consumed yet
  bool client_eof_ = false;
  bool client_rdhup_ = false;  // EPOLLRDHUP seen: the FIN follows the data, read until EOF
  bool in_client_loop_ = false;
  bool in_up_loop_ = false;
  HeadParser req_parser_;
  BodyDecoder req_body_;

  // client output (a write in progress: up to two segments)
  bool client_writing_ = false;
  const char* cw_ptr_[2] = {};
  size_t cw_len_[2] = {};

  // request
  TimePoint req_start_{};
  TimePoint req_deadline_{};
  int client_minor_ = 1;
  bool client_keep_alive_ = true;
  bool head_request_ = false;
  bool counted_ = false;        // in the worker's in-flight count
  bool retry_counted_ = false;  // in the shared retries-in-flight count
  bool req_body_received_ = true;
  bool retryable_ = true;
  std::optional<uint64_t> hash_key_;
  std::string out_up_;  // upstream request bytes (head + body, kept for replay)
  size_t up_sent_ = 0;

  // attempt
  lb::Host* host_ = nullptr;
  HostPool* pool_ = nullptr;
  UpstreamConn* up_ = nullptr;
  bool up_writing_ = false;
  bool up_reusable_ = true;
  int tries_ = 0;
  std::array<const lb::Host*, 8> excluded_{};
  size_t excluded_n_ = 0;
  TimePoint attempt_start_{};
  TimePoint sent_at_{};  // request head handed to the upstream connection (ttfb origin)
  TimePoint connect_deadline_{};
  TimePoint try_deadline_ = TimePoint::max();  // timeouts.per_try; max() = off or not started
  int fail_status_ = 502;  // the answer when a retry finds no other host (504 after timeouts)
  uint64_t resp_bytes_ = 0;  // response bytes received on this attempt
  TimePoint first_byte_{};
  bool reused_conn_ = false;  // this attempt runs on a pooled keep-alive connection
  bool held_ = false;         // counted in the activator's hold queue
  TimePoint hold_deadline_{};

  // response
  HeadParser resp_parser_;
  BodyDecoder resp_body_;
  int resp_status_ = 0;
  bool dechunk_ = false;
  bool linger_ = false;
  std::string out_client_;  // response head (and local bodies)

  // access log (only when on): the current exchange's entry, filled as it goes
  bool log_pending_ = false;   // an entry is owed for the current exchange
  bool log_request_ = false;   // it became a request (beginRequest), not a rejected head
  bool local_answer_ = false;  // answered by respondLocal
  uint64_t log_req_bytes_ = 0;
  uint64_t log_resp_bytes_ = 0;
  std::string log_method_, log_path_, log_rid_, log_reason_;
};

Session::Session(Worker& w, int fd, std::string client_ip)
    : w_(w),
      fd_(fd),
      client_ip_(std::move(client_ip)),
      req_parser_(HeadParser::Kind::kRequest,
                  net::ParseLimits{.max_head_bytes = w.options_.max_header_bytes,
                                   .max_body_bytes = w.options_.max_body_bytes,
                                   .require_host = true}),
      resp_parser_(HeadParser::Kind::kResponse, net::ParseLimits{w.options_.max_header_bytes, 0}) {}

Session::~Session() = default;

void Session::start() {
  in_cap_ = 16 * 1024;
  in_.reset(new char[in_cap_]);
  out_up_.reserve(2048);
  out_client_.reserve(1024);
  deadline_ = w_.now() + w_.options_.idle_timeout;
  handle_ = w_.epoll_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  if (handle_ == EpollSet::kNoHandle) {
    SURGE_LOG(kWarn, "gateway", std::string("epoll_ctl: ") + std::strerror(errno));
    close();
    return;
  }
  if (w_.shared_.tls != nullptr) {
    tls_ = std::make_unique<tls::Conn>(w_.shared_.tls->current(), fd_);
    deadline_ = w_.now() + w_.options_.header_timeout;  // the handshake's bound
    tlsHandshake();
    return;
  }
  readClient();  // the request may already be there
}

void Session::onIo(uint32_t events) {
  if (closed_) return;
  if (h2_) {
    h2_->onIo(events);
    return;
  }
  if (tls_ && !tls_->handshakeDone()) {
    tlsHandshake();
    return;
  }
  // TLS may need to read before it can write (a key update): retry the write on input too.
  if (tls_ && client_writing_ && (events & EPOLLIN)) continueClientWrite();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_readable_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP)) client_rdhup_ = true;
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && client_writing_) continueClientWrite();
  if (!closed_ && client_readable_) readClient();
}

// ---- client input -------------------------------------------------------------------------------

void Session::tlsHandshake() {
  tls::Io st = tls_->handshake();
  if (st == tls::Io::kWantRead || st == tls::Io::kWantWrite) return;
  if (st != tls::Io::kOk) {
    if (w_.tls_failed_ != nullptr) w_.tls_failed_->inc();
    SURGE_LOG(kDebug, "gateway",
              "TLS handshake with " + client_ip_ + " failed: " + tls_->lastError());
    close();
    return;
  }
  if (w_.tls_ok_ != nullptr) w_.tls_ok_->inc();
  deadline_ = w_.now() + w_.options_.idle_timeout;
  if (tls_->alpn() == "h2" && w_.options_.http2.enabled) {
    startH2({});
    return;
  }
  client_readable_ = true;  // the handshake may have read application data already
  readClient();
}

void Session::startH2(std::string_view first) {
  std::string bytes(first);
  in_.reset();
  in_cap_ = in_start_ = in_len_ = 0;
  h2_ = std::make_unique<H2Downstream>(w_, *this, ClientIo{fd_, tls_.get()}, client_ip_,
                                       tls_ != nullptr);
  h2_->start(bytes);
}

ssize_t Session::clientRecv(char* buf, size_t n) {
  if (!tls_) return ::recv(fd_, buf, n, 0);
  tls::Io st = tls::Io::kOk;
  size_t r = tls_->read(buf, n, &st);
  if (r > 0) return static_cast<ssize_t>(r);
  if (st == tls::Io::kEof) return 0;
  errno = (st == tls::Io::kWantRead || st == tls::Io::kWantWrite) ? EAGAIN : ECONNRESET;
  return -1;
}

ssize_t Session::clientSendv(iovec* iov, int n) {
  if (!tls_) return sendv(fd_, iov, n);
  // A small head + body go out as one TLS record (one write(2)), not one record per segment.
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) bytes += iov[i].iov_len;
  if (n > 1 && bytes <= 16384) {
    char joined[16384];
    size_t off = 0;
    for (int i = 0; i < n; ++i) {
      std::memcpy(joined + off, iov[i].iov_base, iov[i].iov_len);
      off += iov[i].iov_len;
    }
    tls::Io st = tls::Io::kOk;
    size_t w = tls_->write(joined, off, &st);
    if (w > 0) return static_cast<ssize_t>(w);
    if (st == tls::Io::kWantRead || st == tls::Io::kWantWrite) return 0;
    return -1;
  }
  ssize_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (iov[i].iov_len == 0) continue;
    tls::Io st = tls::Io::kOk;
    size_t w = tls_->write(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len, &st);
    total += static_cast<ssize_t>(w);
    if (w < iov[i].iov_len) {
      if (w > 0 || st == tls::Io::kWantRead || st == tls::Io::kWantWrite || st == tls::Io::kOk) {
        return total;
      }
      return total > 0 ? total : -1;
    }
  }
  return total;
}

void Session::readClient() {
  if (in_client_loop_) return;
  in_client_loop_ = true;
  while ((client_readable_ || (tls_ && tls_->pending() > 0)) && !client_eof_ && !closed_ &&
         !h2_) {
    if (in_start_ == in_len_) in_start_ = in_len_ = 0;
    if (in_len_ == in_cap_) {
      if (in_start_ > 0) {
        std::memmove(in_.get(), in_.get() + in_start_, in_len_ - in_start_);
        in_len_ -= in_start_;
        in_start_ = 0;
      } else {
        size_t max_cap = w_.options_.max_header_bytes + 1024;
        if (!(state_ == State::kHead || state_ == State::kIdle) || in_cap_ >= max_cap) {
          break;  // backpressure: resumes when the buffer drains (readiness is kept)
        }
        size_t cap = std::min(in_cap_ * 2, max_cap);
        std::unique_ptr<char[]> bigger(new char[cap]);
        std::memcpy(bigger.get(), in_.get(), in_len_);
        in_ = std::move(bigger);
        in_cap_ = cap;
      }
    }
    size_t space = in_cap_ - in_len_;
    ssize_t n = clientRecv(in_.get() + in_len_, space);
    if (n > 0) {
      // A short read drained the socket: edge-triggered epoll reports the next byte. Not after
      // EPOLLRDHUP: the FIN came with this edge and no other will come, so read on to the EOF
      // (a half-close after a complete request closes once answered, not at the idle timeout).
      // Not with TLS either: a read returns one record, not what the socket holds.
      if (static_cast<size_t>(n) < space && !client_rdhup_ && !tls_) client_readable_ = false;
      // With TLS: when the last read(2) came back short and OpenSSL holds nothing more.
      if (tls_ && !client_rdhup_ && tls_->socketDrained()) client_readable_ = false;
      handleClientData(static_cast<size_t>(n));
    } else if (n == 0) {
      client_readable_ = false;
      handleClientEof(true);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      client_readable_ = false;
    } else if (errno != EINTR) {
      client_readable_ = false;
      handleClientEof(false);
    }
  }
  in_client_loop_ = false;
}

void Session::handleClientEof(bool clean) {
  client_eof_ = true;
  switch (state_) {
    case State::kIdle:
    case State::kHead:
    case State::kLingering:
      close();
      return;
    case State::kHeld:
      // Nothing went upstream yet: a client that leaves drops its place in the hold queue (as
      // HAProxy's abortonclose for queued requests) instead of holding it until the timeout.
      close();
      return;
    case State::kUpstream:
    case State::kStreaming:
      // A client that half-closes after a complete request still gets its response; one that
      // goes away mid-body (or resets) aborts the exchange. Body bytes still buffered (the
      // upstream is connecting or its socket is full) are pumped first: pumpRequestBody closes
      // if they do not complete the body.
      if (!clean || (!req_body_received_ && in_start_ == in_len_)) close();
      return;
  }
}

void Session::handleClientData(size_t n) {
  in_len_ += n;
  processClientData();
}

void Session::processClientData() {
  switch (state_) {
    case State::kIdle:
    case State::kHead:
      parseHead();
      break;
    case State::kUpstream:
    case State::kStreaming:
      if (!req_body_received_) pumpRequestBody();
      break;
    case State::kLingering:
      in_start_ = in_len_ = 0;
      break;
    case State::kHeld:
      break;  // body bytes wait in the buffer until a host is picked
  }
}

void Session::parseHead() {
  if (in_start_ == in_len_) return;
  if (state_ == State::kIdle) {
    state_ = State::kHead;
    TimePoint now = w_.now();
    deadline_ = now + w_.options_.header_timeout;
    req_start_ = now;
  }
  if (fresh_ && w_.options_.http2.enabled) {
    // HTTP/2 with prior knowledge: the connection opens with the client preface (RFC 9113 §3.4).
    static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    std::string_view got(in_.get() + in_start_, in_len_ - in_start_);
    size_t n = std::min(got.size(), kPreface.size());
    if (got.substr(0, n) == kPreface.substr(0, n)) {
      if (n < kPreface.size()) return;  // the rest of the preface (header timeout bounds it)
      state_ = State::kIdle;
      startH2(got);
      return;
    }
    fresh_ = false;
  }
  auto st = req_parser_.parse(in_.get() + in_start_, in_len_ - in_start_);
  if (st == HeadParser::Status::kIncomplete) return;
  if (st == HeadParser::Status::kError) {
    ParseError e = req_parser_.error();
    respondLocal(net::statusForError(e), net::describeError(e), true);
    return;
  }
  beginRequest();
}

void Session::beginRequest() {
  const HeadParser& p = req_parser_;
  client_minor_ = p.versionMinor();
  client_keep_alive_ = p.keepAlive() && !w_.shutting_down_;
  head_request_ = p.isHead();
  hash_key_ = w_.wants_hash_key_ ? hashKey(w_.options_.hash_key, p) : std::nullopt;
  writeUpstreamHead(p, client_ip_, w_.random_, out_up_);
  if (w_.access_ring_ != nullptr) captureForLog(true);
  up_sent_ = 0;
  bool expect_continue = p.expectContinue();
  in_start_ += p.headSize();

  req_body_.reset(p.framing(), p.contentLength(), w_.options_.max_body_bytes);
  retryable_ = true;
  req_body_received_ = req_body_.done();
  if (!req_body_received_ && in_start_ < in_len_) {
    // Re-framed, never copied: a chunked body goes on as "<size>CRLF<data>CRLF" runs and a last
    // chunk, without the client's extensions, trailers or line endings.
    size_t n = req_body_.reframe(std::string_view(in_.get() + in_start_, in_len_ - in_start_),
                                 &out_up_);
    if (req_body_.failed()) {
      respondLocal(net::statusForError(req_body_.error()), net::describeError(req_body_.error()),
                   true);
      return;
    }
    in_start_ += n;
    log_req_bytes_ += n;
    req_body_received_ = req_body_.done();
  }
  if (out_up_.size() > w_.options_.retry_max_body_bytes + 65536 ||
      (p.framing() == BodyFraming::kContentLength &&
       p.contentLength() > w_.options_.retry_max_body_bytes)) {
    retryable_ = false;
  }
  if (expect_continue && !req_body_received_ && client_minor_ >= 1) {
    static const char k100[] = "HTTP/1.1 100 Continue\r\n\r\n";
    iovec iov{const_cast<char*>(k100), sizeof k100 - 1};
    clientSendv(&iov, 1);
  }

  state_ = State::kUpstream;
  counted_ = true;
  w_.in_flight_.fetch_add(1, std::memory_order_relaxed);
  req_deadline_ = req_start_ + w_.options_.request_timeout;
  if (w_.options_.upstreamIsH2()) {
    respondLocal(502,
                 "this gateway's upstreams speak HTTP/2 (upstream_protocol: h2): send HTTP/2 "
                 "(h2c with prior knowledge, or TLS with ALPN h2)",
                 !req_body_received_);
    return;
  }
  deadline_ = req_deadline_;
  tries_ = 0;
  excluded_n_ = 0;
  pickAndConnect();
}

// ---- picking and connecting ---------------------------------------------------------------------

void Session::pickAndConnect() {
  w_.refreshSnapshot();
  TimePoint now = w_.now();
  lb::PickContext ctx;
  ctx.now = now;
  ctx.hash_key = hash_key_;
  ctx.exclude = std::span<const lb::Host* const>(excluded_.data(), excluded_n_);
  lb::Host* h = admitPick(w_.balancer_->pick(ctx), *w_.snapshot_, now);
  HostPool* pool = h ? w_.pool_.forHost(h) : nullptr;
  if (tries_ == 0) fail_status_ = 502;
  if (pool == nullptr) {
    if (w_.activator_ != nullptr &&
        shouldHold(w_.activator_->options(), tries_, anyEligible(*w_.snapshot_, now))) {
      hold(now);
      return;
    }
    NoHostAnswer a = noHostAnswer(tries_, fail_status_);
    respondLocal(a.status, a.message, !req_body_received_);
    return;
  }
  host_ = h;
  pool_ = pool;
  w_.pool_.acquire(pool);
  h->onRequestStart();
  ++tries_;
  if (excluded_n_ < excluded_.size()) excluded_[excluded_n_++] = h;
  attempt_start_ = now;
  try_deadline_ = TimePoint::max();
  startPerTryClock();
  armTryDeadline();
  resp_bytes_ = 0;
  up_reusable_ = true;
  resp_parser_.reset();
  resp_parser_.setRequestWasHead(head_request_);

  if (!pool->resolved) {
    attemptFailed(Outcome::kConnectFailed, "backend address does not resolve");
    return;
  }
  up_ = w_.pool_.takeIdle(pool, this);
  reused_conn_ = up_ != nullptr;
  if (up_ != nullptr) {
    sendRequest();
    return;
  }
  int err = 0;
  UpstreamConn* c = w_.pool_.connect(pool, this, &err);
  if (c == nullptr) {
    attemptFailed(Outcome::kConnectFailed, "connect to upstream failed");
    return;
  }
  up_ = c;
  if (!c->connecting) {
    sendRequest();
    return;
  }
  connect_deadline_ = now + w_.options_.connect_timeout;
  armTryDeadline();
}

TryDeadlines Session::tryDeadlines() const {
  TryDeadlines d;
  d.request = req_deadline_;
  if (up_ != nullptr && up_->connecting) d.connect = connect_deadline_;
  d.per_try = try_deadline_;
  return d;
}

void Session::armTryDeadline() { deadline_ = nextDeadline(tryDeadlines()); }

void Session::startPerTryClock() {
  if (state_ != State::kUpstream || !req_body_received_ || try_deadline_ != TimePoint::max()) {
    return;
  }
  try_deadline_ = perTryDeadline(w_.now(), w_.options_.per_try_timeout);
  armTryDeadline();
}

void Session::onUpstreamIo(UpstreamConn* c, uint32_t events) {
  if (closed_ || c != up_) return;
  if (c->connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    c->connecting = false;
    if (events & (EPOLLIN | EPOLLRDHUP)) c->readable = true;
    onConnect(c, err);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true;
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && up_writing_) writeUpstream();
  if (!closed_ && up_ == c && c->readable) readUpstream();
}

void Session::onConnect(UpstreamConn* c, int err) {
  if (err != 0) {
    attemptFailed(Outcome::kConnectFailed, "connect to upstream failed");
    return;
  }
  (void)c;
  armTryDeadline();
  sendRequest();
}

void Session::sendRequest() {
  UpstreamConn* c = up_;
  sent_at_ = w_.now();  // connect time is not the backend's latency
  up_sent_ = 0;
  up_writing_ = false;
  writeUpstream();
  // A failed write may have moved on to a retry (another connection, maybe still connecting).
  if (closed_ || up_ != c || state_ == State::kLingering) return;
  if (c->readable) readUpstream();
}

void Session::writeUpstream() {
  UpstreamConn* c = up_;
  while (true) {
    size_t left = out_up_.size() - up_sent_;
    if (left == 0) {
      up_writing_ = false;
      onUpstreamWritten();
      return;
    }
    iovec iov{out_up_.data() + up_sent_, left};
    ssize_t n = sendv(c->fd, &iov, 1);
    if (n < 0) {
      up_writing_ = false;
      if (state_ == State::kUpstream) {
        attemptFailed(Outcome::kReset, "upstream write failed");
      } else {
        close();
      }
      return;
    }
    if (n == 0) {  // EAGAIN: the rest goes when the socket reports EPOLLOUT
      up_writing_ = true;
      return;
    }
    up_sent_ += static_cast<size_t>(n);
  }
}

void Session::onUpstreamWritten() {
  startPerTryClock();
  if (!retryable_) {
    out_up_.clear();
    up_sent_ = 0;
  }
  if (!req_body_received_) pumpRequestBody();
}

void Session::pumpRequestBody() {
  if (up_writing_ || req_body_received_ || up_ == nullptr || up_->connecting || closed_) return;
  if (in_start_ == in_len_) {
    if (client_eof_) close();  // the client went away mid-body: nothing more will come
    return;
  }
  size_t n = req_body_.reframe(std::string_view(in_.get() + in_start_, in_len_ - in_start_),
                               &out_up_);
  if (req_body_.failed()) {
    if (state_ == State::kUpstream) {
      releaseUpstream(false);
      respondLocal(net::statusForError(req_body_.error()), net::describeError(req_body_.error()),
                   true);
    } else {
      close();
    }
    return;
  }
  if (retryable_ && out_up_.size() > w_.options_.retry_max_body_bytes + 65536) {
    retryable_ = false;
    out_up_.erase(0, up_sent_);
    up_sent_ = 0;
  }
  in_start_ += n;
  log_req_bytes_ += n;
  req_body_received_ = req_body_.done();
  if (client_eof_ && !req_body_received_ && in_start_ == in_len_) {
    close();  // the client's FIN came before the end of the body
    return;
  }
  startPerTryClock();
  writeUpstream();
  if (!closed_) readClient();
}

// ---- response -----------------------------------------------------------------------------------

void Session::readUpstream() {
  UpstreamConn* c = up_;
  if (c == nullptr || c->connecting || in_up_loop_) return;
  in_up_loop_ = true;
  // Not while a client write is pending: it may point into this buffer (backpressure).
  while (up_ == c && c->readable && !closed_ && !client_writing_) {
    if (c->start == c->len) c->start = c->len = 0;
    if (c->len == c->cap) {
      if (c->start > 0) {
        std::memmove(c->buf.get(), c->buf.get() + c->start, c->len - c->start);
        c->len -= c->start;
        c->start = 0;
      } else {
        // A response head larger than the buffer: grow up to the head limit.
        size_t max_cap = w_.options_.max_header_bytes + 1024;
        if (state_ != State::kUpstream || c->cap >= max_cap) {
          attemptFailed(Outcome::kReset, "upstream response head too large");
          break;
        }
        size_t cap = std::min(c->cap * 2, max_cap);
        std::unique_ptr<char[]> bigger(new char[cap]);
        std::memcpy(bigger.get(), c->buf.get(), c->len);
        c->buf = std::move(bigger);
        c->cap = cap;
      }
    }
    size_t space = c->cap - c->len;
    ssize_t n = ::recv(c->fd, c->buf.get() + c->len, space, 0);
    if (n > 0) {
      if (static_cast<size_t>(n) < space) c->readable = false;
      handleUpstreamData(c, static_cast<size_t>(n));
    } else if (n == 0) {
      c->readable = false;
      handleUpstreamEof(true);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->readable = false;
    } else if (errno != EINTR) {
      c->readable = false;
      handleUpstreamEof(false);
    }
  }
  in_up_loop_ = false;
}

void Session::handleUpstreamEof(bool clean) {
  if (state_ == State::kUpstream) {
    if (resp_bytes_ == 0 && reused_conn_) {
      // A pooled keep-alive connection the backend had closed: not the backend's failure.
      attemptFailed(std::nullopt, "upstream closed the connection");
    } else {
      attemptFailed(Outcome::kReset, resp_bytes_ == 0 ? "upstream closed the connection"
                                                      : "upstream sent an incomplete response");
    }
    return;
  }
  // Streaming: EOF ends a read-until-close body; anything else truncates the response.
  up_reusable_ = false;
  resp_body_.onEof();
  if (clean && resp_body_.done()) {
    forwardResponseBody(false);
  } else {
    close();
  }
}

void Session::handleUpstreamData(UpstreamConn* c, size_t n) {
  if (resp_bytes_ == 0) first_byte_ = w_.now();
  resp_bytes_ += n;
  c->len += n;
  if (state_ == State::kUpstream) {
    parseResponseHead();
  } else {
    forwardResponseBody(false);
  }
}

void Session::parseResponseHead() {
  UpstreamConn* c = up_;
  while (true) {
    auto st = resp_parser_.parse(c->buf.get() + c->start, c->len - c->start);
    if (st == HeadParser::Status::kIncomplete) return;  // the read loop continues
    if (st == HeadParser::Status::kError) {
      attemptFailed(Outcome::kReset, "malformed response from upstream");
      return;
    }
    int status = resp_parser_.status();
    if (status >= 100 && status < 200) {
      if (status == 101) {
        attemptFailed(Outcome::kReset, "upstream switched protocols");
        return;
      }
      // Interim responses (100 Continue was answered by the proxy) are consumed.
      c->start += resp_parser_.headSize();
      resp_parser_.reset();
      resp_parser_.setRequestWasHead(head_request_);
      continue;
    }
    break;
  }
  const HeadParser& p = resp_parser_;
  resp_status_ = p.status();
  TimePoint now = w_.now();
  if (resp_status_ >= 500) host_->recordFailure();
  w_.cluster_.onResult(*host_, resp_status_ >= 500 ? Outcome::kServerError : Outcome::kSuccess,
                       first_byte_ - sent_at_, now);
  if (!p.keepAlive()) up_reusable_ = false;

  ClientResponseHead head = writeClientResponseHead(
      p, client_minor_, client_keep_alive_ && !w_.shutting_down_ && req_body_received_,
      out_client_);
  client_keep_alive_ = head.keep_alive;
  dechunk_ = head.dechunk;
  c->start += p.headSize();
  resp_body_.reset(p.framing(), p.contentLength(), 0);
  state_ = State::kStreaming;
  deadline_ = now + w_.options_.idle_timeout;
  forwardResponseBody(true);
}

void Session::forwardResponseBody(bool with_head) {
  UpstreamConn* c = up_;
  const char* body = c->buf.get() + c->start;
  size_t body_len = 0;
  if (!resp_body_.done() && c->start < c->len) {
    std::string_view avail(body, c->len - c->start);
    if (dechunk_) {
      // HTTP/1.0 client and a chunked response: payload only (copied; rare).
      size_t used = 0;
      while (used < avail.size() && !resp_body_.done() && !resp_body_.failed()) {
        auto s = resp_body_.step(avail.substr(used));
        out_client_.append(s.data);
        used += s.consumed;
        if (s.consumed == 0) break;
      }
      c->start += used;
    } else {
      body_len = resp_body_.consumeAll(avail);
      c->start += body_len;
    }
    if (resp_body_.failed()) {
      close();  // the upstream broke framing mid-body: nothing sane to send
      return;
    }
  }
  if (resp_body_.done() && c->start < c->len) up_reusable_ = false;  // bytes past the end
  if (head_request_) body_len = 0;
  if (!with_head && !dechunk_) out_client_.clear();
  if (out_client_.empty() && body_len == 0) {
    onClientWritten();
    return;
  }
  writeClient(out_client_.data(), out_client_.size(), body, body_len);
}

void Session::writeClient(const char* a, size_t alen, const char* b, size_t blen) {
  cw_ptr_[0] = a;
  cw_len_[0] = alen;
  cw_ptr_[1] = b;
  cw_len_[1] = blen;
  client_writing_ = true;
  continueClientWrite();
}

void Session::continueClientWrite() {
  while (true) {
    iovec iov[2];
    int k = 0;
    for (int i = 0; i < 2; ++i) {
      if (cw_len_[i] != 0) iov[k++] = iovec{const_cast<char*>(cw_ptr_[i]), cw_len_[i]};
    }
    if (k == 0) {
      client_writing_ = false;
      onClientWritten();
      return;
    }
    ssize_t sent = clientSendv(iov, k);
    if (sent < 0) {
      client_writing_ = false;
      close();
      return;
    }
    if (sent == 0) return;  // EAGAIN: continues on EPOLLOUT
    size_t s = static_cast<size_t>(sent);
    log_resp_bytes_ += s;
    for (int i = 0; i < 2 && s > 0; ++i) {
      size_t take = std::min(s, cw_len_[i]);
      cw_ptr_[i] += take;
      cw_len_[i] -= take;
      s -= take;
    }
  }
}

void Session::onClientWritten() {
  if (!out_client_.empty()) out_client_.clear();
  if (!resp_body_.done()) {
    deadline_ = w_.now() + w_.options_.idle_timeout;
    readUpstream();
    return;
  }
  if (state_ == State::kLingering) {
    accountEnd();
    closeGracefully(true);
    return;
  }
  finishExchange();
}

void Session::respondLocal(int status, std::string_view message, bool linger,
                           int64_t retry_after_s) {
  if (linger) client_keep_alive_ = false;
  if (state_ == State::kIdle || state_ == State::kHead) {
    client_keep_alive_ = false;  // a head we could not parse: the stream is lost
    linger = true;
    client_minor_ = 1;
  }
  if (!req_body_received_) client_keep_alive_ = false;
  if (w_.shutting_down_) client_keep_alive_ = false;
  resp_status_ = status;
  if (!counted_) {  // rejected before it became a request (bad head, header timeout)
    if (auto* c = w_.requestsCounter(nullptr, statusClass(status))) c->inc();
    if (w_.access_ring_ != nullptr && !log_pending_) captureForLog(false);
  }
  if (log_pending_) {
    local_answer_ = true;
    log_reason_.assign(message.substr(0, kMaxReasonBytes + 1));
  }
  writeLocalResponse(status, message, client_minor_, client_keep_alive_, head_request_,
                     out_client_);
  if (retry_after_s > 0) setRetryAfter(out_client_, retry_after_s);
  resp_body_.reset(BodyFraming::kNone, 0);
  linger_ = linger;
  // The exchange is over once this answer is out: no try deadline may fire again (a re-entered
  // attemptFailed would rewrite a half-sent answer or start a try behind it).
  try_deadline_ = TimePoint::max();
  if (linger) {
    state_ = State::kLingering;
  } else if (state_ == State::kUpstream) {
    state_ = State::kStreaming;
    deadline_ = w_.now() + w_.options_.idle_timeout;
  }
  writeClient(out_client_.data(), out_client_.size(), nullptr, 0);
}

// ---- attempts, retries --------------------------------------------------------------------------

void Session::releaseUpstream(bool reusable) {
  if (up_ != nullptr) {
    UpstreamConn* c = up_;
    up_ = nullptr;
    if (reusable) {
      ++c->requests;
      w_.pool_.putIdle(c, w_.now());
    } else {
      w_.pool_.destroy(c);
    }
  }
  if (host_ != nullptr) {
    host_->onRequestEnd();
    host_ = nullptr;
  }
  if (pool_ != nullptr) {
    w_.pool_.releaseUser(pool_);
    pool_ = nullptr;
  }
  up_writing_ = false;
}

void Session::attemptFailed(std::optional<Outcome> outcome, std::string_view why) {
  TimePoint now = w_.now();
  TryFailure failure = !outcome                             ? TryFailure::kStaleConnection
                       : *outcome == Outcome::kConnectFailed ? TryFailure::kConnectFailed
                       : *outcome == Outcome::kTimeout       ? TryFailure::kPerTryTimeout
                                                            : TryFailure::kReset;
  if (host_ != nullptr && outcome) {
    host_->recordFailure();
    w_.cluster_.onResult(*host_, *outcome, std::nullopt, now);  // feeds outlier detection
  }
  RetryDecision d;
  if (state_ == State::kUpstream) {
    TryState ts;
    ts.tries = tries_;
    ts.body_replayable = retryable_;
    ts.response_from_upstream = resp_bytes_ != 0;
    d = w_.decideTryRetry(failure, ts, &retry_counted_);
    fail_status_ = d.status;
  }
  // Abandoned tries close their connection: a late answer must never meet the next request.
  releaseUpstream(false);
  if (d.retry) {
    if (w_.metrics_.retries) w_.metrics_.retries->inc();
    up_sent_ = 0;
    deadline_ = req_deadline_;
    pickAndConnect();
    return;
  }
  if (state_ == State::kUpstream) {
    respondLocal(d.status, why, !req_body_received_);
  } else {
    close();
  }
}

// ---- access log ---------------------------------------------------------------------------------

namespace {
// `v` when it lies inside [base, base + len) (the parser's views of a failed head may be stale).
std::string_view inBuffer(std::string_view v, const char* base, size_t len) {
  if (v.data() == nullptr || v.data() < base || v.data() + v.size() > base + len) return {};
  return v;
}
// Copies at most max + 1 bytes: enough for the formatter to see (and mark) the truncation.
void assignBounded(std::string& dst, std::string_view v, size_t max) {
  dst.assign(v.substr(0, max + 1));
}
}  // namespace

void Session::captureForLog(bool parsed) {
  const HeadParser& p = req_parser_;
  log_pending_ = true;
  log_request_ = parsed;
  local_answer_ = false;
  log_reason_.clear();
  log_resp_bytes_ = 0;
  if (parsed) {
    log_req_bytes_ = p.headSize();
    assignBounded(log_method_, p.method(), kMaxMethodBytes);
    assignBounded(log_path_, p.target(), kMaxPathBytes);
    if (const net::HeaderField* f = p.find(net::HeaderId::kXRequestId)) {
      assignBounded(log_rid_, f->value, kMaxRequestIdBytes);
    } else {
      // The id writeUpstreamHead generated: its field is the last X-Request-Id of out_up_, which
      // holds exactly the head at this point.
      static constexpr std::string_view kField = "\r\nX-Request-Id: ";
      size_t at = out_up_.rfind(kField);
      log_rid_.clear();
      if (at != std::string::npos) {
        size_t b = at + kField.size();
        size_t e = out_up_.find('\r', b);
        if (e != std::string::npos) {
          assignBounded(log_rid_, {out_up_.data() + b, e - b}, kMaxRequestIdBytes);
        }
      }
    }
    return;
  }
  // A head that failed to parse (or timed out): what the parser saw of the request line, if any.
  const char* base = in_.get() + in_start_;
  size_t len = in_len_ - in_start_;
  log_req_bytes_ = len;
  assignBounded(log_method_, inBuffer(p.method(), base, len), kMaxMethodBytes);
  assignBounded(log_path_, inBuffer(p.target(), base, len), kMaxPathBytes);
  log_rid_.clear();
}

void Session::logAccess(std::string_view abort_reason) {
  log_pending_ = false;
  AccessLogRing* ring = w_.access_ring_;
  if (ring == nullptr) return;
  // The clock itself, not the loop's cached time of this epoll batch: a request answered within
  // one batch would log 0 (one clock read per logged request, only when the log is on).
  const TimePoint now = steadyNow();
  const int64_t dur_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - req_start_).count();
  const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  AccessLogEntry e;
  e.start_unix_ms = wall_ms - dur_us / 1000;
  e.client = client_ip_;
  e.method = log_method_;
  e.path = log_path_;
  e.http_minor = client_minor_;
  e.status = resp_status_;
  const bool from_upstream = !local_answer_ && pool_ != nullptr;
  if (from_upstream) e.upstream = pool_->host->address();
  e.request_bytes = log_req_bytes_;
  e.response_bytes = log_resp_bytes_;
  e.duration_us = dur_us;
  if (from_upstream && resp_status_ != 0 && first_byte_ >= sent_at_) {
    e.upstream_us =
        std::chrono::duration_cast<std::chrono::microseconds>(first_byte_ - sent_at_).count();
  }
  e.request_id = log_rid_;
  e.retries = log_request_ && tries_ > 1 ? tries_ - 1 : 0;
  e.reason = local_answer_ ? std::string_view(log_reason_) : abort_reason;
  std::string& line = w_.access_line_;
  line.clear();
  formatAccessLogLine(e, w_.access_format_, w_.access_clock_, line);
  bool past_half = false;
  ring->push(line, &past_half);
  if (past_half) w_.shared_.access_log->nudge();
  local_answer_ = false;
  log_resp_bytes_ = 0;
}

// ---- end of an exchange -------------------------------------------------------------------------

void Session::accountEnd() {
  if (log_pending_) logAccess({});
  if (counted_) {
    counted_ = false;
    w_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    int cls = statusClass(resp_status_);
    if (metrics::Counter* counter = w_.requestsCounter(pool_, cls)) counter->inc();
    if (w_.duration_) w_.duration_->observe(toSeconds(w_.now() - req_start_));
  }
  if (retry_counted_) {
    retry_counted_ = false;
    w_.shared_.retries_in_flight->fetch_sub(1, std::memory_order_relaxed);
  }
}

void Session::finishExchange() {
  TimePoint now = w_.now();
  bool reusable = up_reusable_ && req_body_received_ && !up_writing_ && up_ != nullptr &&
                  up_->start == up_->len;
  accountEnd();
  releaseUpstream(reusable);
  req_parser_.reset();
  out_up_.clear();
  up_sent_ = 0;
  resp_status_ = 0;
  if (!client_keep_alive_ || w_.shutting_down_) {
    closeGracefully(linger_ || !req_body_received_);
    return;
  }
  state_ = State::kIdle;
  deadline_ = now + w_.options_.idle_timeout;
  if (in_start_ < in_len_) parseHead();  // pipelined request already buffered
  if (!closed_) {
    if (client_eof_ && state_ == State::kIdle) {
      close();
      return;
    }
    readClient();
  }
}

void Session::closeGracefully(bool linger) {
  if (!linger || client_eof_) {
    close();
    return;
  }
  // Lingering close: stop sending, drain what the client still sends for a short while so that
  // it reads our response instead of a reset.
  state_ = State::kLingering;
  ::shutdown(fd_, SHUT_WR);
  deadline_ = w_.now() + std::chrono::seconds(2);
  in_start_ = in_len_ = 0;
  readClient();
}

void Session::close() {
  if (closed_) return;
  if (h2_) h2_->abort();
  if (log_pending_) {
    logAccess(state_ == State::kStreaming ? "connection closed mid-response"
                                          : "client closed the connection");
  }
  releaseUpstream(false);  // an attempt in progress is abandoned (not the backend's fault)
  if (held_) endHold(HoldEnd::kAbandoned);
  if (counted_) {
    counted_ = false;
    w_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (retry_counted_) {
    retry_counted_ = false;
    w_.shared_.retries_in_flight->fetch_sub(1, std::memory_order_relaxed);
  }
  closed_ = true;
  client_writing_ = false;
  // Leave the epoll set explicitly before close(): a copy of the socket elsewhere (a forked child,
  // a dup) would keep the registration, and its events, alive (epoll_set.h).
  w_.epoll_.remove(fd_, handle_);
  handle_ = EpollSet::kNoHandle;
  if (tls_) tls_->shutdown();  // close_notify, best effort
  ::close(fd_);
  fd_ = -1;
  w_.unlink(this);
  w_.dead_sessions_.push_back(this);
}

void Session::onTimeout(TimePoint now) {
  if (h2_) {
    h2_->onTimeout(now);
    return;
  }
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      close();
      return;
    case State::kHead:
      respondLocal(408, "timed out reading the request head", true);
      return;
    case State::kUpstream:
      switch (expiredDeadline(tryDeadlines(), now)) {
        case Expired::kNone:
          armTryDeadline();
          return;
        case Expired::kConnect:
          attemptFailed(Outcome::kConnectFailed, "connect to upstream timed out");
          return;
        case Expired::kPerTry:
          attemptFailed(Outcome::kTimeout, "upstream per-try timeout");
          return;
        case Expired::kRequest:
          break;
      }
      if (host_ != nullptr) {
        host_->recordFailure();
        w_.cluster_.onResult(*host_, Outcome::kTimeout, std::nullopt, now);
      }
      releaseUpstream(false);
      respondLocal(504, "upstream request timeout", !req_body_received_);
      return;
    case State::kStreaming:
      close();  // no progress for idle_timeout while streaming
      return;
    case State::kHeld:
      checkHeld(now, anyEligible(*w_.snapshot_, now));
      return;
  }
}

void Session::onShutdown() {
  if (h2_) {
    h2_->onShutdown();
    return;
  }
  client_keep_alive_ = false;
  if (state_ == State::kIdle) close();
  if (state_ == State::kHeld) {
    endHold(HoldEnd::kTimedOut);
    state_ = State::kUpstream;
    respondLocal(503, "the gateway is shutting down", !req_body_received_,
                 retryAfterSeconds(w_.activator_->options().retry_after));
  }
}

void Session::hold(TimePoint now) {
  HoldQueue& q = *w_.activator_;
  const int64_t retry_after = retryAfterSeconds(q.options().retry_after);
  if (!q.tryHold()) {
    respondLocal(503, "no replica is ready and the activator queue is full", !req_body_received_,
                 retry_after);
    return;
  }
  held_ = true;
  ++w_.held_count_;
  state_ = State::kHeld;
  hold_deadline_ = holdDeadline(now, q.options().timeout, req_deadline_);
  deadline_ = hold_deadline_;
}

void Session::endHold(HoldEnd how) {
  held_ = false;
  --w_.held_count_;
  w_.activator_->end(how);
}

void Session::checkHeld(TimePoint now, bool any_eligible) {
  if (h2_) {
    h2_->checkHeld(now, any_eligible);
    return;
  }
  switch (heldOutcome(now, hold_deadline_, any_eligible)) {
    case HeldOutcome::kWait:
      deadline_ = hold_deadline_;
      return;
    case HeldOutcome::kRelease:
      endHold(HoldEnd::kReleased);
      state_ = State::kUpstream;
      deadline_ = req_deadline_;
      pickAndConnect();
      return;
    case HeldOutcome::kTimeout:
      endHold(HoldEnd::kTimedOut);
      state_ = State::kUpstream;
      respondLocal(503, "no replica became ready within the activator timeout",
                   !req_body_received_, retryAfterSeconds(w_.activator_->options().retry_after));
      return;
  }
}

// =================================================================================================
// Worker

Worker::Worker(int index, const GatewayOptions& options, Cluster& cluster, GatewayMetrics metrics,
               SharedState shared, uint64_t seed)
    : index_(index),
      options_(options),
      cluster_(cluster),
      metrics_(metrics),
      shared_(shared),
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      epfd_(::epoll_create1(EPOLL_CLOEXEC)),
      epoll_desc_(io_),
      epoll_(epfd_),
      acceptor_(io_),
      sweep_timer_(io_),
      random_(seed),
      pool_(epoll_, UpstreamPoolOptions{options.upstream_idle_timeout, 16 * 1024}) {
  SURGE_CHECK(epfd_ >= 0);
  listen_target_.w = this;
  epoll_desc_.assign(epfd_);
  Duration shortest = std::min({options.connect_timeout, options.request_timeout,
                                options.idle_timeout, options.header_timeout});
  if (options.per_try_timeout > Duration::zero()) {
    shortest = std::min(shortest, options.per_try_timeout);
  }
  sweep_interval_ = std::clamp<Duration>(shortest / 8, std::chrono::milliseconds(5),
                                         std::chrono::milliseconds(100));
  auto b = lb::makeBalancer(options.balancer, &random_);
  SURGE_CHECK(b.isOk());  // validated by Gateway::start
  balancer_ = std::move(b).value();
  wants_hash_key_ = options.balancer.algorithm == "consistent_hash";
  if (metrics_.duration) duration_ = &metrics_.duration->get();
  activator_ = shared_.activator;
  if (shared_.access_log != nullptr) {
    access_ring_ = &shared_.access_log->ring(index_);
    access_format_ = shared_.access_log->options().format;
    access_line_.reserve(1024);
  }
  h2_ = std::make_unique<H2Hub>(*this);
  if (metrics_.tls_handshakes != nullptr) {
    tls_ok_ = &metrics_.tls_handshakes->labels({"ok"});
    tls_failed_ = &metrics_.tls_handshakes->labels({"failed"});
  }
  pool_.on_new_entry = [this](HostPool& p) {
    if (metrics_.upstream_connections) {
      p.connections_total = &metrics_.upstream_connections->labels({p.host->address()});
    }
  };
}

Worker::~Worker() {
  // The worker thread has finished (or never ran): close what is left and free it here.
  while (sessions_ != nullptr) sessions_->forceClose();  // unlinks
  closeListener();
  sweep_timer_.cancel();
  reap();  // sessions first: their HTTP/2 streams leave the upstream connections
  h2_->closeAll();
  h2_->reap();
  pool_.closeIdle();
  reap();
  pool_.reap();
}

Status Worker::listen(const net::tcp::endpoint& endpoint) {
  RETURN_IF_ERROR(net::openListener(acceptor_, endpoint, /*reuse_port=*/true, 4096));
  port_ = acceptor_.local_endpoint().port();
  // Level-triggered: acceptReady() takes a bounded batch and is called again while more wait.
  listen_handle_ = epoll_.add(acceptor_.native_handle(), EPOLLIN, &listen_target_);
  if (listen_handle_ == EpollSet::kNoHandle) {
    return unavailable(std::string("epoll_ctl(listener): ") + std::strerror(errno));
  }
  return Status::ok();
}

void Worker::run() {
  refreshSnapshot();
  armEpoll();
  armSweep();
  io_.run();
}

void Worker::armEpoll() {
  epoll_desc_.async_wait(net::asio::posix::stream_descriptor::wait_read, [this](error_code ec) {
    if (ec || stopped_) return;
    pollEvents();
    if (!stopped_) armEpoll();
  });
}

void Worker::pollEvents() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (true) {
    int n = ::epoll_wait(epfd_, events, kMaxEvents, 0);
    now_ = steadyNow();
    for (int i = 0; i < n; ++i) {
      // A stale handle (target closed earlier in this batch, or a registration that outlived its
      // descriptor) finds no target and is dropped.
      if (IoTarget* t = epoll_.target(events[i].data.u64)) t->onIo(events[i].events);
    }
    h2_->drain();  // HTTP/2 output of the batch, coalesced
    reap();
    if (n < kMaxEvents) break;
  }
}

void Worker::reap() {
  for (Session* s : dead_sessions_) delete s;
  dead_sessions_.clear();
  if (h2_) h2_->reap();
  pool_.reap();
}

void Worker::acceptReady() {
  if (shutting_down_ || accept_paused_ || !acceptor_.is_open()) return;
  const int lfd = acceptor_.native_handle();
  for (int i = 0; i < 64; ++i) {  // bounded: other events of the batch wait for us otherwise
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      pauseAccepting(err);
      return;
    }
    setNoDelay(fd);
    char ip[INET6_ADDRSTRLEN] = "";
    if (peer.ss_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, ip, sizeof ip);
    } else if (peer.ss_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, ip, sizeof ip);
    }
    auto* session = new Session(*this, fd, ip);
    link(session);
    session->start();
  }
}

namespace {
// One warning per period for every worker together: under a connection flood at the descriptor
// limit each accept fails, and one line per failure was 20 lines a second.
RateLimitedLog& acceptErrorLog() {
  static RateLimitedLog log(std::chrono::seconds(10));
  return log;
}
constexpr Duration kAcceptPause = std::chrono::milliseconds(100);
}  // namespace

void Worker::pauseAccepting(int err) {
  acceptErrorLog().log(LogLevel::kWarn, "gateway",
                       std::string("accept: ") + std::strerror(err) +
                           " (pausing accepts for 100 ms; raise `ulimit -n`?)");
  accept_paused_ = true;
  accept_resume_at_ = steadyNow() + kAcceptPause;
  epoll_.modify(acceptor_.native_handle(), listen_handle_, 0);
}

void Worker::resumeAccepting() {
  accept_paused_ = false;
  if (shutting_down_ || !acceptor_.is_open()) return;
  epoll_.modify(acceptor_.native_handle(), listen_handle_, EPOLLIN);
}

void Worker::closeListener() {
  if (!acceptor_.is_open()) return;
  epoll_.remove(acceptor_.native_handle(), listen_handle_);
  listen_handle_ = EpollSet::kNoHandle;
  error_code ec;
  acceptor_.close(ec);
}

void Worker::link(Session* s) {
  s->next = sessions_;
  if (sessions_) sessions_->prev = s;
  sessions_ = s;
  ++session_count_;
}

void Worker::unlink(Session* s) {
  if (s->prev) s->prev->next = s->next;
  if (s->next) s->next->prev = s->prev;
  if (sessions_ == s) sessions_ = s->next;
  s->prev = s->next = nullptr;
  --session_count_;
}

void Worker::refreshSnapshot() {
  uint64_t v = cluster_.version();
  if (v == snapshot_version_) return;
  snapshot_ = cluster_.snapshot();
  snapshot_version_ = v;
  balancer_->update(snapshot_);
  pool_.onSnapshot(*snapshot_);
}

metrics::Counter* Worker::grpcStatusCounter(int code) {
  if (metrics_.grpc_responses == nullptr) return nullptr;
  int slot = (code >= 0 && code <= 16) ? code : 17;
  metrics::Counter*& c = grpc_status_[slot];
  if (c == nullptr) {
    c = &metrics_.grpc_responses->labels({slot == 17 ? std::string("other")
                                                      : std::to_string(slot)});
  }
  return c;
}

metrics::Counter* Worker::requestsCounter(HostPool* pool, int status_class) {
  metrics::Counter*& slot =
      pool != nullptr ? pool->responses[status_class] : no_backend_[status_class];
  if (slot == nullptr && metrics_.requests != nullptr) {
    // First response of this class from this backend on this worker: the only labels() call.
    slot = &metrics_.requests->labels(
        {pool != nullptr ? pool->host->address() : std::string("none"), kClassNames[status_class]});
  }
  return slot;
}

RetryDecision Worker::decideTryRetry(TryFailure failure, TryState ts, bool* retry_counted) {
  auto& retries_in_flight = *shared_.retries_in_flight;
  ts.max_retries = options_.retries;
  ts.holds_budget_slot = *retry_counted;
  RetryBudget budget;
  budget.retries_in_flight = retries_in_flight.load(std::memory_order_relaxed);
  budget.active_requests = cluster_.inFlight();
  budget.percent = options_.retry_budget_percent;
  budget.min_concurrent = options_.retry_budget_min;
  RetryDecision d = decideRetry(failure, ts, budget);
  if (d.take_budget_slot) {
    retries_in_flight.fetch_add(1, std::memory_order_relaxed);
    *retry_counted = true;
  }
  return d;
}

void Worker::releaseHeld(TimePoint now) {
  Session* s = sessions_;
  while (s != nullptr) {  // sessions closed here stay allocated until reap()
    Session* next = s->next;
    if (s->held() && !s->closed()) s->checkHeld(now, true);
    s = next;
  }
}

void Worker::armSweep() {
  // While requests are held, sweep often: a replica that became ready serves them at once.
  sweep_timer_.expires_after(held_count_ > 0
                                 ? std::min<Duration>(sweep_interval_, std::chrono::milliseconds(5))
                                 : sweep_interval_);
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec || stopped_) return;
    sweep();
    if (!stopped_) armSweep();
  });
}

void Worker::sweep() {
  TimePoint now = now_ = steadyNow();
  refreshSnapshot();
  if (accept_paused_ && now >= accept_resume_at_) resumeAccepting();
  if (held_count_ > 0 && anyEligible(*snapshot_, now)) releaseHeld(now);
  if (shutting_down_ && now >= drain_deadline_) {
    while (sessions_ != nullptr) sessions_->forceClose();
  }
  // Sessions closed here stay allocated until reap(), so `next` stays valid.
  Session* s = sessions_;
  while (s != nullptr) {
    Session* next = s->next;
    if (now >= s->deadline() && !s->closed()) s->onTimeout(now);
    s = next;
  }
  if (now - last_pool_sweep_ >= std::chrono::seconds(1)) {
    last_pool_sweep_ = now;
    pool_.sweep(now);
    h2_->sweep(now);
  }
  h2_->drain();
  reap();
  maybeFinishShutdown();
}

void Worker::beginShutdown(TimePoint deadline) {
  asio::post(io_, [this, deadline] { shutdownOnLoop(deadline); });
}

void Worker::shutdownOnLoop(TimePoint deadline) {
  if (shutting_down_) {
    drain_deadline_ = std::min(drain_deadline_, deadline);
    return;
  }
  shutting_down_ = true;
  drain_deadline_ = deadline;
  now_ = steadyNow();
  closeListener();
  Session* s = sessions_;
  while (s != nullptr) {
    Session* next = s->next;
    s->onShutdown();
    s = next;
  }
  pool_.closeIdle();
  h2_->closeIdle();
  h2_->drain();
  reap();
  maybeFinishShutdown();
}

void Worker::maybeFinishShutdown() {
  if (!shutting_down_ || stopped_ || sessions_ != nullptr) return;
  stopped_ = true;
  h2_->closeAll();
  pool_.closeIdle();
  reap();
  error_code ec;
  sweep_timer_.cancel();
  epoll_desc_.cancel(ec);  // with the listener closed, run() now returns
}

}  // namespace surge::gateway
