#include "loadgen/driver.h"

#include <fcntl.h>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <utility>

#include "net/asio.h"
#include "net/http_client.h"
#include "net/http_parser.h"

namespace surge::loadgen {
namespace {

using net::asio::steady_timer;
using net::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr size_t kMaxBacklog = 1 << 20;  // open loop: queued sends beyond this are dropped

double secondsSince(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

struct Conn {
  explicit Conn(net::asio::io_context& io) : sock(io), timer(io) {}
  tcp::socket sock;
  steady_timer timer;
  bool connected = false;
  uint32_t served = 0;   // responses received on the current TCP connection
  bool retried = false;  // the request in progress is already a stale-connection retry
  uint64_t gen = 0;
  const std::string* raw = nullptr;
  SteadyTime intended;
  std::string rbuf;
  bool head_done = false;
  int status = 0;
  bool keep_alive = true;
  net::HeadParser head{net::HeadParser::Kind::kResponse, net::ParseLimits{64 * 1024, 0}};
  net::BodyDecoder body;
  std::array<char, 16384> buf;
};

// The per-run event loop: connections and the request/response state machine.
struct Engine {
  net::asio::io_context io;
  tcp::endpoint ep;
  Duration timeout{std::chrono::seconds(30)};
  std::vector<std::unique_ptr<Conn>> conns;
  // status 0 = transport error or timeout; latency from the intended send time.
  std::function<void(Conn&, int, double)> on_done;
  std::string last_error;
  uint64_t stale_closed = 0;   // idle connections found closed by the server before reuse
  uint64_t stale_retries = 0;  // requests resent after a reused connection closed under them

  Conn& addConn() {
    conns.push_back(std::make_unique<Conn>(io));
    return *conns.back();
  }

  // A kept-alive connection the server has closed (its idle timeout) or written to while idle
  // (a 408 before closing): reusing it would turn into a transport error for a request the
  // server never saw. One non-blocking peek tells.
  static bool staleWhileIdle(Conn& c) {
    char b;
    ssize_t n = ::recv(c.sock.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return true;  // EOF, or bytes nobody asked for
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }

  // The server closed a reused keep-alive connection before any byte of the answer (it timed
  // the connection out as we sent): the request never reached it, so resend it once on a fresh
  // connection (RFC 9112 §9.3.1), keeping its intended time. Returns false when it does not apply.
  bool retryStale(Conn& c) {
    if (c.served == 0 || c.retried || c.head_done || !c.rbuf.empty()) return false;
    closeConn(c);
    ++stale_retries;
    send(c, c.raw, c.intended, /*is_retry=*/true);
    return true;
  }

  void send(Conn& c, const std::string* raw, SteadyTime intended, bool is_retry = false) {
    uint64_t g = ++c.gen;
    c.raw = raw;
    c.intended = intended;
    c.retried = is_retry;
    if (c.connected && staleWhileIdle(c)) {
      closeConn(c);
      ++stale_closed;
    }
    c.rbuf.clear();
    c.head.reset();
    c.head_done = false;
    c.timer.expires_after(timeout);
    c.timer.async_wait([this, &c, g](const boost::system::error_code& ec) {
      if (ec || c.gen != g) return;
      fail(c, "timeout");
    });
    if (c.connected) {
      write(c, g);
      return;
    }
    c.sock.async_connect(ep, [this, &c, g](const boost::system::error_code& ec) {
      if (c.gen != g) return;
      if (ec) {
        fail(c, "connect: " + ec.message());
        return;
      }
      ::fcntl(c.sock.native_handle(), F_SETFD, FD_CLOEXEC);  // Asio 1.74 does not set it
      c.connected = true;
      boost::system::error_code ignored;
      c.sock.set_option(tcp::no_delay(true), ignored);
      write(c, g);
    });
  }

  void write(Conn& c, uint64_t g) {
    net::asio::async_write(c.sock, net::asio::buffer(*c.raw),
                           [this, &c, g](const boost::system::error_code& ec, size_t) {
                             if (c.gen != g) return;
                             if (ec) {
                               if (retryStale(c)) return;
                               fail(c, "write: " + ec.message());
                               return;
                             }
                             read(c, g);
                           });
  }

  void read(Conn& c, uint64_t g) {
    c.sock.async_read_some(
        net::asio::buffer(c.buf), [this, &c, g](const boost::system::error_code& ec, size_t n) {
          if (c.gen != g) return;
          if (ec) {
            if (ec == net::asio::error::eof && c.head_done &&
                c.body.framing() == net::BodyFraming::kUntilClose) {
              c.body.onEof();
              c.keep_alive = false;
              finish(c);
              return;
            }
            if (retryStale(c)) return;
            fail(c, "read: " + ec.message());
            return;
          }
          onData(c, g, std::string_view(c.buf.data(), n));
        });
  }

  void onData(Conn& c, uint64_t g, std::string_view in) {
    if (!c.head_done) {
      c.rbuf.append(in);
      auto st = c.head.parse(c.rbuf.data(), c.rbuf.size());
      if (st == net::HeadParser::Status::kIncomplete) {
        read(c, g);
        return;
      }
      if (st == net::HeadParser::Status::kError) {
        fail(c, "bad response: " + std::string(net::describeError(c.head.error())));
        return;
      }
      c.head_done = true;
      c.status = c.head.status();
      c.keep_alive = c.head.keepAlive();
      c.body.reset(c.head.framing(), c.head.contentLength());
      in = std::string_view(c.rbuf).substr(c.head.headSize());
    }
    while (!in.empty() && !c.body.done() && !c.body.failed()) {
      auto step = c.body.step(in);
      if (step.consumed == 0) break;
      in.remove_prefix(step.consumed);
    }
    if (c.body.failed()) {
      fail(c, "bad response body");
    } else if (c.body.done()) {
      finish(c);
    } else {
      read(c, g);
    }
  }

  void finish(Conn& c) {
    ++c.gen;
    ++c.served;
    c.timer.cancel();
    if (!c.keep_alive) closeConn(c);
    on_done(c, c.status, secondsSince(c.intended, std::chrono::steady_clock::now()));
  }

  void fail(Conn& c, std::string why) {
    ++c.gen;
    c.timer.cancel();
    closeConn(c);
    last_error = std::move(why);
    on_done(c, 0, secondsSince(c.intended, std::chrono::steady_clock::now()));
  }

  static void closeConn(Conn& c) {
    boost::system::error_code ignored;
    c.sock.close(ignored);
    c.connected = false;
    c.served = 0;
  }

  void stopAll() {
    for (auto& c : conns) {
      ++c->gen;
      c->timer.cancel();
      closeConn(*c);
    }
    io.stop();
  }
};

void recordInto(WindowStats& w, int status, double latency) {
  w.latency.record(latency);
  if (status >= 200 && status < 300) {
    ++w.ok;
  } else {
    ++w.errors[status];
  }
}

}  // namespace

struct LoadDriver::Impl {
  tcp::endpoint ep;
};

StatusOr<std::pair<std::string, std::string>> parseUrl(std::string_view url) {
  auto parsed = net::parseUrl(url);
  if (url.find("://") == std::string_view::npos || (parsed.isOk() && parsed->scheme != "http")) {
    return invalidArgument("must start with http:// (got '" + std::string(url) + "')");
  }
  if (!parsed.isOk()) return parsed.status();
  std::string prefix = parsed->target;
  if (prefix.find('?') != std::string::npos) {
    return invalidArgument("must not have a query (got '" + std::string(url) + "')");
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return std::make_pair(parsed->hostPort(), prefix);
}

std::string modelPath(std::string_view prefix, std::string_view model, std::string_view version,
                      std::string_view action) {
  std::string p = std::string(prefix) + "/v2/models/" + net::pathEscape(model);
  if (!version.empty()) p += "/versions/" + net::pathEscape(version);
  if (!action.empty()) p += "/" + std::string(action);
  return p;
}

std::string buildRequest(const Target& t) {
  std::string r = t.method + " " + t.path + " HTTP/1.1\r\nHost: " + t.host_port +
                  "\r\nUser-Agent: surge-load\r\n";
  bool has_type = false;
  for (const auto& [name, value] : t.headers) {
    if (net::equalsIgnoreCase(name, "content-type")) has_type = true;
    r += name + ": " + value + "\r\n";
  }
  if (!t.body.empty() || t.method == "POST") {
    if (!has_type) r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(t.body.size()) + "\r\n";
  }
  r += "\r\n";
  r += t.body;
  return r;
}

LoadDriver::LoadDriver(Target target, Duration timeout)
    : target_(std::move(target)), timeout_(timeout), request_(buildRequest(target_)) {}

LoadDriver::~LoadDriver() = default;

Status LoadDriver::init() {
  ASSIGN_OR_RETURN(tcp::endpoint ep, net::resolveEndpoint(target_.host_port));
  impl_ = std::make_unique<Impl>();
  impl_->ep = ep;
  return Status::ok();
}

StatusOr<HttpReply> LoadDriver::fetch(const std::string& method, const std::string& path,
                                      const std::string& body, Duration timeout) {
  SURGE_CHECK(impl_ != nullptr);
  net::ClientRequest req;
  req.method = method;
  req.url = "http://" + target_.host_port + path;
  req.headers = target_.headers;
  req.body = body;
  bool has_type = false;
  for (auto it = req.headers.begin(); it != req.headers.end();) {
    if (net::equalsIgnoreCase(it->first, "content-type")) {
      has_type = true;
      req.content_type = it->second;
      it = req.headers.erase(it);
    } else {
      ++it;
    }
  }
  if (!has_type && (!body.empty() || method == "POST")) req.content_type = "application/json";
  net::ClientOptions o = net::ClientOptions::withTimeout(timeout);
  o.max_body_bytes = 64ull << 20;
  o.user_agent = "surge-load";
  auto r = net::httpCall(req, o);
  if (!r.isOk()) {
    const StatusCode code = r.status().code();
    // Only "not reached" gets the prefix: a malformed answer (Unavailable "...: malformed
    // response (...)") or a body over the limit came from the server; a malformed URL never left.
    if ((code != StatusCode::kUnavailable && code != StatusCode::kDeadlineExceeded) ||
        r.status().message().find(": malformed response") != std::string::npos) {
      return r.status();
    }
    return Status(code, "cannot reach " + target_.host_port + ": " + r.status().message());
  }
  return HttpReply{r->status, std::move(r->body)};
}

std::vector<WindowStats> LoadDriver::runClosed(
    int concurrency, Duration window,
    const std::function<bool(const std::vector<WindowStats>&)>& more) {
  SURGE_CHECK(impl_ != nullptr && concurrency > 0);
  Engine e;
  e.ep = impl_->ep;
  e.timeout = timeout_;
  std::vector<WindowStats> out;
  WindowStats cur;
  bool stopping = false;
  uint64_t completed = 0, errors = 0;
  size_t in_flight = 0;
  const SteadyTime start = std::chrono::steady_clock::now();
  SteadyTime window_start = start;

  e.on_done = [&](Conn& c, int status, double latency) {
    --in_flight;
    if (stopping) return;
    recordInto(cur, status, latency);
    ++completed;
    if (status < 200 || status >= 300) ++errors;
    ++in_flight;
    if (status == 0) {  // back off briefly so a dead server does not spin the loop
      uint64_t g = c.gen;
      c.timer.expires_after(std::chrono::milliseconds(10));
      c.timer.async_wait([&, g, conn = &c](const boost::system::error_code& ec) {
        if (ec || stopping || conn->gen != g) return;
        e.send(*conn, &request_, std::chrono::steady_clock::now());
      });
      return;
    }
    e.send(c, &request_, std::chrono::steady_clock::now());
  };
  for (int i = 0; i < concurrency; ++i) {
    ++in_flight;
    e.send(e.addConn(), &request_, start);
  }

  steady_timer window_timer(e.io);
  std::function<void()> arm = [&] {
    window_timer.expires_at(window_start + window);
    window_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      SteadyTime now = std::chrono::steady_clock::now();
      cur.seconds = secondsSince(window_start, now);
      cur.connections = concurrency;
      cur.stale_closed = std::exchange(e.stale_closed, 0);
      cur.stale_retries = std::exchange(e.stale_retries, 0);
      out.push_back(std::move(cur));
      cur = WindowStats{};
      if (!more(out)) {
        stopping = true;
        window_timer.cancel();
        e.stopAll();
        return;
      }
      window_start = now;
      arm();
    });
  };
  arm();
  steady_timer progress_timer(e.io);
  std::function<void()> tick = [&] {
    progress_timer.expires_after(std::chrono::seconds(1));
    progress_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      progress_({secondsSince(start, std::chrono::steady_clock::now()), completed, errors,
                 in_flight, e.conns.size()});
      tick();
    });
  };
  if (progress_) tick();
  steady_timer stop_timer(e.io);
  std::function<void()> poll_stop = [&] {
    stop_timer.expires_after(std::chrono::milliseconds(50));
    stop_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (!stop_->load()) {
        poll_stop();
        return;
      }
      // Interrupted: the current window ends now, with its real length.
      cur.seconds = secondsSince(window_start, std::chrono::steady_clock::now());
      cur.connections = concurrency;
      cur.stale_closed = std::exchange(e.stale_closed, 0);
      cur.stale_retries = std::exchange(e.stale_retries, 0);
      out.push_back(std::move(cur));
      cur = WindowStats{};
      stopping = true;
      window_timer.cancel();
      progress_timer.cancel();
      e.stopAll();
    });
  };
  if (stop_) poll_stop();
  e.io.run();
  return out;
}

