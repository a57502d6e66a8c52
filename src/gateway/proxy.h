// The proxy data path: one Worker per thread (its own io_context, SO_REUSEPORT listener,
// Balancer, UpstreamPool and reused buffers; nothing shared with other workers but atomics on
// hosts and metrics), and one Session per client connection, an event-driven state machine:
//   idle → head (parse) → upstream (pick, connect or reuse, send head + body, await response head;
//   retries happen here) → streaming (response head + body bytes to the client as they come) →
//   idle (keep-alive) or close. With the activator on, a request that finds no eligible host at
//   all is held (no upstream) until one is, then picks again, or answers 503 (activator.h).
// Bodies stream both ways; a chunked request body is re-framed toward the upstream (sizes
// re-emitted, extensions and trailers dropped: docs/design/http-edge-rules.md), a validated
// response body passes through (HTTP/1.0 clients get de-chunked bodies and a close); request bytes are kept for replay only up
// to retry_max_body_bytes. No per-request heap allocation in steady state: buffers, parsers and
// strings live in the session and are reused; upstream connections are pooled; timeouts are
// deadlines checked by one sweep timer per worker (no timer per request).
// I/O: client and upstream sockets are raw non-blocking descriptors registered once,
// edge-triggered, in an epoll set owned by the worker; Asio waits on that epoll descriptor (and
// runs the listener, timers and cross-thread posts). Asio's own socket operations would cost, per
// read, either a speculative recv that returns EAGAIN or an epoll_ctl re-arm, plus an operation
// object and a completion dispatch: about a fifth of the CPU of a proxied request.
// Objects closed during an event batch are freed after it (no pointer in the batch dangles), and
// the epoll data word is a generation-checked handle, not a pointer (epoll_set.h): a stale event
// for a closed session or connection is dropped. Every descriptor is close-on-exec (the listener
// accepts with accept4(SOCK_CLOEXEC)). docs/design/gateway.md, "Descriptor and session lifetime".
// Decisions are pure policies with their own tests (docs/design/gateway.md, "Policies"): retries
// and deadlines (retry_policy.h, retry_budget.h), the hash key (hash_key.h), the heads written
// (head_rewrite.h), whether a pick is tried (host_selection.h); this file does the I/O around them.
// Access log (access_log.h, docs/design/access-log.md; nothing at all when off): a session copies
// method, target and X-Request-Id at the head (bounded) and, when the exchange ends or the
// connection closes, formats one entry into the worker's line buffer and pushes it into the
// worker's ring (no lock, no syscall); the writer thread does the I/O.
// Threading: a Worker and its sessions run on the worker's thread only; beginShutdown() and
// inFlight() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "gateway/access_log.h"
#include "gateway/activator.h"
#include "gateway/cluster.h"
#include "gateway/gateway.h"
#include "gateway/retry_policy.h"
#include "gateway/upstream_pool.h"
#include "lb/balancer.h"
#include "metrics/registry.h"
#include "net/asio.h"

namespace surge::tls {
class ServerContextHolder;
}  // namespace surge::tls

namespace surge::gateway {

class H2Hub;
class H2Downstream;
class H2Upstream;

// Metric families shared by all workers (created once by the Gateway).
struct GatewayMetrics {
  metrics::Family<metrics::Counter>* requests = nullptr;    // {backend, code}
  metrics::Family<metrics::Histogram>* duration = nullptr;  // seconds
  metrics::Counter* retries = nullptr;
  metrics::Family<metrics::Counter>* upstream_connections = nullptr;  // {backend}
  // HTTP/2 and gRPC (h2_proxy.h) and TLS.
  metrics::Counter* h2_connections = nullptr;           // client connections that spoke HTTP/2
  metrics::Counter* h2_streams = nullptr;               // client streams
  metrics::Counter* h2_resets = nullptr;                // client streams reset by the client
  metrics::Counter* h2_goaways = nullptr;               // client sessions ended by a protocol error
  metrics::Counter* h2_upstream_connections = nullptr;  // HTTP/2 connections opened to backends
  metrics::Family<metrics::Counter>* grpc_responses = nullptr;  // {grpc_status}
  metrics::Family<metrics::Counter>* tls_handshakes = nullptr;  // {result, version}
};

// Counters shared by the workers of one gateway (retry budget).
struct SharedState {
  std::atomic<int64_t>* retries_in_flight = nullptr;
  AccessLogWriter* access_log = nullptr;  // null: access log off
  HoldQueue* activator = nullptr;         // null: activator off (activator.h)
  tls::ServerContextHolder* tls = nullptr;  // null: the listener is clear text
};

class Session;

class Worker {
 public:
  Worker(int index, const GatewayOptions& options, Cluster& cluster, GatewayMetrics metrics,
         SharedState shared, uint64_t seed);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the listener (SO_REUSEPORT, so every worker can bind the same port; the Gateway makes
  // the port exclusive against other processes unless reuse_port). Before run().
  Status listen(const net::tcp::endpoint& endpoint);
  uint16_t port() const { return port_; }
  // The worker's event loop; returns once shutdown has completed.
  void run();
  // Stop accepting, close idle connections, finish in-flight requests; force-close whatever is
  // left at `deadline`. Thread-safe.
  void beginShutdown(TimePoint deadline);
  // Requests in flight on this worker. Thread-safe.
  int64_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }
  net::asio::io_context& io() { return io_; }
  // Time of the current event batch (one clock read per batch, not per use).
  TimePoint now() const { return now_; }

