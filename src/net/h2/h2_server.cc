#include "net/h2/h2_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <map>
#include <set>

#include "net/asio.h"

namespace surge::net {

using error_code = boost::system::error_code;

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  H2Connection(std::shared_ptr<H2Server::Impl> server, tcp::socket socket);
  void start();
  asio::io_context& io() { return io_; }

  // On the io_context.
  void respond(int32_t id, std::vector<h2::Header> headers, std::string body,
               std::vector<h2::Header> trailers);
  void sendHeaders(int32_t id, std::vector<h2::Header> headers);
  void sendData(int32_t id, std::string data, bool end);
  void sendTrailers(int32_t id, std::vector<h2::Header> trailers);
  void reset(int32_t id, uint32_t code);
  void shutdown();
  void close();

 private:
  void read();
  void flush();
  void afterOp(const Status& s, int32_t id);
  void watchdog();

  asio::io_context& io_;
  std::shared_ptr<H2Server::Impl> server_;  // dropped when the connection leaves the server's set
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::unique_ptr<h2::ServerSession> session_;
  std::map<int32_t, std::unique_ptr<H2StreamHandler>> handlers_;
  std::unique_ptr<char[]> rbuf_;
  std::string wbuf_;
  bool writing_ = false;
  bool in_session_ = false;  // inside session_->receive(): output is flushed after it returns
  bool read_done_ = false;   // the peer closed, or the session refused its input
  bool closed_ = false;
  uint64_t written_ = 0, written_at_last_tick_ = 0;
  int stalled_ticks_ = 0;
  H2StreamFactory* factory_;
  H2ServerOptions options_;
  std::atomic<size_t>* streams_;
};

class H2Server::Impl : public std::enable_shared_from_this<H2Server::Impl> {
 public:
  Impl(asio::io_context& io, H2StreamFactory factory, H2ServerOptions options)
      : io_(io), acceptor_(io), factory_(std::move(factory)), options_(std::move(options)) {}

  void accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (self->stopped_) return;
      if (!ec) {
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto conn = std::make_shared<H2Connection>(self, std::move(socket));
        self->conns_.insert(conn);
        self->count_.fetch_add(1, std::memory_order_relaxed);
        conn->start();
      } else if (ec == asio::error::operation_aborted) {
        return;
      }
      self->accept();  // also after a transient error (EMFILE: the next accept retries)
    });
  }

  void remove(const std::shared_ptr<H2Connection>& c) {
    if (conns_.erase(c) > 0) count_.fetch_sub(1, std::memory_order_relaxed);
  }

  void stopOnLoop() {
    stopped_ = true;
    error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<H2Connection>> copy(conns_.begin(), conns_.end());
    for (auto& c : copy) c->shutdown();
  }

  void closeAllOnLoop() {
    stopped_ = true;
    error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<H2Connection>> copy(conns_.begin(), conns_.end());
    for (auto& c : copy) c->close();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  H2StreamFactory factory_;
  H2ServerOptions options_;
  std::set<std::shared_ptr<H2Connection>> conns_;
  std::atomic<size_t> count_{0};
  std::atomic<size_t> streams_{0};
  bool stopped_ = false;
  uint16_t port_ = 0;
};

// ---- H2Connection ---------------------------------------------------------------------------

H2Connection::H2Connection(std::shared_ptr<H2Server::Impl> server, tcp::socket socket)
    : io_(server->io_),
      server_(server),
      socket_(std::move(socket)),
      timer_(server->io_),
      rbuf_(new char[64 * 1024]),
      factory_(&server->factory_),
      options_(server->options_),
      streams_(&server->streams_) {}

void H2Connection::start() {
  h2::ServerSession::Callbacks cb;
  std::weak_ptr<H2Connection> weak = weak_from_this();
  cb.on_request = [this, weak](int32_t id, std::vector<h2::Header> headers, bool end) {
    std::unique_ptr<H2StreamHandler> h = (*factory_)(std::move(headers), H2Responder(weak, id));
    if (h == nullptr) {
      session_->resetStream(id, h2::kRefusedStream);
      return;
    }
    H2StreamHandler* raw = h.get();
    handlers_[id] = std::move(h);
    streams_->fetch_add(1, std::memory_order_relaxed);
    if (end) raw->onData(std::string_view(), true);
  };
  cb.on_data = [this](int32_t id, std::string_view data, bool end) {
    auto it = handlers_.find(id);
    if (it != handlers_.end()) it->second->onData(data, end);
  };
  cb.on_close = [this](int32_t id, uint32_t error) {
    auto it = handlers_.find(id);
    if (it == handlers_.end()) return;
    std::unique_ptr<H2StreamHandler> h = std::move(it->second);
    handlers_.erase(it);
    streams_->fetch_sub(1, std::memory_order_relaxed);
    h->onClose(error);
  };
  session_ = std::make_unique<h2::ServerSession>(options_.limits, std::move(cb));
  flush();  // our SETTINGS
  read();
  watchdog();
}

void H2Connection::read() {
  if (closed_ || read_done_) return;
  socket_.async_read_some(
      asio::buffer(rbuf_.get(), 64 * 1024),
      [self = shared_from_this()](error_code ec, size_t n) {
        if (self->closed_) return;
        if (ec) {
          // The peer is gone (or reset): nothing more can be sent either.
          self->close();
          return;
        }
        self->in_session_ = true;
        Status s = self->session_->receive(std::string_view(self->rbuf_.get(), n));
        self->in_session_ = false;
        if (!s.isOk()) self->read_done_ = true;  // a GOAWAY is queued: send it, then close
        self->flush();
        self->read();
      });
}

