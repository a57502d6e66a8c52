#include "net/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include "common/logging.h"
#include "net/asio.h"
#include "net/handler_memory.h"
#include "net/http_util.h"

namespace surge::net {

// ---- endpoint helpers
// ------------------------------------------------------------------------------

StatusOr<tcp::endpoint> resolveEndpoint(std::string_view host_port) {
  std::string_view host, port_s;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return invalidArgument("bad address '" + std::string(host_port) + "' (want [v6]:port)");
    }
    host = host_port.substr(1, close - 1);
    port_s = host_port.substr(close + 2);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      return invalidArgument("bad address '" + std::string(host_port) + "' (want host:port)");
    }
    host = host_port.substr(0, colon);
    port_s = host_port.substr(colon + 1);
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc() || p != port_s.data() + port_s.size() || port > 65535 || port_s.empty()) {
    return invalidArgument("bad port in '" + std::string(host_port) + "'");
  }
  if (host.empty()) host = "0.0.0.0";
  boost::system::error_code err;
  auto addr = asio::ip::make_address(std::string(host), err);
  if (!err) return tcp::endpoint(addr, static_cast<uint16_t>(port));
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(std::string(host), std::string(port_s), err);
  if (err || results.empty()) {
    return notFound("cannot resolve '" + std::string(host) + "': " + err.message());
  }
  return results.begin()->endpoint();
}

std::string endpointToString(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
  return a.to_string() + ":" + std::to_string(ep.port());
}

namespace {

// A close-on-exec TCP socket for `ep`'s family, or -1 with errno.
int cloexecSocket(const tcp::endpoint& ep) {
  return ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
}

}  // namespace

Status addressInUse(const tcp::endpoint& ep, std::string_view hint) {
  std::string m = "address already in use: " + endpointToString(ep) +
                  " (another process is listening there";
  if (!hint.empty()) {
    m += "; ";
    m += hint;
  }
  m += ")";
  return alreadyExists(std::move(m));
}

Status openListener(tcp::acceptor& acceptor, const tcp::endpoint& ep, bool reuse_port,
                    int backlog) {
  boost::system::error_code ec;
  int fd = cloexecSocket(ep);
  if (fd < 0) return unavailable(std::string("socket: ") + std::strerror(errno));
  acceptor.assign(ep.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return unavailable("socket: " + ec.message());
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (reuse_port) {
    int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      int err = errno;
      acceptor.close(ec);
      return unavailable(std::string("SO_REUSEPORT: ") + std::strerror(err));
    }
  }
  acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    if (ec == asio::error::address_in_use) return addressInUse(ep);
    return unavailable("cannot listen on " + endpointToString(ep) + ": " + ec.message());
  }
  acceptor.non_blocking(true, ec);
  return Status::ok();
}

PortReservation::~PortReservation() { release(); }

PortReservation& PortReservation::operator=(PortReservation&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    port_ = o.port_;
    o.fd_ = -1;
  }
  return *this;
}

void PortReservation::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<PortReservation> PortReservation::reserve(const tcp::endpoint& ep) {
  PortReservation r;
  r.fd_ = cloexecSocket(ep);
  if (r.fd_ < 0) return unavailable(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(r.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(r.fd_, ep.data(), static_cast<socklen_t>(ep.size())) != 0) {
    int err = errno;
    if (err == EADDRINUSE) return addressInUse(ep);
    return unavailable("cannot bind " + endpointToString(ep) + ": " + std::strerror(err));
  }
  tcp::endpoint bound;
  socklen_t len = static_cast<socklen_t>(bound.capacity());
  if (::getsockname(r.fd_, bound.data(), &len) != 0) {
    return unavailable(std::string("getsockname: ") + std::strerror(errno));
  }
  bound.resize(len);
  r.port_ = bound.port();
  return r;
}

Status openCloexec(tcp::socket& socket, const tcp& protocol) {
  int fd = ::socket(protocol.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return unavailable(std::string("socket: ") + std::strerror(errno));
  boost::system::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return unavailable("socket: " + ec.message());
  }
  return Status::ok();
}

// ---- server
// ----------------------------------------------------------------------------------------

namespace {

class Conn;

void appendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\n";
}

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(asio::io_context& io, Handler sync, AsyncHandler async, HttpServerOptions options)
      : io_(io),
        sync_(std::move(sync)),
        async_(std::move(async)),
        options_(options),
        acceptor_(io),
        pause_timer_(io) {}

  void accept();
  void pauseAccepting(int err);
  void stopOnLoop();
  void closeAll();
  void remove(Conn* c) {
    conns_.erase(c);
    count_.store(conns_.size(), std::memory_order_relaxed);
  }

  asio::io_context& io_;
  Handler sync_;
  AsyncHandler async_;
  HttpServerOptions options_;
  tcp::acceptor acceptor_;
  asio::steady_timer pause_timer_;
  tcp protocol_ = tcp::v4();  // of the listener (accepted sockets are assigned it)
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::unordered_map<Conn*, std::shared_ptr<Conn>> conns_;
  std::atomic<size_t> count_{0};
};

