// The gateway's HTTP/2 data path (docs/design/gateway-h2.md). A client connection that opens with
// the HTTP/2 preface (h2c with prior knowledge) or negotiates "h2" by ALPN becomes an
// H2Downstream: an h2::ServerSession (libnghttp2 with an edge's limits: net/h2/server_session.h)
// whose streams are proxied one by one. Every stream (every gRPC call) is balanced on its own by
// the worker's Balancer — a client's one long-lived connection spreads over all replicas — and
// sent on an H2Upstream: one of a small per-worker pool of HTTP/2 connections per backend
// (h2::ClientSession), multiplexed up to the backend's SETTINGS_MAX_CONCURRENT_STREAMS; a new
// connection opens only when every open one is full (at most http2.upstream_connections per
// backend per worker).
// Per stream, as on the HTTP/1.1 path and through the same pure policies: retries
// (retry_policy.h, budget included) only while nothing of the response reached the client, on
// connect failures, resets, refused streams (REFUSED_STREAM or above a GOAWAY's last stream: never
// processed, free retry), per-try timeouts, and a gRPC Trailers-Only UNAVAILABLE; outlier
// detection and latency feed the Cluster; the request deadline is timeouts.request or, when the
// client sends one, grpc-timeout (the smaller). The gateway's own answers on a gRPC call are gRPC
// statuses (14 UNAVAILABLE without a healthy upstream, 4 DEADLINE_EXCEEDED on timeout); on other
// streams a JSON {"error": ...} with the HTTP status. Trailers pass through.
// Flow control end to end: response DATA is credited back to the upstream (its window reopens)
// only once queued output toward the client is under a bound, so a slow client holds at most a
// window of an upstream's output in the gateway.
// Re-entrancy: nghttp2 calls back from inside receive()/send(); handlers never send themselves,
// they mark the connection dirty, and the worker's event loop calls H2Hub::drain() after each
// batch of events (which also coalesces writes). Objects closed during a batch are freed by reap().
// Threading: everything here belongs to one Worker's thread.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "gateway/activator.h"
#include "gateway/cluster.h"
#include "gateway/epoll_set.h"
#include "gateway/retry_policy.h"
#include "gateway/upstream_pool.h"
#include "net/h2/client_session.h"
#include "net/h2/server_session.h"

namespace surge::tls {
class Conn;
}  // namespace surge::tls

namespace surge::gateway {

class Worker;
class H2Hub;
class H2Upstream;
class H2Downstream;
struct H2Call;

// The byte transport of a client connection: the socket itself or TLS over it.
struct ClientIo {
  int fd = -1;
  tls::Conn* tls = nullptr;
  // > 0: bytes read; 0: end of stream; -1: nothing now (wait for readiness); -2: error.
  ssize_t read(char* buf, size_t n);
  // >= 0: bytes written (0: wait for EPOLLOUT); -1: error.
  ssize_t write(const char* buf, size_t n);
  // Bytes TLS has already decrypted (edge-triggered epoll will not report them again).
  size_t pending() const;
};

// The owner of the client connection (proxy.cc's Session): closes it when the session is over.
class H2Owner {
 public:
  virtual void h2Finished() = 0;

 protected:
  ~H2Owner() = default;
};

// One client connection speaking HTTP/2.
class H2Downstream {
 public:
  H2Downstream(Worker& w, H2Owner& owner, ClientIo io, std::string client_ip, bool tls);
  ~H2Downstream();
  H2Downstream(const H2Downstream&) = delete;
  H2Downstream& operator=(const H2Downstream&) = delete;

  // Starts the session with the bytes already read from the connection (the preface, or
  // nothing after a TLS handshake).
  void start(std::string_view first_bytes);
  void onIo(uint32_t events);
  void onTimeout(TimePoint now);
  // Graceful: GOAWAY, streams in flight finish, no new ones.
  void onShutdown();
  // The owner closes the connection: every call ends now.
  void abort();
  // The earliest deadline of the connection (idle timeout, or a stream's).
  TimePoint deadline() const { return deadline_; }
  // Activator (activator.h): streams held while no replica is ready; checkHeld releases them
  // (a host is eligible) or answers those past their hold deadline.
  int heldCalls() const { return held_calls_; }
  void checkHeld(TimePoint now, bool any_eligible);

 private:
  friend class H2Hub;
  friend class H2Upstream;

  void readSome();
  // Writes what the session has queued; returns false when the connection broke.
  bool flush();
  void finish();
  void recomputeDeadline();
  bool waitingOnUpstream() const;  // a call has no response headers yet

  // nghttp2 server callbacks.
  void onRequest(int32_t stream, std::vector<h2::Header> headers, bool end_stream);
  void onData(int32_t stream, std::string_view data, bool end_stream);
  void onStreamClose(int32_t stream, uint32_t error_code);