WindowStats LoadDriver::runOpen(const RateProfile& profile, int max_connections, Duration drain) {
  SURGE_CHECK(impl_ != nullptr && max_connections > 0);
  Engine e;
  e.ep = impl_->ep;
  e.timeout = timeout_;
  WindowStats st;
  Schedule schedule(profile);
  std::deque<SteadyTime> backlog;
  std::vector<Conn*> idle;
  size_t in_flight = 0;
  bool schedule_done = false, finished = false;
  uint64_t completed = 0, errors = 0;
  const SteadyTime start = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
  SteadyTime last_done = start;
  steady_timer send_timer(e.io), drain_timer(e.io), progress_timer(e.io);

  auto finishRun = [&] {
    if (finished) return;
    finished = true;
    st.dropped += in_flight + backlog.size();
    Duration length = profile.totalLength();
    st.seconds = std::max(std::chrono::duration<double>(length).count(),
                          secondsSince(start, last_done));
    st.connections = static_cast<int>(e.conns.size());
    st.stale_closed = e.stale_closed;
    st.stale_retries = e.stale_retries;
    send_timer.cancel();
    drain_timer.cancel();
    progress_timer.cancel();
    e.stopAll();
  };
  auto sendOn = [&](Conn& c, SteadyTime intended) {
    st.max_lateness_s =
        std::max(st.max_lateness_s, secondsSince(intended, std::chrono::steady_clock::now()));
    ++in_flight;
    e.send(c, &request_, intended);
  };
  auto dispatch = [&](SteadyTime intended) {
    if (!idle.empty()) {
      Conn* c = idle.back();
      idle.pop_back();
      sendOn(*c, intended);
    } else if (e.conns.size() < static_cast<size_t>(max_connections)) {
      sendOn(e.addConn(), intended);
    } else if (backlog.size() < kMaxBacklog) {
      backlog.push_back(intended);
    } else {
      ++st.dropped;
    }
  };
  e.on_done = [&](Conn& c, int status, double latency) {
    --in_flight;
    if (finished) return;
    recordInto(st, status, latency);
    ++completed;
    if (status < 200 || status >= 300) ++errors;
    last_done = std::chrono::steady_clock::now();
    if (!backlog.empty()) {
      SteadyTime t = backlog.front();
      backlog.pop_front();
      sendOn(c, t);
    } else {
      idle.push_back(&c);
    }
    if (schedule_done && in_flight == 0 && backlog.empty()) finishRun();
  };

  std::optional<Duration> next = schedule.next();
  std::function<void()> fire = [&] {
    SteadyTime now = std::chrono::steady_clock::now();
    while (next && start + *next <= now) {
      dispatch(start + *next);
      next = schedule.next();
    }
    if (!next) {
      schedule_done = true;
      if (in_flight == 0 && backlog.empty()) {
        finishRun();
        return;
      }
      drain_timer.expires_after(drain);
      drain_timer.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) finishRun();
      });
      return;
    }
    send_timer.expires_at(start + *next);
    send_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec && !finished) fire();
    });
  };
  send_timer.expires_at(start);
  send_timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
  std::function<void()> tick = [&] {
    progress_timer.expires_after(std::chrono::seconds(1));
    progress_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || finished) return;
      progress_({secondsSince(start, std::chrono::steady_clock::now()), completed, errors,
                 in_flight, e.conns.size()});
      tick();
    });
  };
  if (progress_) tick();
  steady_timer stop_timer(e.io);
  std::function<void()> poll_stop = [&] {
    stop_timer.expires_after(std::chrono::milliseconds(50));
    stop_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || finished) return;
      if (!stop_->load()) {
        poll_stop();
        return;
      }
      // Interrupted: what is in flight or queued is abandoned, not counted; the rates use the
      // real elapsed time.
      finished = true;
      st.seconds = std::max(0.0, secondsSince(start, std::chrono::steady_clock::now()));
      st.connections = static_cast<int>(e.conns.size());
      st.stale_closed = e.stale_closed;
      st.stale_retries = e.stale_retries;
      send_timer.cancel();
      drain_timer.cancel();
      progress_timer.cancel();
      e.stopAll();
    });
  };
  if (stop_) poll_stop();
  e.io.run();
  return st;
}

}  // namespace surge::loadgen
