#include "serving/model_manager.h"

#include <algorithm>
#include <charconv>
#include <thread>

namespace surge::serving {

ServedModel::ServedModel(std::shared_ptr<const ModelConfig> config, runtime::ModelSpec spec,
                         runtime::Backend& backend, metrics::Registry& registry, Clock& clock)
    : config_(std::move(config)),
      version_string_(std::to_string(spec.version)),
      metrics_(registerModelMetrics(registry, spec.name, version_string_)) {
  BatcherOptions options = batcherOptionsFor(*config_);
  options.on_batch = [this](const BatchStats& b) { recordBatch(metrics_, stats_, b); };
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
    : backends_(backends), registry_(registry), clock_(clock) {
  std::sort(models.begin(), models.end(), [](const RepositoryModel& a, const RepositoryModel& b) {
    return a.config.spec.name < b.config.spec.name;
  });
  for (auto& m : models) {
    auto config = std::make_shared<const ModelConfig>(std::move(m.config));
    for (int64_t v : m.versions) models_.push_back(makeVersion(config, v));
  }
  auto queues = [this](std::vector<metrics::Sample>& out) {
    for (const auto& m : all()) {
      out.push_back(
          {{m->spec().name, m->versionString()}, static_cast<double>(m->batcher().queueLength())});
    }
  };
  registry_.gaugeCallback("nv_inference_pending_request_count",  // Triton's name and HELP
                          "Instantaneous number of pending requests awaiting execution per-model.",
                          {"model", "version"}, queues);
  registry_.gaugeCallback("model_request_queue_length",
                          "Inference requests queued, waiting for a batch (KEDA's name)",
                          {"model", "version"}, queues);
  registry_.gaugeCallback(
      "surge_serve_model_ready",
      "1 when every instance of the model version is loaded and warmed up", {"model", "version"},
      [this](std::vector<metrics::Sample>& out) {
        for (const auto& m : all()) {
          out.push_back({{m->spec().name, m->versionString()}, m->ready() ? 1.0 : 0.0});
        }
      });
}

ModelManager::~ModelManager() {
  registry_.removeCallback("nv_inference_pending_request_count");
  registry_.removeCallback("model_request_queue_length");
  registry_.removeCallback("surge_serve_model_ready");
  drainAndStop();
}

std::vector<std::shared_ptr<ServedModel>> ModelManager::all() const {
  std::shared_lock lock(mu_);
  return models_;
}

void ModelManager::start() {
  for (auto& m : all()) m->batcher().start();
}

bool ModelManager::ready() const {
  auto models = all();
  return std::all_of(models.begin(), models.end(), [](const auto& m) { return m->ready(); });
}

Status ModelManager::loadStatus() const {
  for (const auto& m : all()) {
    Status s = m->batcher().loadStatus();
    if (!s.isOk()) return s;
  }
  return Status::ok();
}

bool ModelManager::waitLoaded(Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& m : all()) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (!m->batcher().waitLoaded(std::max<Duration>(Duration::zero(), left))) return false;
  }
  return true;
}

StatusOr<std::shared_ptr<ServedModel>> ModelManager::find(std::string_view name,
                                                          std::string_view version) const {
  std::shared_lock lock(mu_);
  // models_ is sorted by name then version: the versions of `name` are one run.
  auto first = std::find_if(models_.begin(), models_.end(),
                            [&](const auto& m) { return m->spec().name == name; });
  if (first == models_.end()) return notFound("unknown model '" + std::string(name) + "'");
  auto last = std::find_if(first, models_.end(),
                           [&](const auto& m) { return m->spec().name != name; });
  if (version.empty()) return *(last - 1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec == std::errc() && p == version.data() + version.size()) {
    for (auto it = first; it != last; ++it) {
      if ((*it)->spec().version == v) return *it;
    }
  }
  std::string served;
  for (auto it = first; it != last; ++it) {
    served += (served.empty() ? "" : ", ") + (*it)->versionString();
  }
  return notFound("model '" + std::string(name) + "' has no version '" + std::string(version) +
                  "' (serving " + served + ")");
}

std::vector<std::shared_ptr<ServedModel>> ModelManager::versionsOf(std::string_view name) const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<ServedModel>> out;
  for (const auto& m : models_) {
    if (m->spec().name == name) out.push_back(m);
  }
  return out;
}

void ModelManager::flush() {
  for (auto& m : all()) m->batcher().flush();
}

namespace {
std::atomic<int> g_reapers{0};
}  // namespace

void reapInBackground(std::vector<std::shared_ptr<ServedModel>> versions, const Status& answer) {
  if (versions.empty()) return;
  for (auto& m : versions) m->batcher().rejectQueued(answer);
  g_reapers.fetch_add(1);
  std::thread([versions = std::move(versions)]() mutable {
    for (auto& m : versions) m->batcher().drainAndStop();
    versions.clear();
    g_reapers.fetch_sub(1);
  }).detach();
}

int reapersRunning() { return g_reapers.load(); }

std::vector<std::shared_ptr<ServedModel>> ModelManager::takeLoading() {
  std::vector<std::shared_ptr<ServedModel>> out;
  std::unique_lock lock(mu_);
  for (auto it = models_.begin(); it != models_.end();) {
    if ((*it)->batcher().loadSettled()) {
      ++it;
    } else {
      out.push_back(std::move(*it));
      it = models_.erase(it);
    }
  }
  return out;
}

void ModelManager::drainAndStop() {
  auto models = all();
  for (auto& m : models) m->batcher().flush();
  for (auto& m : models) m->batcher().drainAndStop();
}

std::shared_ptr<ServedModel> ModelManager::makeVersion(std::shared_ptr<const ModelConfig> config,
                                                       int64_t version) {
  runtime::Backend* backend = backends_.find(config->spec.backend);
  SURGE_CHECK(backend != nullptr);
  runtime::ModelSpec spec = config->spec;
  spec.version = version;
  spec.version_dir = spec.model_dir + "/" + std::to_string(version);
  return std::make_shared<ServedModel>(std::move(config), std::move(spec), *backend, registry_,
                                       clock_);
}

std::vector<std::shared_ptr<ServedModel>> ModelManager::setVersions(
    const std::string& name, std::vector<std::shared_ptr<ServedModel>> versions) {
  std::vector<std::shared_ptr<ServedModel>> old;
  std::unique_lock lock(mu_);
  // Keep the table sorted by name then version: the versions of `name` are one run.
  auto first = std::find_if(models_.begin(), models_.end(),
                            [&](const auto& m) { return m->spec().name >= name; });
  auto last =
      std::find_if(first, models_.end(), [&](const auto& m) { return m->spec().name != name; });
  old.assign(std::make_move_iterator(first), std::make_move_iterator(last));
  auto at = models_.erase(first, last);
  models_.insert(at, std::make_move_iterator(versions.begin()),
                 std::make_move_iterator(versions.end()));
  return old;
}

size_t ModelManager::queued() const {
  size_t n = 0;
  for (const auto& m : all()) n += m->batcher().queueLength();
  return n;
}

}  // namespace surge::serving
