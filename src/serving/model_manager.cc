#include "serving/model_manager.h"

#include <algorithm>
#include <charconv>

namespace surge::serving {

ServedModel::ServedModel(std::shared_ptr<const ModelConfig> config, runtime::ModelSpec spec,
                         runtime::Backend& backend, metrics::Registry& registry, Clock& clock)
    : config_(std::move(config)),
      version_string_(std::to_string(spec.version)),
      metrics_(registerModelMetrics(registry, spec.name, version_string_)) {
  BatcherOptions options = batcherOptionsFor(*config_);
  options.on_batch = [this](const BatchStats& b) {
    if (!b.ok) return;
    metrics_.exec_count->inc();
    metrics_.inference_count->inc(static_cast<double>(b.rows));
    metrics_.batch_size->observe(static_cast<double>(b.rows));
    stats_.execution_count.fetch_add(1, std::memory_order_relaxed);
    stats_.inference_count.fetch_add(static_cast<uint64_t>(b.rows), std::memory_order_relaxed);
  };
  runtime::Backend* b = &backend;
  runtime::ModelSpec factory_spec = spec;
  auto factory = [b, factory_spec](const runtime::InstanceSpec& is) {
    return b->createInstance(factory_spec, is);
  };
  batcher_ = std::make_unique<Batcher>(std::move(spec), std::move(options), config_->instances(),
                                       std::move(factory), clock);
}

ModelManager::ModelManager(std::vector<RepositoryModel> models,
                           const runtime::BackendRegistry& backends, metrics::Registry& registry,
                           Clock& clock)
    : registry_(registry) {
  std::sort(models.begin(), models.end(), [](const RepositoryModel& a, const RepositoryModel& b) {
    return a.config.spec.name < b.config.spec.name;
  });
  for (auto& m : models) {
    auto config = std::make_shared<const ModelConfig>(std::move(m.config));
    runtime::Backend* backend = backends.find(config->spec.backend);
    SURGE_CHECK(backend != nullptr);
    for (int64_t v : m.versions) {
      runtime::ModelSpec spec = config->spec;
      spec.version = v;
      spec.version_dir = spec.model_dir + "/" + std::to_string(v);
      models_.push_back(
          std::make_unique<ServedModel>(config, std::move(spec), *backend, registry, clock));
    }
  }
  auto queues = [this](std::vector<metrics::Sample>& out) {
    for (const auto& m : models_) {
      out.push_back(
          {{m->spec().name, m->versionString()}, static_cast<double>(m->batcher().queueLength())});
    }
  };
  registry_.gaugeCallback("nv_inference_pending_requests",
                          "Inference requests queued, waiting for a batch", {"model", "version"},
                          queues);
  registry_.gaugeCallback("model_request_queue_length",
                          "Inference requests queued, waiting for a batch (KEDA's name)",
                          {"model", "version"}, queues);
  registry_.gaugeCallback(
      "surge_serve_model_ready",
      "1 when every instance of the model version is loaded and warmed up", {"model", "version"},
      [this](std::vector<metrics::Sample>& out) {
        for (const auto& m : models_) {
          out.push_back({{m->spec().name, m->versionString()}, m->ready() ? 1.0 : 0.0});
        }
      });
}

ModelManager::~ModelManager() {
  registry_.removeCallback("nv_inference_pending_requests");
  registry_.removeCallback("model_request_queue_length");
  registry_.removeCallback("surge_serve_model_ready");
  drainAndStop();
}

void ModelManager::start() {
  for (auto& m : models_) m->batcher().start();
}

bool ModelManager::ready() const {
  return std::all_of(models_.begin(), models_.end(), [](const auto& m) { return m->ready(); });
}

Status ModelManager::loadStatus() const {
  for (const auto& m : models_) {
    Status s = m->batcher().loadStatus();
    if (!s.isOk()) return s;
  }
  return Status::ok();
}

bool ModelManager::waitLoaded(Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& m : models_) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (!m->batcher().waitLoaded(std::max<Duration>(Duration::zero(), left))) return false;
  }
  return true;
}

StatusOr<ServedModel*> ModelManager::find(std::string_view name, std::string_view version) const {
  std::vector<ServedModel*> versions = versionsOf(name);
  if (versions.empty()) return notFound("unknown model '" + std::string(name) + "'");
  if (version.empty()) return versions.back();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec == std::errc() && p == version.data() + version.size()) {
    for (ServedModel* m : versions) {
      if (m->spec().version == v) return m;
    }
  }
  std::string served;
  for (ServedModel* m : versions) served += (served.empty() ? "" : ", ") + m->versionString();
  return notFound("model '" + std::string(name) + "' has no version '" + std::string(version) +
                  "' (serving " + served + ")");
}

std::vector<ServedModel*> ModelManager::versionsOf(std::string_view name) const {
  std::vector<ServedModel*> out;
  for (const auto& m : models_) {
    if (m->spec().name == name) out.push_back(m.get());
  }
  return out;
}

void ModelManager::flush() {
  for (auto& m : models_) m->batcher().flush();
}

void ModelManager::drainAndStop() {
  for (auto& m : models_) m->batcher().flush();
  for (auto& m : models_) m->batcher().drainAndStop();
}

size_t ModelManager::queued() const {
  size_t n = 0;
  for (const auto& m : models_) n += m->batcher().queueLength();
  return n;
}

}  // namespace surge::serving
