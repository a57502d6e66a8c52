// UpstreamPool: one worker's keep-alive connections to its backends (per host: a LIFO stack of
// idle connections, so the warmest is reused first and the coldest idle out). There is no fixed
// cap: the pool keeps as many idle connections as the worker's peak concurrency left behind
// (HAProxy `http-reuse`, nginx `keepalive N` without the small N), closed after
// upstream_idle_timeout or when the backend closes them (sweep() peeks at idle sockets).
// Entries for hosts that left the cluster are retired once no request and no connection uses
// them, so a Host outlives every pointer the worker holds to it.
// Complexity: take/release O(1); forHost O(1) (hash map); sweep O(idle connections).
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
#include "lb/host.h"
#include "lb/host_set.h"
#include "net/asio.h"

namespace surge::metrics {
class Counter;
class Histogram;
}  // namespace surge::metrics

namespace surge::gateway {

struct HostPool;

// One connection to a backend. Owned by the pool (idle) or by the session using it (busy).
// Freed only when no asynchronous operation refers to it (pending == 0).
struct UpstreamConn {
  UpstreamConn(net::asio::io_context& io, HostPool* p) : sock(io), pool(p) {}

  net::tcp::socket sock;
  HostPool* pool;
  std::unique_ptr<char[]> buf;  // response read buffer
  size_t cap = 0;
  size_t start = 0, len = 0;    // unconsumed bytes are buf[start, len)
  TimePoint idle_since{};
  uint32_t requests = 0;        // requests served (> 0: a reused keep-alive connection)
  int pending = 0;              // async operations in flight
  bool connected = false;
  bool dead = false;            // closed; delete when pending reaches 0
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
  metrics::Counter* responses[6] = {};  // by status class: 0 = error/other, 1xx..5xx
  metrics::Counter* connections_total = nullptr;
};

struct UpstreamPoolOptions {
  Duration idle_timeout = std::chrono::seconds(60);
  size_t buffer_bytes = 16 * 1024;
};

class UpstreamPool {
 public:
  UpstreamPool(net::asio::io_context& io, UpstreamPoolOptions options)
      : io_(io), options_(options) {}
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

  // Most recently used idle connection, or nullptr.
  UpstreamConn* takeIdle(HostPool* p);
  // A new, unconnected connection (socket not yet open).
  UpstreamConn* create(HostPool* p);
  // Back to the idle stack (the response was complete and the connection is reusable).
  void putIdle(UpstreamConn* c, TimePoint now);
  // Closes the connection; it is deleted now or when its last operation completes (freeConn).
  void destroy(UpstreamConn* c);
  // Called by an operation's completion after pending dropped to 0 on a dead connection.
  void freeConn(UpstreamConn* c);

  // Closes idle connections older than the idle timeout or closed by the backend.
  void sweep(TimePoint now);
  // Closes every idle connection (shutdown).
  void closeIdle();

  size_t idleCount() const;
  int64_t openCount() const { return open_total_; }

  // Hook to fill the metric pointers of a new entry.
  std::function<void(HostPool&)> on_new_entry;

 private:
  void maybeRetire(HostPool* p);

  net::asio::io_context& io_;
  UpstreamPoolOptions options_;
  std::unordered_map<const lb::Host*, std::unique_ptr<HostPool>> pools_;
  int64_t open_total_ = 0;
};

}  // namespace surge::gateway
