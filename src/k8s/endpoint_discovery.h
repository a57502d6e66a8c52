// Gateway discovery drivers. EndpointSliceWatcher follows the discovery.k8s.io/v1 EndpointSlices
// of one Service (labelSelector kubernetes.io/service-name=SVC): list, then watch from the list's
// resourceVersion (allowWatchBookmarks), re-list on 410 Gone (HTTP 410 or an ERROR event with
// code 410), reconnect with jittered exponential backoff after errors. DnsDiscovery re-resolves a
// (headless Service) name with getaddrinfo every interval. Both report the full desired host set
// through the same callback; the pure rules live in endpoint_set.h.
// On errors the last reported set stands (no callback): a flaky API server or DNS never empties
// the gateway.
// Thread-safety: each driver owns one thread; the callback runs on it. start/stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "k8s/api_client.h"
#include "k8s/endpoint_set.h"

namespace surge::k8s {

using HostSetCallback = std::function<void(const std::vector<DesiredHost>&)>;

struct EndpointSliceWatchOptions {
  std::string ns;
  std::string service;
  int port = 8000;
  BackoffPolicy backoff;
  int watch_timeout_seconds = 300;  // ?timeoutSeconds= of each watch (the server ends it then)
  uint64_t seed = 0;                // jitter seed (0 → from the OS)
};

class EndpointSliceWatcher {
 public:
  EndpointSliceWatcher(std::shared_ptr<ApiClient> api, EndpointSliceWatchOptions options,
                       HostSetCallback callback);
  ~EndpointSliceWatcher();  // stops
  void start();
  void stop();
  // Counters for tests and logs.
  int lists() const { return lists_.load(); }
  int watches() const { return watches_.load(); }
  int errors() const { return errors_.load(); }

 private:
  void run();
  // One list + watch cycle; returns when the watch must be re-established (relist true on 410).
  Status listAndWatch();
  void sleepFor(Duration d);
  std::string basePath() const;

  std::shared_ptr<ApiClient> api_;
  EndpointSliceWatchOptions options_;
  HostSetCallback callback_;
  Random random_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  std::atomic<int> lists_{0}, watches_{0}, errors_{0};
  std::vector<DesiredHost> last_;
  bool reported_ = false;
};

struct DnsDiscoveryOptions {
  std::string name;
  int port = 8000;
  Duration interval = std::chrono::seconds(5);
};

// name → "ip:port" hosts (IPv4 and IPv6, sorted, unique). Unavailable on a resolution failure.
StatusOr<std::vector<DesiredHost>> resolveHosts(const std::string& name, int port);

class DnsDiscovery {
 public:
  DnsDiscovery(DnsDiscoveryOptions options, HostSetCallback callback);
  ~DnsDiscovery();
  void start();
  void stop();
  int resolutions() const { return resolutions_.load(); }

 private:
  void run();
  DnsDiscoveryOptions options_;
  HostSetCallback callback_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  std::atomic<int> resolutions_{0};
  std::vector<DesiredHost> last_;
  bool reported_ = false;
};

}  // namespace surge::k8s
