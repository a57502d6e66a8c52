// HealthChecker: the active health-check driver. Probes every host over HTTP/1.1 on an Asio
// io_context (one coroutine and one strand per host, so a hung host never delays another host's
// probes) and feeds the results to a per-host ActiveHealthState (rise/fall).
// Schedule: the first probe at a random offset within the interval, then the next one interval
// × (1 ± jitter) after the previous probe ended (HAProxy `inter`, Envoy `interval_jitter`).
// A probe: resolve (skipped for IP literals) + connect + "GET <path> HTTP/1.1" with
// `Connection: close`, then read the status line only; 2xx = pass, anything else, an I/O error
// or the timeout (which bounds the whole probe) = fail.
// On a transition: Host::setHealthy(), Host::setHealthySince(clock.now()) when it came back, a
// log line ("health: 127.0.0.1:8001 is now UNHEALTHY (3 consecutive failures: connect
// refused)"), then on_transition. Transitions are serialized (never two callbacks at once).
// Thread-safety: every public method may be called from any thread, and the io_context may be
// run by several threads. on_transition may call setHosts(), stats() and hostStats(), not
// stop(); no callback runs after stop() (or setHosts() removing that host) returns.
// Lifetime: destroy the checker (it stops) before the io_context.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "health/active_health.h"
#include "lb/host.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace surge::health {

enum class ProbeResult {
  kPass = 0,
  kBadStatus,     // an answer whose status is not 2xx
  kTimeout,       // options.timeout expired first
  kConnectError,  // resolve or connect failed (refused, unreachable)
  kIoError,       // write/read failed or the peer closed before a status line
  kBadResponse,   // not an HTTP/1.x status line
};
inline constexpr size_t kProbeResultCount = 6;
// "pass", "bad_status", "timeout", "connect_error", "io_error", "bad_response" (metric labels).
const char* probeResultName(ProbeResult result);

struct HealthCheckerStats {
  std::array<uint64_t, kProbeResultCount> probes{};  // indexed by ProbeResult
  uint64_t became_healthy = 0;
  uint64_t became_unhealthy = 0;

  uint64_t probesOf(ProbeResult r) const { return probes[static_cast<size_t>(r)]; }
  uint64_t probesTotal() const;
};

struct HostHealthStats {
  uint64_t probes = 0;  // completed probes
  uint64_t passes = 0;
  uint64_t failures = 0;
  bool healthy = true;  // the checker's view (the state machine)
  int consecutive_passes = 0;
  int consecutive_failures = 0;
  std::optional<ProbeResult> last_result;
  std::string last_detail;  // e.g. "connect refused", "status 503", "timeout after 100ms"
};

class HealthChecker {
 public:
  using TransitionCallback = std::function<void(const lb::HostPtr& host, bool healthy)>;

  // `clock` stamps healthySince (probe timing uses the io_context's steady timers); `seed` seeds
  // the per-host jitter.
  HealthChecker(boost::asio::io_context& io, ActiveHealthOptions options,
                TransitionCallback on_transition = {}, Clock& clock = SteadyClock::instance(),
                uint64_t seed = Random::osSeed());
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  const ActiveHealthOptions& options() const;

  // Probes exactly these hosts from now on (identity = the Host object): starts new ones (setting
  // Host::setHealthy(options.initially_healthy)), stops removed ones, keeps the others' state.
  // No-op after stop().
  void setHosts(std::vector<lb::HostPtr> hosts);
  // Stops every probe (in-flight ones are cancelled); idempotent. Must not be called from
  // on_transition.
  void stop();

  HealthCheckerStats stats() const;
  // nullopt for a host that is not being checked.
  std::optional<HostHealthStats> hostStats(const lb::Host& host) const;

 private:
  struct Shared;
  class Prober;

  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  mutable std::mutex mutex_;
  std::map<const lb::Host*, std::shared_ptr<Prober>> probers_;  // guarded by mutex_
  Random random_;                                               // guarded by mutex_
  bool stopped_ = false;                                        // guarded by mutex_
};

}  // namespace surge::health