namespace {

class ResponderImpl;

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(std::shared_ptr<HttpServer::Impl> server, tcp::socket sock)
      : server_(std::move(server)),
        sock_(std::move(sock)),
        timer_(server_->io_),
        parser_(HeadParser::Kind::kRequest, server_->options_.limits) {}

  void start() {
    boost::system::error_code ec;
    sock_.set_option(tcp::no_delay(true), ec);
    auto ep = sock_.remote_endpoint(ec);
    if (!ec) remote_ = endpointToString(ep);
    in_.resize(8192);
    armTimer(server_->options_.idle_timeout);
    startRead();
  }

  // Server is stopping: idle connections close now, busy ones after their response.
  void onServerStop() {
    keep_alive_ = false;
    if (state_ == State::kReadingHead && len_ == start_) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    timer_.cancel();
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    server_->remove(this);  // may drop the last strong reference held by the server
  }

  bool closed() const { return closed_; }

  // ---- called by the responder (on the loop)
  // ------------------------------------------------------
  void sendResponse(HttpResponse&& r) {
    if (closed_ || state_ != State::kBusy) return;
    std::string out;
    out.reserve(256 + r.body.size());
    appendStatusLine(out, r.status);
    for (const auto& [k, v] : r.headers) {
      if (equalsIgnoreCase(k, "content-length") || equalsIgnoreCase(k, "transfer-encoding") ||
          equalsIgnoreCase(k, "connection")) {
        continue;
      }
      out += k;
      out += ": ";
      out += v;
      out += "\r\n";
    }
    bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    if (!no_body) {
      out += "Content-Length: ";
      out += std::to_string(r.body.size());
      out += "\r\n";
    }
    appendConnectionHeader(out);
    out += "\r\n";
    if (!head_request_ && !no_body) out += r.body;
    state_ = State::kWriting;
    response_done_ = true;
    queueWrite(std::move(out));
  }

  void startStream(int status, Headers&& headers) {
    if (closed_ || state_ != State::kBusy) return;
    chunked_ = version_minor_ >= 1;
    if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the body ends at close
    std::string out;
    appendStatusLine(out, status);
    for (const auto& [k, v] : headers) {
      if (equalsIgnoreCase(k, "content-length") || equalsIgnoreCase(k, "transfer-encoding") ||
          equalsIgnoreCase(k, "connection")) {
        continue;
      }
      out += k;
      out += ": ";
      out += v;
      out += "\r\n";
    }
    if (chunked_) out += "Transfer-Encoding: chunked\r\n";
    appendConnectionHeader(out);
    out += "\r\n";
    state_ = State::kStreaming;
    queueWrite(std::move(out));
  }

  void writeChunk(std::string&& data) {
    if (closed_ || state_ != State::kStreaming || data.empty() || head_request_) return;
    if (chunked_) {
      char hex[20];
      auto [p, ec] = std::to_chars(hex, hex + sizeof hex, data.size(), 16);
      std::string framed;
      framed.reserve(data.size() + 16);
      framed.append(hex, p);
      framed += "\r\n";
      framed += data;
      framed += "\r\n";
      queueWrite(std::move(framed));
    } else {
      queueWrite(std::move(data));
    }
  }

  void endStream() {
    if (closed_ || state_ != State::kStreaming) return;
    state_ = State::kWriting;
    response_done_ = true;
    if (chunked_ && !head_request_) {
      queueWrite("0\r\n\r\n");
    } else if (!writing_) {
      finishResponse();
    }
  }

