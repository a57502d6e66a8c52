// ModelManager: the served model versions of a repository — one Batcher (queue + instances) per
// version, its metrics and its statistics (Triton's statistics extension). Loading runs in the
// background (every instance loads and warms up on its own thread); a version is ready once all
// its instances are, the server once every version is.
// Lookup: find(name, "") is the newest served version; a named version must be served. Lookups
// hand out shared_ptrs: a request keeps its version alive even if it is unloaded meanwhile.
// Model control (model_control.h) changes the table at run time: it builds a version off the table
// (makeVersion), starts and warms it up, then swaps a model's versions in one step
// (setVersions); versions taken out are drained by the caller.
// Thread-safety: find/all/versionsOf/ready/stats are safe from any thread (the table is guarded
// by a shared mutex); start() and drainAndStop() from the owner; makeVersion/setVersions from
// one thread at a time (model control's).
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "metrics/registry.h"
#include "runtime/backend_registry.h"
#include "serving/batcher.h"
#include "serving/model_repository.h"
#include "serving/serving_metrics.h"

namespace surge::serving {

class ServedModel {
 public:
  ServedModel(std::shared_ptr<const ModelConfig> config, runtime::ModelSpec spec,
              runtime::Backend& backend, metrics::Registry& registry, Clock& clock);

  const runtime::ModelSpec& spec() const { return batcher_->spec(); }
  const ModelConfig& config() const { return *config_; }
  const std::string& versionString() const { return version_string_; }
  Batcher& batcher() { return *batcher_; }
  const Batcher& batcher() const { return *batcher_; }
  const ModelMetrics& metrics() const { return metrics_; }
  ModelStats& stats() { return stats_; }
  const ModelStats& stats() const { return stats_; }
  bool ready() const { return batcher_->ready(); }

 private:
  std::shared_ptr<const ModelConfig> config_;
  std::string version_string_;
  ModelMetrics metrics_;
  ModelStats stats_;
  std::unique_ptr<Batcher> batcher_;
};

// Stops and frees `versions` on a detached thread: their queued requests fail with `answer` at
// once, then the thread waits for their instance threads (possibly still inside a backend's load)
// and drops them. At process exit the thread is simply killed.
void reapInBackground(std::vector<std::shared_ptr<ServedModel>> versions, const Status& answer);
// Reaper threads still running, process-wide (tests wait for 0).
int reapersRunning();

class ModelManager {
 public:
  ModelManager(std::vector<RepositoryModel> models, const runtime::BackendRegistry& backends,
               metrics::Registry& registry, Clock& clock);
  ~ModelManager();  // drainAndStop(), removes the callback gauges
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // Starts loading every version in the background.
  void start();
  // Every version loaded and warmed up.
  bool ready() const;
  // The first load failure (OK while loading or once ready).
  Status loadStatus() const;
  // Waits until every version is ready or one failed, up to `timeout`; true when all are ready.
  bool waitLoaded(Duration timeout);

  // NotFound "unknown model 'x'" / "model 'x' has no version '3' (serving 1, 2)".
  StatusOr<std::shared_ptr<ServedModel>> find(std::string_view name,
                                              std::string_view version) const;
  // Every served version, sorted by model name then version (a snapshot).
  std::vector<std::shared_ptr<ServedModel>> all() const;
  // The served versions of one model (ascending), empty when unknown.
  std::vector<std::shared_ptr<ServedModel>> versionsOf(std::string_view name) const;

  // Dispatch queued requests without waiting for batch delays (draining); new ones still queue.
  void flush();
  // Runs what is queued, stops every batcher, joins their threads. Idempotent.
  void drainAndStop();
  // Queued requests across every version.
  size_t queued() const;

  // A new version of a model, not served yet (its batcher not started). The backend must exist
  // (a validated config names one).
  std::shared_ptr<ServedModel> makeVersion(std::shared_ptr<const ModelConfig> config,
                                           int64_t version);
  // Serves exactly `versions` (ascending, all of model `name`; empty: the model is no longer
  // served) in one step; returns the versions it served before. Lookups see either the old set or
  // the new one, never a mix.
  std::vector<std::shared_ptr<ServedModel>> setVersions(
      const std::string& name, std::vector<std::shared_ptr<ServedModel>> versions);
  metrics::Registry& registry() { return registry_; }
  // Takes every version whose instances are still inside a backend's load out of the table
  // (shutdown: such a version has answered nothing yet, and nobody should wait for the load).
  std::vector<std::shared_ptr<ServedModel>> takeLoading();

 private:
  const runtime::BackendRegistry& backends_;
  metrics::Registry& registry_;
  Clock& clock_;
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<ServedModel>> models_;  // guarded by mu_
};

}  // namespace surge::serving
