// The load driver of `surge load`: one thread, one Asio io_context, non-blocking keep-alive
// HTTP/1.1 connections. Closed loop: N connections, each sends the next request when the previous
// answer arrives, measured in windows. Open loop: requests are due at a Schedule's intended times
// (a timer releases them); each goes out on an idle connection, a new one while the pool is under
// its cap, or waits in a FIFO; latency is measured from the intended send time, so a slow server
// is charged for the queueing it causes (no coordinated omission).
// Responses are parsed with net::HeadParser/BodyDecoder (Content-Length, chunked, until-close).
// A request that has no answer within `timeout` closes its connection and counts as status 0.
// Keep-alive hygiene: an idle connection the server closed (its idle timeout) is noticed before
// reuse (a non-blocking peek) and replaced; a request whose reused connection is closed under it
// before any answer byte is resent once on a fresh connection (RFC 9112 §9.3.1) — otherwise a
// long run reports the server's idle timeouts as errors (docs/design/gateway.md, "Soak
// connection errors").
// Memory: bounded by the connection cap, the latency reservoir and the open-loop backlog cap.
// Thread-safety: a driver is used by one thread at a time.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "loadgen/schedule.h"
#include "loadgen/stats.h"

namespace surge::loadgen {

struct Target {
  std::string host_port;  // "127.0.0.1:8000"
  std::string method = "POST";
  std::string path;       // "/v2/models/m/infer"
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Splits "http://host:port[/prefix]" (net::parseUrl; "[::1]:port" for IPv6) into host_port
// ("host:port", default port 80) and prefix.
StatusOr<std::pair<std::string, std::string>> parseUrl(std::string_view url);

// "<prefix>/v2/models/<model>[/versions/<version>][/<action>]" with the model name and version
// percent-encoded as path segments (net::pathEscape), so any name makes a valid target:
// modelPath("/api", "a b", "", "infer") = "/api/v2/models/a%20b/infer".
std::string modelPath(std::string_view prefix, std::string_view model,
                      std::string_view version = "", std::string_view action = "");

// The raw HTTP/1.1 request bytes for `t` (Host, Content-Length, keep-alive).
std::string buildRequest(const Target& t);

struct WindowStats {
  double seconds = 0;
  LatencyRecorder latency{1 << 18};
  uint64_t ok = 0;
  std::map<int, uint64_t> errors;
  uint64_t dropped = 0;
  int connections = 0;
  double max_lateness_s = 0;
  // Kept-alive connections the server had closed while they were idle: found before reuse (and
  // replaced), or found by a request that was then resent once on a fresh connection.
  uint64_t stale_closed = 0;
  uint64_t stale_retries = 0;

  uint64_t requests() const { return latency.count(); }
};

struct Progress {
  double elapsed_s = 0;
  uint64_t completed = 0;
  uint64_t errors = 0;
  size_t in_flight = 0;
  size_t connections = 0;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

class LoadDriver {
 public:
  explicit LoadDriver(Target target, Duration timeout = std::chrono::seconds(30));
  ~LoadDriver();

  // Resolves the address. Must succeed before the runs.
  Status init();
  // One control call (metadata, /metrics, reachability) through the control-plane client
  // (net/http_client.h), not the load engine. Unavailable "cannot reach HOST:PORT: ..." when the
  // server cannot be reached, DeadlineExceeded "cannot reach HOST:PORT: ..." when it does not
  // answer within `timeout`; any other error (a malformed URL: InvalidArgument, a body over the
  // limit: ResourceExhausted, ...) is the client's, without the prefix: the server was reached,
  // or never tried.
  StatusOr<HttpReply> fetch(const std::string& method, const std::string& path,
                            const std::string& body = "",
                            Duration timeout = std::chrono::seconds(5));

  void setProgress(std::function<void(const Progress&)> fn) { progress_ = std::move(fn); }
  // A flag the runs poll (every 50 ms): once true, a run stops early — the closed loop ends its
  // current window at that moment (its real length) and returns the windows so far; the open loop
  // stops sending, abandons what is in flight or queued (not counted) and returns what was
  // answered, `seconds` the real elapsed time. Set from a signal handler by `surge load`.
  void setStopFlag(const std::atomic<bool>* stop) { stop_ = stop; }

  // Closed loop with `concurrency` connections, in consecutive windows of `window`; after each
  // window `more(windows so far)` decides whether to measure another.
  std::vector<WindowStats> runClosed(int concurrency, Duration window,
                                     const std::function<bool(const std::vector<WindowStats>&)>& more);
  // Open loop over `profile`; at most `max_connections`; waits up to `drain` after the last send.
  WindowStats runOpen(const RateProfile& profile, int max_connections, Duration drain);

 private:
  struct Impl;
  Target target_;
  Duration timeout_;
  std::string request_;
  std::function<void(const Progress&)> progress_;
  const std::atomic<bool>* stop_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace surge::loadgen
