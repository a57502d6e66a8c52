#include "autoscale/app/dashboard_replicas.h"

#include <map>
#include <memory>

#include "autoscale/sources/replica_stats.h"

namespace surge::autoscale {

const char* const kLocalReplicaNote =
    "req/s, p50/p99 (model_latency) and mean batch size over the last ~10 s, queue now: read "
    "from each replica's own /metrics while this page is open.";

std::string replicaState(const PodInfo& pod) {
  if (pod.phase == "Failed") return "failed";
  if (pod.deleted) return "draining";
  if (pod.phase == "Pending") return "starting";
  if (pod.ready && pod.ready->status) return "ready";
  return "unready";
}

ReplicaSource localReplicaSource(LocalActuator& actuator) {
  auto stats = std::make_shared<ReplicaStatsScraper>();
  return [&actuator, stats](bool numbers) {
    std::vector<ReplicaView> out;
    auto pods = actuator.listPods();
    if (!pods.isOk()) return out;
    std::map<std::string, ReplicaNumbers> scraped;
    if (numbers) {
      std::vector<std::string> addresses;
      for (const PodInfo& p : *pods) {
        const std::string state = replicaState(p);
        if (!p.address.empty() && (state == "ready" || state == "draining")) {
          addresses.push_back(p.address);
        }
      }
      scraped = stats->scrape(addresses, SteadyClock::instance().now());
    }
    for (const PodInfo& p : *pods) {
      ReplicaView v;
      v.name = p.name;
      v.state = replicaState(p);
      v.zone = p.zone;
      v.address = p.address;
      if (auto it = scraped.find(p.address); it != scraped.end()) {
        v.rps = it->second.rps;
        v.p50_ms = it->second.p50_ms;
        v.p99_ms = it->second.p99_ms;
        v.queue = it->second.queue;
        v.batch_size = it->second.batch_size;
        v.error = it->second.error;
      }
      out.push_back(std::move(v));
    }
    return out;
  };
}

}  // namespace surge::autoscale