  asio::io_context& io() { return server_->io_; }

 private:
  enum class State { kReadingHead, kReadingBody, kBusy, kStreaming, kWriting, kLingering };

  void appendConnectionHeader(std::string& out) {
    if (server_->stopped_) keep_alive_ = false;
    if (!keep_alive_) {
      out += "Connection: close\r\n";
    } else if (version_minor_ == 0) {
      out += "Connection: keep-alive\r\n";
    }
  }

  void armTimer(Duration d) {
    ++timer_gen_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen = timer_gen_](boost::system::error_code ec) {
      if (!ec && gen == self->timer_gen_) self->onTimeout();
    });
  }
  void disarmTimer() {
    ++timer_gen_;
    timer_.cancel();
  }

  void onTimeout() {
    if (closed_) return;
    if (state_ == State::kLingering) {
      close();
    } else if (state_ == State::kReadingHead && len_ > start_) {
      sendError(408, "timed out reading the request head");
    } else if (state_ == State::kReadingBody) {
      sendError(408, "timed out reading the request body");
    } else if (state_ == State::kReadingHead) {
      close();  // idle keep-alive connection
    }
  }

  void startRead() {
    if (reading_ || closed_ || peer_eof_) return;
    if (start_ == len_) start_ = len_ = 0;  // no read is outstanding here
    if (len_ == in_.size()) {
      // Compact, then grow if still full (a head or body larger than the buffer).
      if (start_ > 0) {
        std::memmove(in_.data(), in_.data() + start_, len_ - start_);
        len_ -= start_;
        start_ = 0;
      }
      if (len_ == in_.size()) {
        if (state_ == State::kBusy || state_ == State::kStreaming || state_ == State::kWriting) {
          return;  // pipelined input waits until the response is out
        }
        in_.resize(in_.size() * 2);
      }
    }
    reading_ = true;
    sock_.async_read_some(
        asio::buffer(in_.data() + len_, in_.size() - len_),
        inSlot(read_slot_, [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          self->onRead(ec, n);
        }));
  }

  void onRead(boost::system::error_code ec, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (ec) {
      peer_eof_ = true;
      // A reset (not a half-close) while a response is pending: the client is gone, so the
      // responder reports closed() and a long handler (stream, batch) can stop early.
      if (state_ == State::kLingering || ec != asio::error::eof) {
        close();
        return;
      }
      if (state_ == State::kReadingHead || state_ == State::kReadingBody) {
        process();  // complete requests already buffered are still answered
        if (state_ == State::kReadingHead || state_ == State::kReadingBody) close();
      }
      return;
    }
    if (state_ == State::kLingering) {  // discard
      len_ = start_ = 0;
      startRead();
      return;
    }
    len_ += n;
    if (state_ == State::kReadingHead || state_ == State::kReadingBody) process();
    startRead();
  }

  void process() {
    while (!closed_) {
      if (state_ == State::kReadingHead) {
        if (len_ == start_) return;
        bool first_bytes = !head_started_;
        if (first_bytes) {
          head_started_ = true;
          armTimer(server_->options_.header_timeout);
        }
        auto st = parser_.parse(in_.data() + start_, len_ - start_);
        if (st == HeadParser::Status::kIncomplete) return;
        if (st == HeadParser::Status::kError) {
          sendError(statusForError(parser_.error()), describeError(parser_.error()));
          return;
        }
        buildRequest();
        start_ += parser_.headSize();
        body_.reset(parser_.framing(), parser_.contentLength(),
                    server_->options_.limits.max_body_bytes);
        state_ = State::kReadingBody;
        if (parser_.expectContinue() && !body_.done() && len_ == start_) {
          queueWrite("HTTP/1.1 100 Continue\r\n\r\n");
        }
      }
      if (state_ == State::kReadingBody) {
        while (start_ < len_ && !body_.done() && !body_.failed()) {
          auto s = body_.step(std::string_view(in_.data() + start_, len_ - start_));
          req_.body.append(s.data);
          start_ += s.consumed;
          if (s.consumed == 0) break;
        }
        if (body_.failed()) {
          sendError(statusForError(body_.error()), describeError(body_.error()));
          return;
        }
        if (!body_.done()) return;
        dispatch();
        return;  // the next request is parsed once this one is answered
      }
      return;
    }
  }

  void buildRequest() {
    req_.method.assign(parser_.method());
    req_.target.assign(parser_.target());
    std::string_view t = parser_.target();
    size_t q = t.find('?');
    req_.path = percentDecode(t.substr(0, q));
    req_.query.assign(q == std::string_view::npos ? std::string_view() : t.substr(q + 1));
    req_.headers.clear();
    for (size_t i = 0; i < parser_.headerCount(); ++i) {
      const auto& h = parser_.header(i);
      req_.headers.emplace_back(std::string(h.name), std::string(h.value));
    }
    // A connection that once sent a large body does not keep its capacity across keep-alive
    // requests (a 60 MB inference would otherwise pin 64 MB per idle connection).
    if (req_.body.capacity() > (1u << 20)) {
      std::string().swap(req_.body);
    } else {
      req_.body.clear();
    }
    req_.remote_address = remote_;
    keep_alive_ = parser_.keepAlive() && !server_->stopped_;
    version_minor_ = parser_.versionMinor();
    head_request_ = parser_.isHead();
  }

  void dispatch();

  void sendError(int status, std::string_view message) {
    keep_alive_ = false;
    std::string body = "{\"error\": \"" + jsonEscape(message) + "\"}";
    std::string out;
    appendStatusLine(out, status);
    // The server's own answers (400, 408, 413, 414, 431, 501, 505 ...) carry what every admin
    // answer promises (docs/design/dashboard.md): no content sniffing of the JSON body.
    out += "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\nConnection: close\r\n\r\n";
    out += body;
    state_ = State::kWriting;
    response_done_ = true;
    lingering_ = true;
    queueWrite(std::move(out));
  }

  void queueWrite(std::string data) {
    if (closed_) return;
    if (writing_) {
      pending_ += data;
      return;
    }
    out_ = std::move(data);
    writing_ = true;
    asio::async_write(
        sock_, asio::buffer(out_),
        inSlot(write_slot_, [self = shared_from_this()](boost::system::error_code ec, size_t) {
          self->onWrite(ec);
        }));
  }

  void onWrite(boost::system::error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    if (!pending_.empty()) {
      std::string next;
      next.swap(pending_);
      queueWrite(std::move(next));
      return;
    }
    if (state_ == State::kWriting && response_done_) finishResponse();
  }

  void finishResponse() {
    response_done_ = false;
    if (lingering_) {
      // Lingering close: stop sending, read and drop what the client still sends (so it sees the
      // error response rather than a reset), close at EOF or after a short grace period.
      state_ = State::kLingering;
      boost::system::error_code ec;
      sock_.shutdown(tcp::socket::shutdown_send, ec);
      len_ = start_ = 0;
      armTimer(std::chrono::seconds(2));
      startRead();
      return;
    }
    if (!keep_alive_ || server_->stopped_) {
      close();
      return;
    }
    state_ = State::kReadingHead;
    parser_.reset();
    head_started_ = false;
    armTimer(server_->options_.idle_timeout);
    process();
    if (peer_eof_ && (state_ == State::kReadingHead || state_ == State::kReadingBody)) {
      close();
      return;
    }
    startRead();
  }

  std::shared_ptr<HttpServer::Impl> server_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  std::string remote_;
  std::vector<char> in_;
  size_t start_ = 0, len_ = 0;
  HeadParser parser_;
  BodyDecoder body_;
  HttpRequest req_;
  State state_ = State::kReadingHead;
  bool head_started_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool peer_eof_ = false;
  bool closed_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool chunked_ = false;
  bool response_done_ = false;
  bool lingering_ = false;
  int version_minor_ = 1;
  std::string out_, pending_;
  HandlerSlot read_slot_, write_slot_;  // operation memory (no allocation per read/write)
};

