// ModelManager: the served model versions of a repository — one Batcher (queue + instances) per
// version, its metrics and its statistics (Triton's statistics extension). Loading runs in the
// background (every instance loads and warms up on its own thread); a version is ready once all
// its instances are, the server once every version is.
// Lookup: find(name, "") is the newest served version; a named version must be served.
// Thread-safety: find/ready/stats are safe from any thread once constructed; start() and
// drainAndStop() from the owner.
#pragma once

#include <atomic>
#include <memory>
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

// Cumulative counters behind GET /v2/models/{m}/stats (Triton's statistics extension).
struct ModelStats {
  std::atomic<uint64_t> success_count{0}, success_ns{0};
  std::atomic<uint64_t> fail_count{0}, fail_ns{0};
  std::atomic<uint64_t> queue_count{0}, queue_ns{0};
  std::atomic<uint64_t> compute_count{0}, compute_ns{0};
  std::atomic<uint64_t> inference_count{0}, execution_count{0};
  std::atomic<uint64_t> last_inference_ms{0};  // wall clock, ms since the Unix epoch
};

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
  StatusOr<ServedModel*> find(std::string_view name, std::string_view version) const;
  // Every served version, sorted by model name then version.
  const std::vector<std::unique_ptr<ServedModel>>& all() const { return models_; }
  // The served versions of one model (ascending), empty when unknown.
  std::vector<ServedModel*> versionsOf(std::string_view name) const;

  // Dispatch queued requests without waiting for batch delays (draining); new ones still queue.
  void flush();
  // Runs what is queued, stops every batcher, joins their threads. Idempotent.
  void drainAndStop();
  // Queued requests across every version.
  size_t queued() const;

 private:
  metrics::Registry& registry_;
  std::vector<std::unique_ptr<ServedModel>> models_;
};

}  // namespace surge::serving
