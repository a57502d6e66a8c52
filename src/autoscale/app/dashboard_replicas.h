// The dashboard's replicas for kind: local — the local actuator's replicas (name, state, zone,
// address, from listPods) with the serving numbers scraped from each replica's /metrics
// (autoscale/sources/replica_stats.h). Wired into the admin server by Autoscaler::create.
// Thread-safety: the returned source is called from one thread (the admin server's sampler).
#pragma once

#include "autoscale/controller/admin.h"
#include "autoscale/local/local_actuator.h"

namespace surge::autoscale {

// The state the dashboard shows for a pod: starting, ready, unready, draining or failed.
std::string replicaState(const PodInfo& pod);

// `actuator` must outlive the source.
ReplicaSource localReplicaSource(LocalActuator& actuator);

// What the dashboard says under the replica table for localReplicaSource.
extern const char* const kLocalReplicaNote;

}  // namespace surge::autoscale
