// UpstreamPool: one worker's keep-alive connections to its backends (per host: a LIFO stack of
// idle connections, so the warmest is reused first and the coldest idle out). There is no fixed
// cap: the pool keeps as many idle connections as the worker's peak concurrency left behind
// (HAProxy `http-reuse`, nginx `keepalive N` without the small N), closed after
// upstream_idle_timeout, or as soon as the backend closes one (its readiness event arrives while
// it is idle). Entries for hosts that left the cluster are retired once no request and no
// connection uses them, so a Host outlives every pointer the worker holds to it.
// Connections are raw non-blocking sockets registered once (edge-triggered) in the worker's
// epoll set (proxy.h explains why the data path does not go through Asio's reactor) under a
// generation-checked handle (epoll_set.h); destroy() deletes the registration before close().
// Closed connections are freed by reap(), after the event batch, never while a pointer may be in
// use.
// Complexity: take/put O(1); forHost O(1) (hash map); sweep O(idle connections).
// Thread-safety: none — one pool per worker, used only on that worker's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "gateway/epoll_set.h"
#include "lb/host.h"
#include "lb/host_set.h"
#include "net/asio.h"

namespace surge::metrics {
class Counter;
}  // namespace surge::metrics

namespace surge::gateway {

struct HostPool;
struct UpstreamConn;

// The user of a busy connection (a proxy session).
class UpstreamOwner {
 public:
  virtual void onUpstreamIo(UpstreamConn* c, uint32_t events) = 0;

 protected:
  ~UpstreamOwner() = default;
};

class UpstreamPool;

// One connection to a backend. Idle (owner == nullptr, in its HostPool's stack) or used by one
// session.
struct UpstreamConn final : IoTarget {
  void onIo(uint32_t events) override;

  int fd = -1;
  uint64_t handle = EpollSet::kNoHandle;  // registration in the worker's epoll set
  UpstreamPool* pool_owner = nullptr;
  HostPool* pool = nullptr;
  UpstreamOwner* owner = nullptr;
  std::unique_ptr<char[]> buf;  // response read buffer
  size_t cap = 0;
  size_t start = 0, len = 0;  // unconsumed bytes are buf[start, len)
  TimePoint idle_since{};
  uint32_t requests = 0;    // requests served (> 0: a reused keep-alive connection)
  bool connecting = false;  // non-blocking connect in progress
  bool readable = false;    // edge-triggered readiness not consumed yet
  bool dead = false;        // closed; freed by reap()
};

// Per-worker state of one backend.
struct HostPool {
  lb::HostPtr host;
  net::tcp::endpoint endpoint;
  bool resolved = false;
  std::vector<UpstreamConn*> idle;  // LIFO
  int64_t open = 0;                 // connections (idle + busy)
  int64_t users = 0;                // sessions holding this entry
  bool live = true;                 // present in the latest snapshot
  // Metrics cached per worker per host (Family::labels takes a lock: never on the hot path).
  metrics::Counter* responses[6] = {};  // by status class: 0 = other, 1xx..5xx; set on first use
  metrics::Counter* connections_total = nullptr;
};

struct UpstreamPoolOptions {
  Duration idle_timeout = std::chrono::seconds(60);
  size_t buffer_bytes = 16 * 1024;
};

class UpstreamPool {
 public:
  // `epoll`: the worker's epoll set, where connections are registered.
  UpstreamPool(EpollSet& epoll, UpstreamPoolOptions options) : epoll_(epoll), options_(options) {}
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Marks the hosts of `set` live and creates their entries; entries of hosts no longer in the
  // set are retired (idle connections closed; freed once unused). Called when the snapshot
  // version changes.
  void onSnapshot(const lb::HostSet& set);
  // The entry of `host` (created by onSnapshot for every host of the snapshot), or nullptr.
  HostPool* forHost(const lb::Host* host);
  // The entry of `host`, created if needed.
  HostPool* ensure(const lb::HostPtr& host);
  // A session starts/stops using the entry (keeps it and its Host alive).
  void acquire(HostPool* p) { ++p->users; }
  void releaseUser(HostPool* p);

  // Most recently used idle connection (now owned by `owner`), or nullptr.
  UpstreamConn* takeIdle(HostPool* p, UpstreamOwner* owner);
  // A new connection owned by `owner`, with a non-blocking connect started (c->connecting) or
  // already done; nullptr with *err set when the socket could not even be created or the connect
  // failed at once.
  UpstreamConn* connect(HostPool* p, UpstreamOwner* owner, int* err);
  // Back to the idle stack (the response was complete and the connection is reusable).
  void putIdle(UpstreamConn* c, TimePoint now);
  // Closes the connection; freed by reap().
  void destroy(UpstreamConn* c);
  // An idle connection became readable or hung up: the backend closed it (or broke protocol).
  void onIdleIo(UpstreamConn* c, uint32_t events);

  // Closes idle connections older than the idle timeout.
  void sweep(TimePoint now);
  // Closes every idle connection (shutdown).
  void closeIdle();
  // Frees closed connections and retired entries. Call when no connection pointer is in use.
  void reap();

  size_t idleCount() const;
  int64_t openCount() const { return open_total_; }

  // Hook to fill the metric pointers of a new entry.
  std::function<void(HostPool&)> on_new_entry;

 private:
  void maybeRetire(HostPool* p);
  void removeIdle(UpstreamConn* c);

  EpollSet& epoll_;
  UpstreamPoolOptions options_;
  std::unordered_map<const lb::Host*, std::unique_ptr<HostPool>> pools_;
  std::vector<UpstreamConn*> dead_;
  std::vector<HostPool*> retire_;
  int64_t open_total_ = 0;
};

}  // namespace surge::gateway
