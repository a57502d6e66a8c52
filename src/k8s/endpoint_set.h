// The pure part of gateway discovery: EndpointSlices (discovery.k8s.io/v1) → the desired host set,
// the host-set diff a driver applies to gateway::Cluster, and the watch backoff schedule.
// Rules (docs/design/k8s.md): an endpoint serves when conditions.ready != false (nil means ready)
// and conditions.terminating != true; a terminating endpoint is reported as draining (in-flight
// requests finish, no new ones); other endpoints are absent (removed). Addresses are
// "address:port" with the configured port; the zone comes from the endpoint's `zone`.
// Complexity: O(endpoints · log endpoints) per desired-set computation.
// Thread-safety: SliceCache is a plain value (one watcher thread); functions are pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"

namespace surge::k8s {

struct DesiredHost {
  std::string address;  // "10.1.0.5:8000"
  std::string zone;     // "" when unknown
  bool draining = false;
  bool operator==(const DesiredHost&) const = default;
};

// The desired set from a collection of EndpointSlice objects, sorted by address. One address in
// several slices (slice migrations) counts once: serving wins over draining.
std::vector<DesiredHost> desiredFromSlices(const std::vector<nlohmann::json>& slices, int port);

// The EndpointSlices of one Service as seen through list + watch.
class SliceCache {
 public:
  // Replaces everything with a list's items.
  void replace(const std::vector<nlohmann::json>& items);
  // Applies one watch event {type: ADDED|MODIFIED|DELETED|BOOKMARK, object}. ERROR events are
  // not handled here (the driver re-lists). InvalidArgument on a malformed event.
  Status apply(const nlohmann::json& event);
  std::vector<DesiredHost> desired(int port) const;
  size_t size() const { return slices_.size(); }

 private:
  std::map<std::string, nlohmann::json> slices_;  // metadata.name → slice
};

// What the gateway holds now (Cluster::hosts()).
struct CurrentHost {
  std::string address;
  bool draining = false;
};

struct HostActions {
  std::vector<DesiredHost> add;      // new hosts (or re-added while they drained)
  std::vector<std::string> drain;    // serving → terminating: drain, no new requests
  std::vector<std::string> remove;   // gone from the desired set (not already draining)
  bool empty() const { return add.empty() && drain.empty() && remove.empty(); }
};

HostActions diffHosts(const std::vector<CurrentHost>& current,
                      const std::vector<DesiredHost>& desired);

// Jittered exponential backoff: attempt 0 → ~initial, doubling up to max; the delay is drawn
// uniformly in [d/2, d] ("equal jitter").
struct BackoffPolicy {
  Duration initial = std::chrono::milliseconds(200);
  Duration max = std::chrono::seconds(30);
};
Duration backoffDelay(const BackoffPolicy& policy, int attempt, Random& random);

}  // namespace surge::k8s
