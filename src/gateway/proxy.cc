#include "gateway/proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/hash.h"
#include "common/logging.h"
#include "net/handler_memory.h"
#include "net/http_message.h"
#include "net/http_parser.h"
#include "net/http_util.h"

namespace surge::gateway {

using net::BodyDecoder;
using net::BodyFraming;
using net::HeadParser;
using net::HeaderId;
using net::ParseError;
namespace asio = net::asio;
using error_code = boost::system::error_code;

namespace {

inline TimePoint steadyNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

inline void appendInt(std::string& s, uint64_t v) {
  char b[24];
  auto [p, ec] = std::to_chars(b, b + sizeof b, v);
  s.append(b, p);
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

// Value of query parameter `name` in the raw target (no decoding: a stable key is all we need).
std::optional<std::string_view> rawQueryParam(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> cookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    size_t semi = cookies.find(';');
    std::string_view pair = cookies.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace

// =================================================================================================
// Session: one client connection.

class Session {
 public:
  Session(Worker& w, net::tcp::socket sock);
  ~Session();

  void start();
  // Sweep: the deadline passed.
  void onTimeout(TimePoint now);
  void onShutdown();
  void forceClose() { close(); }
  // After a call from outside a completion handler (sweep, shutdown): drop per-handler hints.
  void clearHints() { client_drained_ = up_drained_ = false; }

  bool closed() const { return closed_; }
  int pending() const { return pending_; }
  TimePoint deadline() const { return deadline_; }

  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  enum class State : uint8_t {
    kIdle,       // waiting for the first byte of a request
    kHead,       // reading a request head
    kUpstream,   // request accepted; picking / connecting / sending / awaiting the response head
    kStreaming,  // response head sent to the client; forwarding the body
    kLingering,  // error sent; draining input before close
  };

  // Ends a completion handler: forgets the per-handler "drained" hints, and deletes the session
  // once closed and idle.
  struct OpGuard {
    Session* s;
    ~OpGuard() {
      s->client_drained_ = s->up_drained_ = false;
      if (s->closed_ && s->pending_ == 0) delete s;
    }
  };

  // ---- client side ----
  // Re-arms the client read. Right after a short read in the same handler (client_drained_),
  // waits for readiness instead of Asio's speculative recv, which would only return EAGAIN.
  void startClientRead();
  void onClientRead(error_code ec, size_t n);
  void onClientReadable(error_code ec);
  void handleClientRead(error_code ec, size_t n, bool short_read);
  void processClientData();
  void parseHead();
  void beginRequest();
  void buildUpstreamHead();
  std::optional<uint64_t> hashKey() const;
  void writeClient(const char* a, size_t alen, const char* b, size_t blen);
  void onClientWritten();
  void respondLocal(int status, std::string_view message, bool linger);

  // ---- upstream side ----
  void pickAndConnect();
  void onConnect(UpstreamConn* c, error_code ec);
  void sendRequest();
  void writeUpstream();
  void onUpstreamWritten();
  void pumpRequestBody();
  void startUpstreamRead();
  void onUpstreamRead(UpstreamConn* c, error_code ec, size_t n);
  void onUpstreamReadable(UpstreamConn* c, error_code ec);
  void handleUpstreamRead(UpstreamConn* c, error_code ec, size_t n, bool short_read);
  void parseResponseHead();
  void forwardResponseBody(bool with_head);
  // outcome nullopt: not reported to the cluster (a stale pooled connection).
  void attemptFailed(std::optional<Outcome> outcome, std::string_view why);
  void releaseUpstream(bool reusable);
  bool retryAllowed(bool budgeted);

  void finishExchange();
  // Ends the request's accounting (in-flight, metrics, retry slot); idempotent.
  void accountEnd();
  void closeGracefully(bool linger);
  void close();
  // True when the upstream handler must stop: consumes one pending op of `c`.
  bool upstreamOpDone(UpstreamConn* c);

  Worker& w_;
  net::tcp::socket sock_;
  int fd_;
  std::string client_ip_;
  State state_ = State::kIdle;
  bool closed_ = false;
  int pending_ = 0;
  TimePoint deadline_{};

  // client input
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_start_ = 0, in_len_ = 0;
  bool client_reading_ = false;
  bool client_eof_ = false;
  // Set within one completion handler: the socket is known to be drained, so the next read
  // waits for readiness (edge-triggered epoll reports any byte that arrives after this point).
  bool client_drained_ = false;
  bool up_drained_ = false;
  bool client_writing_ = false;
  HeadParser req_parser_;
  BodyDecoder req_body_;

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
  std::string out_up_;          // upstream request bytes (head + body, kept for replay)
  size_t up_sent_ = 0;

  // attempt
  lb::Host* host_ = nullptr;
  HostPool* pool_ = nullptr;
  UpstreamConn* up_ = nullptr;
  bool connecting_ = false;
  bool up_reading_ = false;
  bool up_writing_ = false;
  bool up_reusable_ = true;
  int tries_ = 0;
  std::array<const lb::Host*, 8> excluded_{};
  size_t excluded_n_ = 0;
  TimePoint attempt_start_{};
  TimePoint sent_at_{};         // request head handed to the upstream connection (ttfb origin)
  TimePoint connect_deadline_{};
  uint64_t resp_bytes_ = 0;     // response bytes received on this attempt
  TimePoint first_byte_{};
  bool reused_conn_ = false;    // this attempt runs on a pooled keep-alive connection

  // response
  HeadParser resp_parser_;
  BodyDecoder resp_body_;
  int resp_status_ = 0;
  bool dechunk_ = false;
  bool linger_ = false;
  std::string out_client_;      // response head (and local bodies)

  // Storage for the operations in flight (one per kind; never two of a kind at once).
  net::HandlerSlot client_read_slot_, client_write_slot_, up_read_slot_, up_write_slot_;
};

Session::Session(Worker& w, net::tcp::socket sock)
    : w_(w),
      sock_(std::move(sock)),
      fd_(sock_.native_handle()),
      req_parser_(HeadParser::Kind::kRequest,
                  net::ParseLimits{w.options_.max_header_bytes, w.options_.max_body_bytes}),
      resp_parser_(HeadParser::Kind::kResponse,
                   net::ParseLimits{w.options_.max_header_bytes, 0}) {}

Session::~Session() = default;

void Session::start() {
  setNoDelay(fd_);
  error_code ec;
  sock_.non_blocking(true, ec);
  auto ep = sock_.remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
  in_cap_ = 16 * 1024;
  in_.reset(new char[in_cap_]);
  out_up_.reserve(2048);
  out_client_.reserve(1024);
  deadline_ = steadyNow() + w_.options_.idle_timeout;
  startClientRead();
}

// ---- client input -------------------------------------------------------------------------------

void Session::startClientRead() {
  if (client_reading_ || client_eof_ || closed_) return;
  if (in_start_ == in_len_) in_start_ = in_len_ = 0;
  if (in_len_ == in_cap_) {
    if (in_start_ > 0) {
      std::memmove(in_.get(), in_.get() + in_start_, in_len_ - in_start_);
      in_len_ -= in_start_;
      in_start_ = 0;
    }
    if (in_len_ == in_cap_) {
      size_t max_cap = w_.options_.max_header_bytes + 1024;
      if (!(state_ == State::kHead || state_ == State::kIdle) || in_cap_ >= max_cap) {
        return;  // backpressure: resumes when the buffer drains
      }
      size_t cap = std::min(in_cap_ * 2, max_cap);
      std::unique_ptr<char[]> bigger(new char[cap]);
      std::memcpy(bigger.get(), in_.get(), in_len_);
      in_ = std::move(bigger);
      in_cap_ = cap;
    }
  }
  client_reading_ = true;
  ++pending_;
  if (client_drained_) {
    client_drained_ = false;
    sock_.async_wait(net::tcp::socket::wait_read,
                     net::inSlot(client_read_slot_,
                                 [this](error_code ec) { onClientReadable(ec); }));
    return;
  }
  sock_.async_read_some(
      asio::buffer(in_.get() + in_len_, in_cap_ - in_len_),
      net::inSlot(client_read_slot_, [this](error_code ec, size_t n) { onClientRead(ec, n); }));
}

void Session::onClientRead(error_code ec, size_t n) {
  --pending_;
  OpGuard guard{this};
  client_reading_ = false;
  if (closed_) return;
  handleClientRead(ec, n, n < in_cap_ - in_len_);
}

void Session::onClientReadable(error_code ec) {
  --pending_;
  OpGuard guard{this};
  client_reading_ = false;
  if (closed_) return;
  if (!ec) {
    size_t space = in_cap_ - in_len_;
    ssize_t r = ::recv(fd_, in_.get() + in_len_, space, MSG_DONTWAIT);
    if (r > 0) {
      handleClientRead(ec, static_cast<size_t>(r), static_cast<size_t>(r) < space);
      return;
    }
    if (r == 0) {
      ec = asio::error::eof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      client_drained_ = true;
      startClientRead();
      return;
    } else {
      ec = error_code(errno, asio::error::get_system_category());
    }
  }
  handleClientRead(ec, 0, false);
}

void Session::handleClientRead(error_code ec, size_t n, bool short_read) {
  if (ec) {
    client_eof_ = true;
    switch (state_) {
      case State::kIdle:
      case State::kHead:
      case State::kLingering:
        close();
        return;
      case State::kUpstream:
      case State::kStreaming:
        // A client that half-closes after a complete request still gets its response; one that
        // goes away mid-body (or resets) aborts the exchange.
        if (!req_body_received_ || ec != asio::error::eof) close();
        return;
    }
    return;
  }
  in_len_ += n;
  client_drained_ = short_read;
  processClientData();
  startClientRead();
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
  }
}

void Session::parseHead() {
  if (in_start_ == in_len_) return;
  if (state_ == State::kIdle) {
    state_ = State::kHead;
    TimePoint now = steadyNow();
    deadline_ = now + w_.options_.header_timeout;
    req_start_ = now;
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

std::optional<uint64_t> Session::hashKey() const {
  const HashKeySource& src = w_.options_.hash_key;
  std::optional<std::string_view> v;
  switch (src.kind) {
    case HashKeySource::Kind::kHeader:
      if (const auto* f = req_parser_.find(src.name)) v = f->value;
      break;
    case HashKeySource::Kind::kQuery:
      v = rawQueryParam(req_parser_.target(), src.name);
      break;
    case HashKeySource::Kind::kCookie:
      for (size_t i = 0; i < req_parser_.headerCount() && !v; ++i) {
        const auto& f = req_parser_.header(i);
        if (f.id == HeaderId::kCookie) v = cookieValue(f.value, src.name);
      }
      break;
  }
  if (!v || v->empty()) return std::nullopt;
  return hash64(*v);
}

void Session::buildUpstreamHead() {
  const HeadParser& p = req_parser_;
  std::string& o = out_up_;
  o.clear();
  up_sent_ = 0;
  o.append(p.method());
  o.push_back(' ');
  o.append(p.target());
  o.append(" HTTP/1.1\r\n");
  bool have_xff = false, have_id = false;
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (f.hop_by_hop) continue;
    switch (f.id) {
      case HeaderId::kContentLength:
      case HeaderId::kExpect:  // answered here (100 Continue), not forwarded
        continue;
      case HeaderId::kXForwardedFor:
        if (have_xff) continue;
        have_xff = true;
        o.append("X-Forwarded-For: ");
        o.append(f.value);
        o.append(", ");
        o.append(client_ip_);
        o.append("\r\n");
        continue;
      case HeaderId::kXRequestId:
        have_id = true;
        break;
      default:
        break;
    }
    o.append(f.name);
    o.append(": ");
    o.append(f.value);
    o.append("\r\n");
  }
  if (!have_xff) {
    o.append("X-Forwarded-For: ");
    o.append(client_ip_);
    o.append("\r\n");
  }
  if (!have_id) {
    static const char kHex[] = "0123456789abcdef";
    uint64_t a = w_.random_.next(), b = w_.random_.next();
    char id[32];
    for (int i = 0; i < 16; ++i) {
      id[i] = kHex[(a >> (i * 4)) & 0xf];
      id[16 + i] = kHex[(b >> (i * 4)) & 0xf];
    }
    o.append("X-Request-Id: ");
    o.append(id, 32);
    o.append("\r\n");
  }
  switch (p.framing()) {
    case BodyFraming::kContentLength:
      o.append("Content-Length: ");
      appendInt(o, p.contentLength());
      o.append("\r\n");
      break;
    case BodyFraming::kChunked:
      o.append("Transfer-Encoding: chunked\r\n");
      break;
    default:
      break;
  }
  o.append("\r\n");
}

void Session::beginRequest() {
  const HeadParser& p = req_parser_;
  client_minor_ = p.versionMinor();
  client_keep_alive_ = p.keepAlive() && !w_.shutting_down_;
  head_request_ = p.isHead();
  hash_key_ = w_.wants_hash_key_ ? hashKey() : std::nullopt;
  buildUpstreamHead();
  bool expect_continue = p.expectContinue();
  in_start_ += p.headSize();

  req_body_.reset(p.framing(), p.contentLength(), w_.options_.max_body_bytes);
  retryable_ = true;
  req_body_received_ = req_body_.done();
  if (!req_body_received_ && in_start_ < in_len_) {
    size_t n = req_body_.consumeAll(std::string_view(in_.get() + in_start_, in_len_ - in_start_));
    if (req_body_.failed()) {
      respondLocal(net::statusForError(req_body_.error()), net::describeError(req_body_.error()),
                   true);
      return;
    }
    out_up_.append(in_.get() + in_start_, n);
    in_start_ += n;
    req_body_received_ = req_body_.done();
  }
  if (out_up_.size() > w_.options_.retry_max_body_bytes + 65536 ||
      (p.framing() == BodyFraming::kContentLength &&
       p.contentLength() > w_.options_.retry_max_body_bytes)) {
    retryable_ = false;
  }
  if (expect_continue && !req_body_received_ && client_minor_ >= 1) {
    static const char k100[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ::send(fd_, k100, sizeof k100 - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  state_ = State::kUpstream;
  counted_ = true;
  w_.in_flight_.fetch_add(1, std::memory_order_relaxed);
  req_deadline_ = req_start_ + w_.options_.request_timeout;
  deadline_ = req_deadline_;
  tries_ = 0;
  excluded_n_ = 0;
  pickAndConnect();
}

// ---- picking and connecting ---------------------------------------------------------------------

void Session::pickAndConnect() {
  w_.refreshSnapshot();
  TimePoint now = steadyNow();
  lb::PickContext ctx;
  ctx.now = now;
  ctx.hash_key = hash_key_;
  ctx.exclude = std::span<const lb::Host* const>(excluded_.data(), excluded_n_);
  lb::Host* h = w_.balancer_->pick(ctx);
  if (h != nullptr && w_.snapshot_->panic && !h->eligible(now) && !w_.anyEligible(now)) {
    h = nullptr;  // panic mode with no healthy host at all: fail fast rather than try dead ones
  }
  HostPool* pool = h ? w_.pool_.forHost(h) : nullptr;
  if (pool == nullptr) {
    if (tries_ == 0) {
      respondLocal(503, "no healthy upstream", !req_body_received_);
    } else {
      respondLocal(502, "upstream unavailable", !req_body_received_);
    }
    return;
  }
  host_ = h;
  pool_ = pool;
  w_.pool_.acquire(pool);
  h->onRequestStart();
  ++tries_;
  if (excluded_n_ < excluded_.size()) excluded_[excluded_n_++] = h;
  attempt_start_ = now;
  resp_bytes_ = 0;
  up_reusable_ = true;
  resp_parser_.reset();
  resp_parser_.setRequestWasHead(head_request_);

  if (!pool->resolved) {
    attemptFailed(Outcome::kConnectFailed, "backend address does not resolve");
    return;
  }
  up_ = w_.pool_.takeIdle(pool);
  reused_conn_ = up_ != nullptr;
  if (up_ != nullptr) {
    sendRequest();
    return;
  }
  UpstreamConn* c = w_.pool_.create(pool);
  up_ = c;
  connecting_ = true;
  connect_deadline_ = now + w_.options_.connect_timeout;
  deadline_ = std::min(req_deadline_, connect_deadline_);
  ++pending_;
  ++c->pending;
  c->sock.async_connect(pool->endpoint, net::inSlot(up_write_slot_, [this, c](error_code ec) {
                          onConnect(c, ec);
                        }));
}

bool Session::upstreamOpDone(UpstreamConn* c) {
  --c->pending;
  if (c->dead) {
    if (c->pending == 0) w_.pool_.freeConn(c);
    return true;
  }
  return closed_ || c != up_;
}

void Session::onConnect(UpstreamConn* c, error_code ec) {
  --pending_;
  OpGuard guard{this};
  if (upstreamOpDone(c)) return;
  connecting_ = false;
  if (ec) {
    attemptFailed(Outcome::kConnectFailed, "connect to upstream failed");
    return;
  }
  c->connected = true;
  setNoDelay(c->sock.native_handle());
  error_code e2;
  c->sock.non_blocking(true, e2);
  deadline_ = req_deadline_;
  sendRequest();
}

void Session::sendRequest() {
  UpstreamConn* c = up_;
  sent_at_ = steadyNow();  // connect time is not the backend's latency
  up_sent_ = 0;
  up_writing_ = false;
  writeUpstream();
  // A failed write may have moved on to a retry (another connection, maybe still connecting).
  if (closed_ || up_ != c || state_ == State::kLingering) return;
  // Nothing can be buffered on the connection yet: wait for the response's readiness event
  // instead of a recv that would return EAGAIN.
  up_drained_ = true;
  startUpstreamRead();
}

void Session::writeUpstream() {
  UpstreamConn* c = up_;
  size_t left = out_up_.size() - up_sent_;
  if (left == 0) {
    onUpstreamWritten();
    return;
  }
  iovec iov{out_up_.data() + up_sent_, left};
  ssize_t n = sendv(c->sock.native_handle(), &iov, 1);
  if (n < 0) {
    attemptFailed(Outcome::kReset, "upstream write failed");
    return;
  }
  if (static_cast<size_t>(n) == left) {
    up_sent_ += left;
    onUpstreamWritten();
    return;
  }
  up_sent_ += static_cast<size_t>(n);
  up_writing_ = true;
  ++pending_;
  ++c->pending;
  asio::async_write(c->sock, asio::buffer(out_up_.data() + up_sent_, out_up_.size() - up_sent_),
                    net::inSlot(up_write_slot_, [this, c](error_code ec, size_t) {
                      --pending_;
                      OpGuard guard{this};
                      if (upstreamOpDone(c)) return;
                      up_writing_ = false;
                      if (ec) {
                        if (state_ == State::kUpstream) {
                          attemptFailed(Outcome::kReset, "upstream write failed");
                        } else {
                          close();
                        }
                        return;
                      }
                      up_sent_ = out_up_.size();
                      onUpstreamWritten();
                    }));
}

void Session::onUpstreamWritten() {
  if (!retryable_) {
    out_up_.clear();
    up_sent_ = 0;
  }
  if (!req_body_received_) pumpRequestBody();
}

void Session::pumpRequestBody() {
  if (up_writing_ || req_body_received_ || up_ == nullptr || connecting_ || closed_) return;
  if (in_start_ == in_len_) return;
  size_t n = req_body_.consumeAll(std::string_view(in_.get() + in_start_, in_len_ - in_start_));
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
  if (retryable_ && out_up_.size() + n > w_.options_.retry_max_body_bytes + 65536) {
    retryable_ = false;
    out_up_.erase(0, up_sent_);
    up_sent_ = 0;
  }
  out_up_.append(in_.get() + in_start_, n);
  in_start_ += n;
  req_body_received_ = req_body_.done();
  writeUpstream();
  if (!closed_) startClientRead();
}

// ---- response -----------------------------------------------------------------------------------

void Session::startUpstreamRead() {
  UpstreamConn* c = up_;
  if (up_reading_ || c == nullptr) return;
  if (c->start == c->len) c->start = c->len = 0;
  if (c->len == c->cap) {
    if (c->start > 0) {
      std::memmove(c->buf.get(), c->buf.get() + c->start, c->len - c->start);
      c->len -= c->start;
      c->start = 0;
    } else {
      // A response head larger than the buffer: grow up to the head limit.
      size_t max_cap = w_.options_.max_header_bytes + 1024;
      if (c->cap >= max_cap) {
        attemptFailed(Outcome::kReset, "upstream response head too large");
        return;
      }
      size_t cap = std::min(c->cap * 2, max_cap);
      std::unique_ptr<char[]> bigger(new char[cap]);
      std::memcpy(bigger.get(), c->buf.get(), c->len);
      c->buf = std::move(bigger);
      c->cap = cap;
    }
  }
  up_reading_ = true;
  ++pending_;
  ++c->pending;
  if (up_drained_) {
    up_drained_ = false;
    c->sock.async_wait(net::tcp::socket::wait_read,
                       net::inSlot(up_read_slot_,
                                   [this, c](error_code ec) { onUpstreamReadable(c, ec); }));
    return;
  }
  c->sock.async_read_some(
      asio::buffer(c->buf.get() + c->len, c->cap - c->len),
      net::inSlot(up_read_slot_, [this, c](error_code ec, size_t n) { onUpstreamRead(c, ec, n); }));
}

void Session::onUpstreamRead(UpstreamConn* c, error_code ec, size_t n) {
  --pending_;
  OpGuard guard{this};
  if (upstreamOpDone(c)) return;
  up_reading_ = false;
  handleUpstreamRead(c, ec, n, n < c->cap - c->len);
}

void Session::onUpstreamReadable(UpstreamConn* c, error_code ec) {
  --pending_;
  OpGuard guard{this};
  if (upstreamOpDone(c)) return;
  up_reading_ = false;
  if (!ec) {
    size_t space = c->cap - c->len;
    ssize_t r = ::recv(c->sock.native_handle(), c->buf.get() + c->len, space, MSG_DONTWAIT);
    if (r > 0) {
      handleUpstreamRead(c, ec, static_cast<size_t>(r), static_cast<size_t>(r) < space);
      return;
    }
    if (r == 0) {
      ec = asio::error::eof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      up_drained_ = true;
      startUpstreamRead();
      return;
    } else {
      ec = error_code(errno, asio::error::get_system_category());
    }
  }
  handleUpstreamRead(c, ec, 0, false);
}

void Session::handleUpstreamRead(UpstreamConn* c, error_code ec, size_t n, bool short_read) {
  if (ec) {
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
    if (ec == asio::error::eof && resp_body_.done()) {
      forwardResponseBody(false);
    } else {
      close();
    }
    return;
  }
  if (resp_bytes_ == 0) first_byte_ = steadyNow();
  resp_bytes_ += n;
  c->len += n;
  up_drained_ = short_read;
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
    if (st == HeadParser::Status::kIncomplete) {
      startUpstreamRead();
      return;
    }
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
  TimePoint now = steadyNow();
  if (resp_status_ >= 500) host_->recordFailure();
  w_.cluster_.onResult(*host_, resp_status_ >= 500 ? Outcome::kServerError : Outcome::kSuccess,
                       first_byte_ - sent_at_, now);
  if (!p.keepAlive()) up_reusable_ = false;

  std::string& o = out_client_;
  o.clear();
  o.append("HTTP/1.1 ");
  appendInt(o, static_cast<uint64_t>(resp_status_));
  o.push_back(' ');
  if (p.reason().empty()) {
    o.append(net::reasonPhrase(resp_status_));
  } else {
    o.append(p.reason());
  }
  o.append("\r\n");
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (f.hop_by_hop) continue;
    if (f.id == HeaderId::kContentLength && p.framing() == BodyFraming::kChunked) continue;
    o.append(f.name);
    o.append(": ");
    o.append(f.value);
    o.append("\r\n");
  }
  dechunk_ = false;
  if (p.framing() == BodyFraming::kChunked) {
    if (client_minor_ >= 1) {
      o.append("Transfer-Encoding: chunked\r\n");
    } else {
      dechunk_ = true;
      client_keep_alive_ = false;
    }
  } else if (p.framing() == BodyFraming::kUntilClose) {
    client_keep_alive_ = false;
  }
  if (w_.shutting_down_ || !req_body_received_) client_keep_alive_ = false;
  if (!client_keep_alive_) {
    o.append("Connection: close\r\n");
  } else if (client_minor_ == 0) {
    o.append("Connection: keep-alive\r\n");
  }
  o.append("\r\n");
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
  iovec iov[2];
  int n = 0;
  if (alen) iov[n++] = iovec{const_cast<char*>(a), alen};
  if (blen) iov[n++] = iovec{const_cast<char*>(b), blen};
  ssize_t sent = sendv(fd_, iov, n);
  if (sent < 0) {
    close();
    return;
  }
  size_t total = alen + blen;
  if (static_cast<size_t>(sent) == total) {
    onClientWritten();
    return;
  }
  // Partial: send the rest asynchronously. The buffers stay put until completion.
  size_t s = static_cast<size_t>(sent);
  std::array<asio::const_buffer, 2> rest;
  size_t k = 0;
  if (s < alen) {
    rest[k++] = asio::const_buffer(a + s, alen - s);
    if (blen) rest[k++] = asio::const_buffer(b, blen);
  } else {
    rest[k++] = asio::const_buffer(b + (s - alen), blen - (s - alen));
  }
  if (k == 1) rest[1] = asio::const_buffer();
  client_writing_ = true;
  ++pending_;
  asio::async_write(sock_, rest, net::inSlot(client_write_slot_, [this](error_code ec, size_t) {
    --pending_;
    OpGuard guard{this};
    client_writing_ = false;
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    onClientWritten();
  }));
}

void Session::onClientWritten() {
  if (!out_client_.empty()) out_client_.clear();
  if (!resp_body_.done()) {
    deadline_ = steadyNow() + w_.options_.idle_timeout;
    startUpstreamRead();
    return;
  }
  if (state_ == State::kLingering) {
    accountEnd();
    closeGracefully(true);
    return;
  }
  finishExchange();
}

void Session::respondLocal(int status, std::string_view message, bool linger) {
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
  }
  std::string& o = out_client_;
  o.clear();
  o.append("HTTP/1.1 ");
  appendInt(o, static_cast<uint64_t>(status));
  o.push_back(' ');
  o.append(net::reasonPhrase(status));
  o.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  std::string body = "{\"error\": \"" + net::jsonEscape(message) + "\"}";
  appendInt(o, body.size());
  o.append("\r\n");
  if (!client_keep_alive_) {
    o.append("Connection: close\r\n");
  } else if (client_minor_ == 0) {
    o.append("Connection: keep-alive\r\n");
  }
  o.append("\r\n");
  if (!head_request_) o.append(body);
  resp_body_.reset(BodyFraming::kNone, 0);
  linger_ = linger;
  if (linger) state_ = State::kLingering;
  writeClient(o.data(), o.size(), nullptr, 0);
}

// ---- attempts, retries --------------------------------------------------------------------------

void Session::releaseUpstream(bool reusable) {
  if (up_ != nullptr) {
    UpstreamConn* c = up_;
    up_ = nullptr;
    if (reusable) {
      ++c->requests;
      w_.pool_.putIdle(c, steadyNow());
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
  connecting_ = false;
  up_reading_ = false;
  up_writing_ = false;
}

bool Session::retryAllowed(bool budgeted) {
  if (tries_ > w_.options_.retries || !retryable_ || resp_bytes_ != 0) return false;
  // Retries of attempts the backend never saw (connect failure, a pooled keep-alive connection
  // it had closed) are free; the budget guards against retry storms on overloaded backends.
  if (!budgeted || retry_counted_) return true;  // (a request holds at most one budget slot)
  auto& in_flight = *w_.shared_.retries_in_flight;
  double budget = w_.options_.retry_budget_percent / 100.0 *
                  static_cast<double>(w_.cluster_.inFlight() + 1);
  int64_t limit = std::max<int64_t>(w_.options_.retry_budget_min, static_cast<int64_t>(budget));
  if (in_flight.load(std::memory_order_relaxed) >= limit) return false;
  in_flight.fetch_add(1, std::memory_order_relaxed);
  retry_counted_ = true;
  return true;
}

void Session::attemptFailed(std::optional<Outcome> outcome, std::string_view why) {
  TimePoint now = steadyNow();
  if (host_ != nullptr && outcome) {
    host_->recordFailure();
    w_.cluster_.onResult(*host_, *outcome, std::nullopt, now);
  }
  bool budgeted = !(outcome == Outcome::kConnectFailed || !outcome.has_value());
  bool retry = state_ == State::kUpstream && retryAllowed(budgeted);
  releaseUpstream(false);
  if (retry) {
    if (w_.metrics_.retries) w_.metrics_.retries->inc();
    up_sent_ = 0;
    deadline_ = req_deadline_;
    pickAndConnect();
    return;
  }
  if (state_ == State::kUpstream) {
    respondLocal(502, why, !req_body_received_);
  } else {
    close();
  }
}

// ---- end of an exchange -------------------------------------------------------------------------

void Session::accountEnd() {
  if (counted_) {
    counted_ = false;
    w_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    int cls = statusClass(resp_status_);
    if (metrics::Counter* counter = w_.requestsCounter(pool_, cls)) counter->inc();
    if (w_.duration_) w_.duration_->observe(toSeconds(steadyNow() - req_start_));
  }
  if (retry_counted_) {
    retry_counted_ = false;
    w_.shared_.retries_in_flight->fetch_sub(1, std::memory_order_relaxed);
  }
}

void Session::finishExchange() {
  TimePoint now = steadyNow();
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
    startClientRead();
  }
}

void Session::closeGracefully(bool linger) {
  error_code ec;
  if (!linger || client_eof_) {
    close();
    return;
  }
  // Lingering close: stop sending, drain what the client still sends for a short while so that
  // it reads our response instead of a reset.
  state_ = State::kLingering;
  sock_.shutdown(net::tcp::socket::shutdown_send, ec);
  deadline_ = steadyNow() + std::chrono::seconds(2);
  if (!client_reading_) in_start_ = in_len_ = 0;
  startClientRead();
}

void Session::close() {
  if (closed_) return;
  // Whatever attempt is in progress is abandoned.
  if (host_ != nullptr && state_ == State::kUpstream && up_ != nullptr && !connecting_) {
    // The client left before the response head: not the backend's fault; no outcome reported.
  }
  releaseUpstream(false);
  if (counted_) {
    counted_ = false;
    w_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (retry_counted_) {
    retry_counted_ = false;
    w_.shared_.retries_in_flight->fetch_sub(1, std::memory_order_relaxed);
  }
  closed_ = true;
  error_code ec;
  sock_.close(ec);
  w_.unlink(this);
}

void Session::onTimeout(TimePoint now) {
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      close();
      return;
    case State::kHead:
      respondLocal(408, "timed out reading the request head", true);
      return;
    case State::kUpstream:
      if (connecting_ && now < req_deadline_) {
        attemptFailed(Outcome::kConnectFailed, "connect to upstream timed out");
        return;
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
  }
}

void Session::onShutdown() {
  client_keep_alive_ = false;
  if (state_ == State::kIdle) close();
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
      acceptor_(io_),
      sweep_timer_(io_),
      random_(seed),
      pool_(io_, UpstreamPoolOptions{options.upstream_idle_timeout, 16 * 1024}) {
  Duration shortest = std::min({options.connect_timeout, options.request_timeout,
                                options.idle_timeout, options.header_timeout});
  sweep_interval_ = std::clamp<Duration>(shortest / 8, std::chrono::milliseconds(5),
                                         std::chrono::milliseconds(100));
  auto b = lb::makeBalancer(options.balancer, &random_);
  SURGE_CHECK(b.isOk());  // validated by Gateway::start
  balancer_ = std::move(b).value();
  wants_hash_key_ = options.balancer.algorithm == "consistent_hash";
  if (metrics_.duration) duration_ = &metrics_.duration->get();
  pool_.on_new_entry = [this](HostPool& p) {
    if (metrics_.upstream_connections) {
      p.connections_total = &metrics_.upstream_connections->labels({p.host->address()});
    }
  };
}

Worker::~Worker() {
  // Close what is left and let the aborted operations complete (they free sessions and
  // connections), on the destroying thread: the worker thread has finished.
  while (sessions_ != nullptr) {
    Session* s = sessions_;
    s->forceClose();  // unlinks
    if (s->pending() == 0) delete s;
  }
  error_code ec;
  acceptor_.close(ec);
  sweep_timer_.cancel();
  pool_.closeIdle();
  io_.restart();
  io_.poll();
}

Status Worker::listen(const net::tcp::endpoint& endpoint) {
  RETURN_IF_ERROR(net::openListener(acceptor_, endpoint, /*reuse_port=*/true, 4096));
  port_ = acceptor_.local_endpoint().port();
  return Status::ok();
}

void Worker::run() {
  refreshSnapshot();
  accept();
  armSweep();
  io_.run();
}

void Worker::accept() {
  acceptor_.async_accept([this](error_code ec, net::tcp::socket s) {
    if (shutting_down_) return;
    if (!ec) {
      auto* session = new Session(*this, std::move(s));
      link(session);
      session->start();
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // Out of descriptors or memory: back off until the next sweep instead of spinning.
      SURGE_LOG(kWarn, "gateway", "accept: " + ec.message() + " (pausing accepts)");
      accept_paused_ = true;
      return;
    }
    accept();
  });
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

metrics::Counter* Worker::requestsCounter(HostPool* pool, int status_class) {
  metrics::Counter*& slot = pool != nullptr ? pool->responses[status_class] : no_backend_[status_class];
  if (slot == nullptr && metrics_.requests != nullptr) {
    // First response of this class from this backend on this worker: the only labels() call.
    slot = &metrics_.requests->labels(
        {pool != nullptr ? pool->host->address() : std::string("none"), kClassNames[status_class]});
  }
  return slot;
}

bool Worker::anyEligible(TimePoint now) const {
  for (const auto& h : snapshot_->hosts) {
    if (h->eligible(now)) return true;
  }
  return false;
}

void Worker::armSweep() {
  sweep_timer_.expires_after(sweep_interval_);
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec || stopped_) return;
    sweep();
    if (!stopped_) armSweep();
  });
}

void Worker::sweep() {
  TimePoint now = steadyNow();
  refreshSnapshot();
  if (accept_paused_ && !shutting_down_) {
    accept_paused_ = false;
    accept();
  }
  if (shutting_down_ && now >= drain_deadline_) {
    while (sessions_ != nullptr) {
      Session* s = sessions_;
      s->forceClose();
      if (s->pending() == 0) delete s;
    }
  }
  Session* s = sessions_;
  while (s != nullptr) {
    Session* next = s->next;
    if (now >= s->deadline()) {
      s->onTimeout(now);
      s->clearHints();
      if (s->closed() && s->pending() == 0) delete s;
    }
    s = next;
  }
  if (now - last_pool_sweep_ >= std::chrono::seconds(1)) {
    last_pool_sweep_ = now;
    pool_.sweep(now);
  }
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
  error_code ec;
  acceptor_.close(ec);
  Session* s = sessions_;
  while (s != nullptr) {
    Session* next = s->next;
    s->onShutdown();
    s->clearHints();
    if (s->closed() && s->pending() == 0) delete s;
    s = next;
  }
  pool_.closeIdle();
  maybeFinishShutdown();
}

void Worker::maybeFinishShutdown() {
  if (!shutting_down_ || stopped_ || sessions_ != nullptr) return;
  stopped_ = true;
  pool_.closeIdle();
  error_code ec;
  sweep_timer_.cancel();
  // Sessions closed but still completing operations finish on their own; then run() returns.
}

}  // namespace surge::gateway