class ResponderImpl final : public Responder {
 public:
  explicit ResponderImpl(std::shared_ptr<Conn> conn) : conn_(conn), io_(conn->io()) {}

  void send(HttpResponse response) override {
    run([response = std::move(response)](Conn& c) mutable { c.sendResponse(std::move(response)); });
  }
  void startStream(int status, Headers headers) override {
    run([status, headers = std::move(headers)](Conn& c) mutable {
      c.startStream(status, std::move(headers));
    });
  }
  void writeChunk(std::string data) override {
    run([data = std::move(data)](Conn& c) mutable { c.writeChunk(std::move(data)); });
  }
  void endStream() override {
    run([](Conn& c) { c.endStream(); });
  }
  bool closed() const override {
    auto c = conn_.lock();
    return !c || c->closed();
  }
  void after(Duration delay, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    timer->expires_after(delay);
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }

 private:
  template <class F>
  void run(F&& f) {
    asio::dispatch(io_, [w = conn_, f = std::forward<F>(f)]() mutable {
      if (auto c = w.lock()) f(*c);
    });
  }

  std::weak_ptr<Conn> conn_;
  asio::io_context& io_;
};

void Conn::dispatch() {
  state_ = State::kBusy;
  disarmTimer();
  auto responder = std::make_shared<ResponderImpl>(shared_from_this());
  if (server_->async_) {
    server_->async_(req_, std::move(responder));
  } else {
    HttpResponse r;
    try {
      r = server_->sync_(req_);
    } catch (const std::exception& e) {
      r = HttpResponse::jsonError(500, e.what());
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");  // as sendError's answers
    }
    sendResponse(std::move(r));
  }
}

}  // namespace

