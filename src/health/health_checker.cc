#include "health/health_checker.h"

#include <fcntl.h>

#include "net/h2/client_session.h"
#include "net/h2/grpc_framing.h"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "common/logging.h"

namespace surge::health {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

const char* probeResultName(ProbeResult result) {
  switch (result) {
    case ProbeResult::kPass:
      return "pass";
    case ProbeResult::kBadStatus:
      return "bad_status";
    case ProbeResult::kTimeout:
      return "timeout";
    case ProbeResult::kConnectError:
      return "connect_error";
    case ProbeResult::kIoError:
      return "io_error";
    case ProbeResult::kBadResponse:
      return "bad_response";
  }
  return "unknown";
}

uint64_t HealthCheckerStats::probesTotal() const {
  uint64_t total = 0;
  for (uint64_t n : probes) total += n;
  return total;
}

namespace {

struct Outcome {
  ProbeResult result;
  std::string detail;
};

// "host:port" or "[v6]:port"; the port defaults to 80.
void splitAddress(const std::string& address, std::string& host, std::string& port) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    host = address.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    const size_t colon = close == std::string::npos ? std::string::npos : address.find(':', close);
    port = colon == std::string::npos ? "80" : address.substr(colon + 1);
    return;
  }
  const size_t colon = address.rfind(':');
  host = address.substr(0, colon);
  port = colon == std::string::npos ? "80" : address.substr(colon + 1);
}

// Parses "HTTP/1.x NNN ..." and returns NNN, or -1.
int parseStatusLine(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ') return -1;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ' && line[12] != '\r') return -1;
  return status;
}

std::string describeConnectError(const error_code& ec) {
  if (ec == asio::error::connection_refused) return "connect refused";
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
    return "unreachable";
  }
  return "connect: " + ec.message();
}

}  // namespace

struct HealthChecker::Shared {
  Shared(ActiveHealthOptions o, TransitionCallback cb, Clock& c)
      : options(std::move(o)), on_transition(std::move(cb)), clock(c) {}

  const ActiveHealthOptions options;
  const TransitionCallback on_transition;
  Clock& clock;
  // Serializes transitions and lets stop()/removal wait out a running callback. Recursive: the
  // callback may call setHosts(), which stops removed probers under this lock.
  std::recursive_mutex transition_mutex;
  bool stopped = false;  // guarded by transition_mutex
  std::array<std::atomic<uint64_t>, kProbeResultCount> probes{};
  std::atomic<uint64_t> became_healthy{0};
  std::atomic<uint64_t> became_unhealthy{0};
};

class HealthChecker::Prober : public std::enable_shared_from_this<Prober> {
 public:
  Prober(asio::io_context& io, std::shared_ptr<Shared> shared, lb::HostPtr host, uint64_t seed)
      : strand_(asio::make_strand(io)),
        shared_(std::move(shared)),
        host_(std::move(host)),
        state_(shared_->options),
        random_(seed),
        timer_(strand_),
        deadline_(strand_),
        resolver_(strand_),
        socket_(strand_) {
    splitAddress(host_->address(), host_name_, port_);
    request_ = "GET " + shared_->options.path + " HTTP/1.1\r\nHost: " + host_->address() +
               "\r\nConnection: close\r\nUser-Agent: surge-health\r\n\r\n";
    stats_.healthy = state_.healthy();
  }

  void start() { asio::co_spawn(strand_, run(shared_from_this()), asio::detached); }

  // Any thread. After it returns, this prober changes no host flag and calls no callback.
  void stop() {
    {
      std::lock_guard<std::recursive_mutex> lock(shared_->transition_mutex);
      stopped_.store(true, std::memory_order_release);
    }
    asio::post(strand_, [self = shared_from_this()] {
      self->timer_.cancel();
      self->deadline_.cancel();
      self->resolver_.cancel();
      error_code ignored;
      self->socket_.close(ignored);
    });
  }

  HostHealthStats stats() const {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return stats_;
  }

 private:
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  static asio::awaitable<void> run(std::shared_ptr<Prober> self) {
    Duration delay = firstProbeDelay(self->shared_->options, self->random_);
    while (!self->stopped()) {
      error_code ec;
      self->timer_.expires_after(delay);
      co_await self->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (self->stopped()) break;
      Outcome outcome = co_await self->probe();
      if (self->stopped()) break;
      self->record(outcome);
      delay = nextProbeDelay(self->shared_->options, self->random_);
    }
  }