  // Per call.
  void startAttempt(H2Call* c);
  // Opens the call's stream on `up` (which can take one) and sends what it has of the body.
  void submitOn(H2Call* c, H2Upstream* up);
  void attemptFailed(H2Call* c, TryFailure failure, std::optional<Outcome> outcome,
                     std::string_view why);
  void releaseAttempt(H2Call* c, bool reset_upstream);
  void answerLocal(H2Call* c, int status, std::string_view message);
  void endCall(H2Call* c);  // accounting (in-flight, metrics); idempotent
  void checkCallDeadline(H2Call* c, TimePoint now);
  void hold(H2Call* c, TimePoint now);
  void endHold(H2Call* c, HoldEnd how);

  // Upstream events for a call (from H2Upstream's session callbacks).
  void onUpstreamHeaders(H2Call* c, std::vector<h2::Header> headers, bool end_stream);
  void onUpstreamData(H2Call* c, std::string_view data, bool end_stream);
  void onUpstreamTrailers(H2Call* c, std::vector<h2::Header> trailers);
  void onUpstreamClose(H2Call* c, uint32_t error_code, bool retryable);
  // The upstream connection died under the call (stale: a pooled connection the backend closed).
  void onUpstreamLost(H2Call* c, bool stale);
  // Returns window credit for response bytes queued toward the client, within the bound.
  void creditUpstreams();

  Worker& w_;
  H2Hub& hub_;
  H2Owner& owner_;
  ClientIo io_;
  std::string client_ip_;
  bool tls_;
  std::unique_ptr<h2::ServerSession> ss_;
  std::unordered_map<int32_t, std::unique_ptr<H2Call>> calls_;
  std::string out_;
  size_t out_off_ = 0;
  bool readable_ = true;
  bool write_blocked_ = false;
  bool eof_ = false;
  bool dirty_ = false;     // in the hub's dirty list
  bool finished_ = false;  // h2Finished() called or aborted
  bool shutting_down_ = false;
  bool credit_pending_ = false;
  int held_calls_ = 0;
  bool goaway_counted_ = false;
  TimePoint idle_deadline_{};
  TimePoint deadline_{};
};

// One HTTP/2 connection to a backend, shared by the streams of many client connections.
class H2Upstream final : public IoTarget {
 public:
  H2Upstream(H2Hub& hub, HostPool* pool);
  ~H2Upstream();
  void onIo(uint32_t events) override;

 private:
  friend class H2Hub;
  friend class H2Downstream;

  bool connect(int* err);
  void readSome();
  bool flush();
  // Closes the connection; the calls on it are failed (retried where the policy allows). A
  // refused connect (connect_failed) is the backend's failure for each of them.
  void kill(bool connect_failed = false);

  H2Hub& hub_;
  HostPool* pool_;
  int fd_ = -1;
  uint64_t handle_ = EpollSet::kNoHandle;
  std::unique_ptr<h2::ClientSession> cs_;
  std::unordered_map<int32_t, H2Call*> calls_;
  std::string out_;
  size_t out_off_ = 0;
  bool connecting_ = false;
  bool readable_ = false;
  bool write_blocked_ = false;
  bool dirty_ = false;
  bool dead_ = false;
  uint64_t streams_done_ = 0;  // streams answered on this connection (> 0: it worked)
  TimePoint connect_deadline_ = TimePoint::max();
  TimePoint idle_since_{};
};

// Per-worker state of the HTTP/2 path: upstream connections by backend, the dirty lists of
// the current event batch, and objects waiting to be freed.
class H2Hub {
 public:
  explicit H2Hub(Worker& w);
  ~H2Hub();
  H2Hub(const H2Hub&) = delete;
  H2Hub& operator=(const H2Hub&) = delete;

  // A connection to `pool`'s backend that can take one more stream (opened if needed, up to the
  // per-backend bound); nullptr with *err when a new one could not be opened.
  H2Upstream* connectionFor(HostPool* pool, int* err);
  void markDirty(H2Downstream* d);
  void markDirty(H2Upstream* u);
  // Flushes what the batch queued; runs until nothing is dirty.
  void drain();
  // Connect timeouts, idle connections (once a second: closes those idle past the timeout).
  void sweep(TimePoint now);
  // Frees closed upstream connections (outside any callback).
  void reap();
  // Closes every upstream connection without streams (shutdown), or all of them (destruction).
  void closeIdle();
  void closeAll();
  size_t upstreamCount() const;

 private:
  friend class H2Upstream;
  friend class H2Downstream;

  void forget(H2Upstream* u);
  // Calls waiting for a stream slot get one where a connection of their backend has room.
  void serveWaiters();

  Worker& w_;
  std::unordered_map<HostPool*, std::vector<H2Upstream*>> conns_;
  std::vector<H2Downstream*> dirty_down_;
  std::vector<H2Upstream*> dirty_up_;
  std::vector<H2Upstream*> dead_;
  std::unordered_map<HostPool*, std::deque<H2Call*>> waiters_;
  bool draining_ = false;
};

}  // namespace surge::gateway
