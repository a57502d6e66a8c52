// Gateway: the top-level server of `surge gateway`. Owns the worker threads (one io_context, one
// SO_REUSEPORT listener (exclusive to this process unless reuse_port), one Balancer, one upstream pool per worker: shared-nothing, as HAProxy's
// and Envoy's workers), the control loop (admin API, cluster.tick() every 100 ms, active health
// checks, signals) and graceful shutdown (stop accepting, finish in-flight requests up to
// drain_timeout). The data path itself is in proxy.h.
// Threading: construct, start() and run() from one thread; requestShutdown() from any thread (not
// from a signal handler: set install_signal_handlers instead).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "gateway/cluster.h"
#include "gateway/gateway_config.h"
#include "metrics/registry.h"

namespace surge::tls {
class ServerContextHolder;
}  // namespace surge::tls

namespace surge::gateway {

// Everything the gateway needs: the validated config (listen, workers, balancer, hash key,
// retries, timeouts, limits, admin, health checks, drain_timeout) plus process wiring.
// Backends are not read from here: the caller adds them to the Cluster.
struct GatewayOptions : GatewayConfig {
  // SIGINT/SIGTERM start a graceful shutdown (the CLI sets this; in-process tests do not).
  bool install_signal_handlers = false;
  // Print "surge gateway listening on A (admin B)" on stdout when ready.
  bool print_ready_line = false;
  // Upstream connections idle longer than this are closed.
  Duration upstream_idle_timeout = std::chrono::seconds(60);
  // Seed of the per-worker Random (worker i uses seed + i); 0 = from the OS.
  uint64_t seed = 0;
  // Share the client port with other processes (SO_REUSEPORT), for a hot restart (--reuse-port).
  // Off: the port is exclusive — start() fails with "address already in use" if another process
  // listens on it — although this process's workers share it among themselves.
  bool reuse_port = false;
};

class Worker;
class AccessLogWriter;
class HoldQueue;

class Gateway {
 public:
  Gateway(GatewayOptions options, Cluster& cluster, metrics::Registry& registry);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the listeners (every worker on the same port) and the admin listener, starts the worker
  // threads. Errors: bad addresses, ports in use, unknown algorithm.
  Status start();
  // Runs the control loop on the calling thread until shutdown completes (all workers finished).
  void run();
  // Starts a graceful shutdown: stop accepting, let in-flight requests finish (up to
  // drain_timeout), then run() returns. Thread-safe; idempotent.
  void requestShutdown();

  // After start(): the bound ports (useful with port 0).
  uint16_t port() const { return port_; }
  uint16_t adminPort() const { return admin_port_; }
  const GatewayOptions& options() const { return options_; }
  bool shuttingDown() const { return shutting_down_.load(std::memory_order_acquire); }

  // Process-wide counters (tests, admin): retries currently in flight.
  std::atomic<int64_t>& retriesInFlight() { return retries_in_flight_; }
  // Access-log entries dropped so far (ring full or write error); 0 when the log is off.
  uint64_t accessLogDropped() const;
  // Reopens the access-log file (what SIGHUP does). Thread-safe; no-op when off or stdout.
  void reopenAccessLog();
  // Loads the TLS certificate and key again (what SIGHUP does): new connections get the new
  // certificate, open ones keep theirs; on error the current one stays. OK when TLS is off.
  Status reloadTls();
  // Activator (activator.h): `fn` runs, on a worker thread, when a request is held while none was
  // (scale from zero starts now: `surge up` wakes its autoscaler's sync). Must not block.
  // Thread-safe, before or after start(); no-op when the activator is off.
  void setActivationListener(std::function<void()> fn);
  // The hold queue's counts (null when the activator is off).
  const HoldQueue* activator() const { return activator_.get(); }

  class Control;

 private:
  GatewayOptions options_;
  Cluster& cluster_;
  metrics::Registry& registry_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<AccessLogWriter> access_log_;  // null when the access log is off
  std::unique_ptr<tls::ServerContextHolder> tls_;  // null when the listener is clear text
  std::unique_ptr<HoldQueue> activator_;          // null when the activator is off
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<int64_t> retries_in_flight_{0};
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  bool started_ = false;
};

}  // namespace surge::gateway