void HttpServer::Impl::accept() {
  // Wait for readiness, then accept4() ourselves: Asio's accept() (Boost 1.74) returns
  // descriptors without O_CLOEXEC, which a concurrent fork+exec elsewhere in the process (surge up
  // spawning replicas) would leak into the child.
  acceptor_.async_wait(tcp::acceptor::wait_read, [self = shared_from_this()](
                                                     boost::system::error_code ec) {
    if (self->stopped_ || ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
      return;
    }
    for (int i = 0; i < 64; ++i) {
      int fd = ::accept4(self->acceptor_.native_handle(), nullptr, nullptr,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        self->pauseAccepting(err);
        return;
      }
      tcp::socket s(self->io_);
      s.assign(self->protocol_, fd, ec);
      if (ec) {
        ::close(fd);
        continue;
      }
      auto c = std::make_shared<Conn>(self, std::move(s));
      self->conns_.emplace(c.get(), c);
      self->count_.store(self->conns_.size(), std::memory_order_relaxed);
      c->start();
    }
    self->accept();
  });
}

void HttpServer::Impl::pauseAccepting(int err) {
  // Out of descriptors (EMFILE/ENFILE) or memory: retrying at once would spin on the same error
  // while the backlog stays full; pause briefly and say so once in a while, not per attempt.
  static RateLimitedLog log(std::chrono::seconds(10));
  log.log(LogLevel::kWarn, "http",
          std::string("accept: ") + std::strerror(err) + " (pausing accepts for 100 ms)");
  pause_timer_.expires_after(std::chrono::milliseconds(100));
  pause_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_) self->accept();
  });
}

void HttpServer::Impl::stopOnLoop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  pause_timer_.cancel();
  std::vector<std::shared_ptr<Conn>> all;
  for (auto& [p, c] : conns_) all.push_back(c);
  for (auto& c : all) c->onServerStop();
}

void HttpServer::Impl::closeAll() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  pause_timer_.cancel();
  std::vector<std::shared_ptr<Conn>> all;
  for (auto& [p, c] : conns_) all.push_back(c);
  for (auto& c : all) c->close();
}

HttpServer::HttpServer(asio::io_context& io, Handler handler, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(handler), AsyncHandler(), options)) {}

HttpServer::HttpServer(asio::io_context& io, AsyncHandler handler, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, Handler(), std::move(handler), options)) {}

HttpServer::~HttpServer() { impl_->closeAll(); }

Status HttpServer::listen(const std::string& address) {
  ASSIGN_OR_RETURN(tcp::endpoint ep, resolveEndpoint(address));
  RETURN_IF_ERROR(openListener(impl_->acceptor_, ep, impl_->options_.reuse_port));
  impl_->protocol_ = ep.protocol();
  impl_->port_ = impl_->acceptor_.local_endpoint().port();
  impl_->accept();
  return Status::ok();
}

uint16_t HttpServer::port() const { return impl_->port_; }

void HttpServer::stop() {
  asio::post(impl_->io_, [impl = impl_] { impl->stopOnLoop(); });
}

size_t HttpServer::connectionCount() const { return impl_->count_.load(std::memory_order_relaxed); }

}  // namespace surge::net