 private:
  friend class Session;
  friend class H2Hub;
  friend class H2Downstream;
  friend class H2Upstream;

  // The listener is readable: accept what is queued (accept4, close-on-exec, non-blocking).
  void acceptReady();
  // Out of descriptors or memory: stop polling the listener until the next sweep after
  // kAcceptPause (a level-triggered listener would otherwise spin), with a rate-limited warning.
  void pauseAccepting(int err);
  void resumeAccepting();
  void closeListener();
  void armEpoll();
  void pollEvents();
  // Frees sessions and connections closed since the last call.
  void reap();
  void sweep();
  void armSweep();
  void refreshSnapshot();
  // Activator: held sessions pick again once a host is eligible (sweep; activator.h).
  void releaseHeld(TimePoint now);
  // retry_policy.h's decideRetry for a failed try of this worker's (HTTP/1.1 or HTTP/2): fills
  // ts.max_retries and the shared retry budget, and takes a budget slot when told to
  // (*retry_counted then true; ts.holds_budget_slot comes from it).
  RetryDecision decideTryRetry(TryFailure failure, TryState ts, bool* retry_counted);
  // requests_total series of (backend or "none", status class), created on first use.
  metrics::Counter* requestsCounter(HostPool* pool, int status_class);
  void link(Session* s);
  void unlink(Session* s);
  void shutdownOnLoop(TimePoint deadline);
  void maybeFinishShutdown();

  const int index_;
  const GatewayOptions& options_;
  Cluster& cluster_;
  GatewayMetrics metrics_;
  SharedState shared_;
  net::asio::io_context io_;
  int epfd_ = -1;
  net::asio::posix::stream_descriptor epoll_desc_;  // owns epfd_
  EpollSet epoll_;                                  // registrations in epfd_ (not owning)
  net::tcp::acceptor acceptor_;                     // owns the listening socket
  struct ListenTarget final : IoTarget {
    Worker* w = nullptr;
    void onIo(uint32_t) override { w->acceptReady(); }
  } listen_target_;
  uint64_t listen_handle_ = EpollSet::kNoHandle;
  net::asio::steady_timer sweep_timer_;
  Duration sweep_interval_;
  Random random_;
  std::unique_ptr<lb::Balancer> balancer_;
  std::shared_ptr<const lb::HostSet> snapshot_;
  uint64_t snapshot_version_ = ~uint64_t{0};
  UpstreamPool pool_;
  std::unique_ptr<H2Hub> h2_;  // the HTTP/2 path's per-worker state (after pool_: freed first)
  // grpc_responses series by grpc-status (0..16, 17 = other), created on first use.
  metrics::Counter* grpcStatusCounter(int code);
  metrics::Counter* grpc_status_[18] = {};
  metrics::Counter* tls_ok_ = nullptr;
  metrics::Counter* tls_failed_ = nullptr;
  bool wants_hash_key_ = false;
  uint16_t port_ = 0;
  Session* sessions_ = nullptr;  // intrusive list of open sessions
  size_t session_count_ = 0;
  std::vector<Session*> dead_sessions_;  // closed, freed by reap()
  bool shutting_down_ = false;
  bool stopped_ = false;
  bool accept_paused_ = false;
  TimePoint accept_resume_at_{};
  TimePoint drain_deadline_{};
  TimePoint last_pool_sweep_{};
  TimePoint now_{};
  std::atomic<int64_t> in_flight_{0};
  metrics::Counter* no_backend_[6] = {};  // requests answered without a backend, by class
  metrics::Histogram* duration_ = nullptr;
  // Access log (null when off): this worker's ring, its line buffer (reused) and time cache.
  AccessLogRing* access_ring_ = nullptr;
  AccessLogFormat access_format_ = AccessLogFormat::kText;
  std::string access_line_;
  AccessLogClock access_clock_;
  HoldQueue* activator_ = nullptr;  // null when off
  int64_t held_count_ = 0;          // this worker's held sessions
};

}  // namespace surge::gateway