  // One probe bounded by options.timeout: a deadline on the same strand closes the socket.
  asio::awaitable<Outcome> probe() {
    const uint64_t generation = ++generation_;
    timed_out_ = false;
    socket_ = tcp::socket(strand_);
    deadline_.expires_after(shared_->options.timeout);
    deadline_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
      if (ec || self->generation_ != generation) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      error_code ignored;
      self->socket_.close(ignored);
    });
    Outcome outcome = co_await attempt();
    ++generation_;  // a deadline firing from now on belongs to no probe
    deadline_.cancel();
    error_code ignored;
    socket_.close(ignored);
    if (timed_out_) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(shared_->options.timeout).count();
      outcome = {ProbeResult::kTimeout, "timeout after " + std::to_string(ms) + "ms"};
    }
    co_return outcome;
  }

  // The HTTP/2 probe on the connected socket (ActiveHealthOptions::http2): one stream over an
  // h2::ClientSession, bytes moved with the same socket; the deadline closes the socket.
  asio::awaitable<Outcome> attemptH2() {
    const auto& o = shared_->options;
    int status = 0;
    int grpc_status = -1;
    std::string body;
    bool closed = false;
    uint32_t close_code = 0;
    h2::ClientSession::Callbacks cb;
    using h2::grpcStatusOf;
    cb.on_headers = [&](int32_t, std::vector<h2::Header> h, bool) {
      if (const std::string* s = h2::findHeader(h, ":status")) status = std::atoi(s->c_str());
      if (int g = grpcStatusOf(h); g >= 0) grpc_status = g;
    };
    h2::ClientSession* session = nullptr;
    cb.on_data = [&](int32_t id, std::string_view d, bool) {
      if (body.size() + d.size() <= 4096) body.append(d);
      session->consume(id, d.size());
    };
    cb.on_trailers = [&](int32_t, std::vector<h2::Header> t) {
      if (int g = grpcStatusOf(t); g >= 0) grpc_status = g;
    };
    cb.on_close = [&](int32_t, uint32_t code, bool) {
      closed = true;
      close_code = code;
    };
    h2::ClientLimits limits;
    limits.max_concurrent_streams = 1;
    h2::ClientSession cs(limits, std::move(cb));
    session = &cs;
    if (!cs.start().isOk()) co_return Outcome{ProbeResult::kIoError, "HTTP/2 session"};
    std::vector<h2::Header> hs = {{":method", o.grpc ? "POST" : "GET"},
                                  {":scheme", "http"},
                                  {":authority", host_->address()},
                                  {":path", o.path},
                                  {"user-agent", "surge-health"}};
    if (o.grpc) {
      hs.push_back({"content-type", "application/grpc"});
      hs.push_back({"te", "trailers"});
    }
    auto id = cs.submitRequest(hs, !o.grpc);
    if (!id.isOk()) co_return Outcome{ProbeResult::kIoError, "HTTP/2 stream"};
    if (o.grpc && !cs.sendData(id.value(), h2::grpcFrame(""), true).isOk()) {
      co_return Outcome{ProbeResult::kIoError, "HTTP/2 stream"};
    }
    error_code ec;
    std::string out;
    char buf[4096];
    while (!closed) {
      out.clear();
      while (cs.wantsWrite()) cs.send(&out, 1 << 16);
      if (!out.empty()) {
        co_await asio::async_write(socket_, asio::buffer(out),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return Outcome{ProbeResult::kIoError, "write: " + ec.message()};
      }
      if (closed) break;
      size_t n = co_await socket_.async_read_some(asio::buffer(buf),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return Outcome{ProbeResult::kIoError, ec == asio::error::eof
                                                     ? "connection closed before the answer"
                                                     : "read: " + ec.message()};
      }
      if (!cs.receive(std::string_view(buf, n)).isOk() && !closed) {
        co_return Outcome{ProbeResult::kBadResponse, "HTTP/2 protocol error"};
      }
    }
    if (close_code != 0 && status == 0) {
      co_return Outcome{ProbeResult::kBadResponse,
                        "stream reset (" + std::to_string(close_code) + ")"};
    }
    if (!o.grpc) {
      if (status < 200 || status > 299) {
        co_return Outcome{ProbeResult::kBadStatus, "status " + std::to_string(status)};
      }
      co_return Outcome{ProbeResult::kPass, "status " + std::to_string(status)};
    }
    if (grpc_status != 0) {
      co_return Outcome{ProbeResult::kBadStatus, "grpc-status " + std::to_string(grpc_status)};
    }
    // One message whose field 1 (varint) is 1: HealthCheckResponse{status: SERVING} and
    // ServerReadyResponse{ready: true} both encode as 08 01.
    h2::GrpcMessageReader reader(4096);
    (void)reader.feed(body);
    auto msg = reader.next();
    if (!msg || *msg != std::string("\x08\x01", 2)) {
      co_return Outcome{ProbeResult::kBadStatus, "not serving"};
    }
    co_return Outcome{ProbeResult::kPass, "grpc-status 0, serving"};
  }

  asio::awaitable<Outcome> attempt() {
    error_code ec;
    const asio::ip::address ip = asio::ip::make_address(host_name_, ec);
    if (!ec) {  // an IP literal: no resolver round trip
      char* end = nullptr;
      const unsigned long port = std::strtoul(port_.c_str(), &end, 10);
      if (end == port_.c_str() || *end != '\0' || port > 65535) {
        co_return Outcome{ProbeResult::kConnectError, "bad port in " + host_->address()};
      }
      co_await socket_.async_connect(tcp::endpoint(ip, static_cast<uint16_t>(port)),
                                     asio::redirect_error(asio::use_awaitable, ec));
    } else {
      ec.clear();
      const tcp::resolver::results_type endpoints = co_await resolver_.async_resolve(
          host_name_, port_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Outcome{ProbeResult::kConnectError, "resolve: " + ec.message()};
      co_await asio::async_connect(socket_, endpoints,
                                   asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return Outcome{ProbeResult::kConnectError, describeConnectError(ec)};
    // Asio (Boost 1.74) opens sockets without close-on-exec; a replica spawned meanwhile must not
    // inherit the probe's socket.
    ::fcntl(socket_.native_handle(), F_SETFD, FD_CLOEXEC);
    if (shared_->options.http2) co_return co_await attemptH2();
    co_await asio::async_write(socket_, asio::buffer(request_),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Outcome{ProbeResult::kIoError, "write: " + ec.message()};
    std::string buffer;
    const size_t n =
        co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer, 1024), "\r\n",
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) {
      co_return Outcome{ProbeResult::kIoError, "connection closed before the status line"};
    }
    if (ec == asio::error::not_found) {
      co_return Outcome{ProbeResult::kBadResponse, "status line too long"};
    }
    if (ec) co_return Outcome{ProbeResult::kIoError, "read: " + ec.message()};
    const int status = parseStatusLine(std::string_view(buffer).substr(0, n));
    if (status < 0) co_return Outcome{ProbeResult::kBadResponse, "not an HTTP/1.x status line"};
    if (status < 200 || status > 299) {
      co_return Outcome{ProbeResult::kBadStatus, "status " + std::to_string(status)};
    }
    co_return Outcome{ProbeResult::kPass, "status " + std::to_string(status)};
  }

  void record(const Outcome& outcome) {
    const bool ok = outcome.result == ProbeResult::kPass;
    shared_->probes[static_cast<size_t>(outcome.result)].fetch_add(1, std::memory_order_relaxed);
    const Transition transition = state_.onProbe(ok);
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.probes;
      ++(ok ? stats_.passes : stats_.failures);
      stats_.healthy = state_.healthy();
      stats_.consecutive_passes = state_.consecutivePasses();
      stats_.consecutive_failures = state_.consecutiveFailures();
      stats_.last_result = outcome.result;
      stats_.last_detail = outcome.detail;
    }
    if (transition == Transition::kNone) return;

    std::lock_guard<std::recursive_mutex> lock(shared_->transition_mutex);
    if (shared_->stopped || stopped()) return;
    const bool healthy = transition == Transition::kBecameHealthy;
    host_->setHealthy(healthy);
    std::string message = host_->address();
    if (healthy) {
      host_->setHealthySince(shared_->clock.now());
      shared_->became_healthy.fetch_add(1, std::memory_order_relaxed);
      message +=
          " is now HEALTHY (" + std::to_string(state_.consecutivePasses()) + " consecutive passes)";
    } else {
      shared_->became_unhealthy.fetch_add(1, std::memory_order_relaxed);
      message += " is now UNHEALTHY (" + std::to_string(state_.consecutiveFailures()) +
                 " consecutive failures: " + outcome.detail + ")";
    }
    if (healthy) {
      SURGE_LOG(kInfo, "health", message);
    } else {
      SURGE_LOG(kWarn, "health", message);
    }
    if (shared_->on_transition) shared_->on_transition(host_, healthy);
  }

  asio::strand<asio::io_context::executor_type> strand_;
  const std::shared_ptr<Shared> shared_;
  const lb::HostPtr host_;
  std::string host_name_;
  std::string port_;
  std::string request_;
  std::atomic<bool> stopped_{false};
  // Used only on strand_.
  ActiveHealthState state_;
  Random random_;
  asio::steady_timer timer_;     // the wait between probes
  asio::steady_timer deadline_;  // the probe timeout
  tcp::resolver resolver_;
  tcp::socket socket_;
  uint64_t generation_ = 0;
  bool timed_out_ = false;

  mutable std::mutex stats_mutex_;
  HostHealthStats stats_;  // guarded by stats_mutex_
};

HealthChecker::HealthChecker(asio::io_context& io, ActiveHealthOptions options,
                             TransitionCallback on_transition, Clock& clock, uint64_t seed)
    : io_(io),
      shared_(std::make_shared<Shared>(std::move(options), std::move(on_transition), clock)),
      random_(seed) {}

HealthChecker::~HealthChecker() { stop(); }

const ActiveHealthOptions& HealthChecker::options() const { return shared_->options; }

void HealthChecker::setHosts(std::vector<lb::HostPtr> hosts) {
  std::vector<std::shared_ptr<Prober>> removed;
  std::vector<std::shared_ptr<Prober>> added;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    std::map<const lb::Host*, std::shared_ptr<Prober>> next;
    for (auto& host : hosts) {
      if (host == nullptr || next.count(host.get()) != 0) continue;
      auto it = probers_.find(host.get());
      if (it != probers_.end()) {
        next.emplace(host.get(), std::move(it->second));
        probers_.erase(it);
        continue;
      }
      host->setHealthy(shared_->options.initially_healthy);
      auto prober = std::make_shared<Prober>(io_, shared_, host, random_.next());
      next.emplace(host.get(), prober);
      added.push_back(std::move(prober));
    }
    for (auto& [key, prober] : probers_) removed.push_back(std::move(prober));
    probers_ = std::move(next);
  }
  // Outside mutex_: stop() takes the transition lock, which a running callback holds while it
  // may be calling setHosts() (lock order is transition lock, then mutex_).
  for (auto& prober : removed) prober->stop();
  for (auto& prober : added) prober->start();
}

void HealthChecker::stop() {
  std::map<const lb::Host*, std::shared_ptr<Prober>> probers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    probers.swap(probers_);
  }
  {
    std::lock_guard<std::recursive_mutex> lock(shared_->transition_mutex);
    shared_->stopped = true;
  }
  for (auto& [key, prober] : probers) prober->stop();
}

HealthCheckerStats HealthChecker::stats() const {
  HealthCheckerStats stats;
  for (size_t i = 0; i < kProbeResultCount; ++i) {
    stats.probes[i] = shared_->probes[i].load(std::memory_order_relaxed);
  }
  stats.became_healthy = shared_->became_healthy.load(std::memory_order_relaxed);
  stats.became_unhealthy = shared_->became_unhealthy.load(std::memory_order_relaxed);
  return stats;
}

std::optional<HostHealthStats> HealthChecker::hostStats(const lb::Host& host) const {
  std::shared_ptr<Prober> prober;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = probers_.find(&host);
    if (it == probers_.end()) return std::nullopt;
    prober = it->second;
  }
  return prober->stats();
}

}  // namespace surge::health