void H2Connection::flush() {
  if (closed_ || writing_ || in_session_) return;
  wbuf_.clear();
  session_->send(&wbuf_);
  if (wbuf_.empty()) {
    if (!session_->alive() || (read_done_ && !session_->wantsWrite())) close();
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(wbuf_),
                    [self = shared_from_this()](error_code ec, size_t n) {
                      self->writing_ = false;
                      self->written_ += n;
                      if (self->closed_) return;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->flush();
                    });
}

void H2Connection::afterOp(const Status& s, int32_t id) {
  if (!s.isOk() && s.code() == StatusCode::kResourceExhausted) {
    session_->resetStream(id, h2::kInternalError);  // the peer does not read its answers
  }
  flush();
}

void H2Connection::respond(int32_t id, std::vector<h2::Header> headers, std::string body,
                           std::vector<h2::Header> trailers) {
  if (closed_) return;
  afterOp(session_->respond(id, headers, std::move(body), trailers), id);
}

void H2Connection::sendHeaders(int32_t id, std::vector<h2::Header> headers) {
  if (closed_) return;
  afterOp(session_->sendHeaders(id, headers), id);
}

void H2Connection::sendData(int32_t id, std::string data, bool end) {
  if (closed_) return;
  afterOp(session_->sendData(id, std::move(data), end), id);
}

void H2Connection::sendTrailers(int32_t id, std::vector<h2::Header> trailers) {
  if (closed_) return;
  afterOp(session_->sendTrailers(id, trailers), id);
}

void H2Connection::reset(int32_t id, uint32_t code) {
  if (closed_) return;
  session_->resetStream(id, code);
  flush();
}

void H2Connection::shutdown() {
  if (closed_) return;
  session_->shutdown();
  flush();
}

void H2Connection::watchdog() {
  // Every quarter of the stall timeout: output pending (in the socket or in the session) with
  // no byte written for the whole timeout → the peer stopped reading: close.
  timer_.expires_after(options_.write_stall_timeout / 4);
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || self == nullptr || self->closed_) return;
    const bool pending = self->writing_ || self->session_->pendingOutputBytes() > 0;
    if (pending && self->written_ == self->written_at_last_tick_) {
      if (++self->stalled_ticks_ >= 4) {
        self->close();
        return;
      }
    } else {
      self->stalled_ticks_ = 0;
    }
    self->written_at_last_tick_ = self->written_;
    self->watchdog();
  });
}

void H2Connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.close(ec);
  timer_.cancel();
  auto handlers = std::move(handlers_);
  handlers_.clear();
  for (auto& [id, h] : handlers) {
    streams_->fetch_sub(1, std::memory_order_relaxed);
    h->onClose(h2::kCancel);
  }
  // Removing may drop the last owner: defer it past this call.
  asio::post(io_, [server = server_, self = shared_from_this()] { server->remove(self); });
}

// ---- H2Responder ----------------------------------------------------------------------------

namespace {
template <typename Fn>
void onLoop(const std::weak_ptr<H2Connection>& weak, Fn fn) {
  auto conn = weak.lock();
  if (conn == nullptr) return;
  asio::dispatch(conn->io(), [conn, fn = std::move(fn)]() mutable { fn(*conn); });
}
}  // namespace

void H2Responder::respond(std::vector<h2::Header> headers, std::string body,
                          std::vector<h2::Header> trailers) const {
  onLoop(conn_, [id = stream_, h = std::move(headers), b = std::move(body),
                 t = std::move(trailers)](H2Connection& c) mutable {
    c.respond(id, std::move(h), std::move(b), std::move(t));
  });
}

void H2Responder::sendHeaders(std::vector<h2::Header> headers) const {
  onLoop(conn_, [id = stream_, h = std::move(headers)](H2Connection& c) mutable {
    c.sendHeaders(id, std::move(h));
  });
}

void H2Responder::sendData(std::string data, bool end_stream) const {
  onLoop(conn_, [id = stream_, d = std::move(data), end_stream](H2Connection& c) mutable {
    c.sendData(id, std::move(d), end_stream);
  });
}

void H2Responder::sendTrailers(std::vector<h2::Header> trailers) const {
  onLoop(conn_, [id = stream_, t = std::move(trailers)](H2Connection& c) mutable {
    c.sendTrailers(id, std::move(t));
  });
}

void H2Responder::reset(uint32_t error_code) const {
  onLoop(conn_, [id = stream_, error_code](H2Connection& c) { c.reset(id, error_code); });
}

// ---- H2Server -------------------------------------------------------------------------------

H2Server::H2Server(asio::io_context& io, H2StreamFactory factory, H2ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(factory), std::move(options))) {}

H2Server::~H2Server() {
  // The io_context may still run: close on it if it does, here otherwise (not running).
  if (impl_->io_.stopped()) {
    impl_->closeAllOnLoop();
  } else {
    closeAll();
  }
}

Status H2Server::listen(const std::string& address) {
  ASSIGN_OR_RETURN(tcp::endpoint ep, resolveEndpoint(address));
  RETURN_IF_ERROR(openListener(impl_->acceptor_, ep, impl_->options_.reuse_port));
  impl_->port_ = impl_->acceptor_.local_endpoint().port();
  impl_->accept();
  return Status::ok();
}

uint16_t H2Server::port() const { return impl_->port_; }

void H2Server::stop() {
  asio::post(impl_->io_, [impl = impl_] { impl->stopOnLoop(); });
}

void H2Server::closeAll() {
  asio::post(impl_->io_, [impl = impl_] { impl->closeAllOnLoop(); });
}

size_t H2Server::connectionCount() const { return impl_->count_.load(std::memory_order_relaxed); }

size_t H2Server::activeStreams() const {
  return impl_->streams_.load(std::memory_order_relaxed);
}

}  // namespace surge::net
