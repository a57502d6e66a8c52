#include "serving/model_control.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <set>

#include "common/logging.h"
#include "serving/model_config.pb.h"

namespace surge::serving {

namespace {

const char* kNotAllowed = "explicit model load / unload is not allowed if polling is enabled";
const char* kStopping = "server is shutting down";

std::string unloadedMessage(const std::string& name) {
  return "model '" + name + "' was unloaded";
}

std::string joinVersions(const std::vector<int64_t>& versions) {
  std::string out;
  for (int64_t v : versions) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

bool contains(const std::vector<int64_t>& vs, int64_t v) {
  return std::find(vs.begin(), vs.end(), v) != vs.end();
}

const char* stateOf(const ServedModel& m, std::string* reason) {
  Status load = m.batcher().loadStatus();
  if (!load.isOk()) {
    *reason = load.message();
    return "UNAVAILABLE";
  }
  return m.ready() ? "READY" : "LOADING";
}

}  // namespace

const char* modelControlModeName(ModelControlMode mode) {
  switch (mode) {
    case ModelControlMode::kPoll:
      return "poll";
    case ModelControlMode::kExplicit:
      return "explicit";
    case ModelControlMode::kNone:
    default:
      return "none";
  }
}

StatusOr<ModelControlMode> parseModelControlMode(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "none") return ModelControlMode::kNone;
  if (lower == "poll") return ModelControlMode::kPoll;
  if (lower == "explicit") return ModelControlMode::kExplicit;
  return invalidArgument("unknown model control mode '" + std::string(name) +
                         "' (want none, poll or explicit)");
}

std::vector<ModelIndexEntry> servedIndex(const ModelManager& models, bool ready_only) {
  std::vector<ModelIndexEntry> out;
  for (const auto& m : models.all()) {
    ModelIndexEntry e{m->spec().name, m->versionString(), "", ""};
    e.state = stateOf(*m, &e.reason);
    if (!ready_only || e.state == "READY") out.push_back(std::move(e));
  }
  return out;
}

StatusOr<std::string> configOverrideToText(std::string_view json) {
  pb::ModelConfig message;
  google::protobuf::util::JsonParseOptions options;
  // Triton's ModelConfig has fields surge's model_config.proto lacks (GET .../config prints
  // several, e.g. "model_warmup", "batch_input"): a config read back from either server loads.
  options.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &message, options);
  if (!st.ok()) {
    return invalidArgument("Invalid config override: " + std::string(st.message()));
  }
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) {
    return invalidArgument("Invalid config override: cannot render it as config.pbtxt");
  }
  return text;
}

ModelControl::ModelControl(ModelControlOptions options, ModelManager& models,
                           const runtime::BackendRegistry& backends)
    : options_(std::move(options)), models_(models), backends_(backends) {}

ModelControl::~ModelControl() { stop(); }

void ModelControl::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  {
    std::lock_guard lock(state_mu_);
    for (const auto& m : models_.all()) {
      Record& r = record(m->spec().name);
      if (r.served) continue;
      r.served = true;
      if (!options_.repository.empty()) {
        r.files = fingerprintModel(options_.repository + "/" + m->spec().name);
      }
    }
  }
  finished_.store(false);
  thread_ = std::thread([this] {
    thread_id_.store(std::this_thread::get_id());  // before any task runs (SURGE_CHECKs)
    run();
    finished_.store(true);
  });
}

void ModelControl::requestStop() {
  std::deque<std::function<void()>> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    abort_.store(true);
    left.swap(tasks_);
  }
  cv_.notify_all();
  for (auto& t : left) t();  // abort_ is set: each answers Unavailable at once
}

void ModelControl::stop() {
  requestStop();
  // Bounded: with abort_ set no wait of the control thread lasts longer than a batch that is
  // executing (loads still in a backend go to the reaper, drains stop waiting).
  if (thread_.joinable()) thread_.join();
}

Status ModelControl::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      if (tasks_.size() >= kMaxPendingOperations) {
        return Status(StatusCode::kResourceExhausted,
                      "too many model load / unload requests pending (" +
                          std::to_string(kMaxPendingOperations) + "); retry later");
      }
      tasks_.push_back(std::move(task));
      task = nullptr;
    }
  }
  if (task) {
    task();  // stopping: abort_ makes it answer Unavailable at once
  } else {
    cv_.notify_all();
  }
  return Status::ok();
}

void ModelControl::run() {
  // Poll mode scans at once: models left out of the startup set (broken, unfinished) are
  // recorded UNAVAILABLE with their reason.
  auto next_poll = std::chrono::steady_clock::now() +
                   (options_.mode == ModelControlMode::kPoll ? Duration::zero()
                                                             : options_.poll_interval);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    bool polling = options_.mode == ModelControlMode::kPoll;
    if (tasks_.empty()) {
      if (polling) {
        cv_.wait_until(lock, next_poll);
      } else {
        cv_.wait(lock);
      }
    }
    if (stopping_) break;
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (polling && std::chrono::steady_clock::now() >= next_poll) {
      lock.unlock();
      doPoll();
      lock.lock();
      next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
    }
  }
}

Status ModelControl::checkAllowed() const {
  if (options_.mode != ModelControlMode::kExplicit) return unavailable(kNotAllowed);
  return Status::ok();
}

void ModelControl::loadAsync(const std::string& name, std::optional<std::string> config_json,
                             std::function<void(Status)> done) {
  if (Status s = checkAllowed(); !s.isOk()) return done(s);
  if (Status s = validateModelName(name); !s.isOk()) return done(s);
  if (config_json && config_json->size() > kMaxConfigOverrideBytes) {
    return done(invalidArgument("config override of " + std::to_string(config_json->size()) +
                                " bytes; at most " + std::to_string(kMaxConfigOverrideBytes) +
                                " are accepted"));
  }
  OpKind kind = config_json ? OpKind::kLoadOverride : OpKind::kLoad;
  submit(kind, name, std::move(config_json), std::move(done));
}

void ModelControl::unloadAsync(const std::string& name, std::function<void(Status)> done) {
  if (Status s = checkAllowed(); !s.isOk()) return done(s);
  if (Status s = validateModelName(name); !s.isOk()) return done(s);
  submit(OpKind::kUnload, name, std::nullopt, std::move(done));
}

void ModelControl::submit(OpKind kind, const std::string& name, std::optional<std::string> config,
                          std::function<void(Status)> done) {
  auto op = std::make_shared<PendingOp>();
  op->kind = kind;
  std::function<void()> task = [this, kind, name, config = std::move(config), op] {
    std::vector<std::function<void(Status)>> answers;
    {
      std::lock_guard lock(mu_);
      op->started = true;
      auto it = last_op_.find(name);
      if (it != last_op_.end() && it->second == op) last_op_.erase(it);
      answers.swap(op->done);
    }
    Status s = abort_.load()              ? unavailable(kStopping)
               : kind == OpKind::kUnload ? doUnload(name)
                                          : doLoad(name, config, /*from_poll=*/false);
    for (auto& answer : answers) answer(s);
  };
  Status refused = Status::ok();
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      auto it = last_op_.find(name);
      if (it != last_op_.end() && !it->second->started && it->second->kind == kind &&
          kind != OpKind::kLoadOverride) {
        it->second->done.push_back(std::move(done));  // joins the equal queued operation
        return;
      }
      if (tasks_.size() >= kMaxPendingOperations) {
        refused = Status(StatusCode::kResourceExhausted,
                         "too many model load / unload requests pending (" +
                             std::to_string(kMaxPendingOperations) + "); retry later");
      } else {
        op->done.push_back(std::move(done));
        tasks_.push_back(std::move(task));
        last_op_[name] = op;
        task = nullptr;
      }
    }
  }
  if (!refused.isOk()) return done(refused);
  if (task) {  // stopping: answers Unavailable at once
    op->done.push_back(std::move(done));
    return task();
  }
  cv_.notify_all();
}

Status ModelControl::load(const std::string& name, std::optional<std::string> config_json) {
  SURGE_CHECK(std::this_thread::get_id() != thread_id_);
  std::promise<Status> p;
  auto f = p.get_future();
  loadAsync(name, std::move(config_json), [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

Status ModelControl::unload(const std::string& name) {
  SURGE_CHECK(std::this_thread::get_id() != thread_id_);
  std::promise<Status> p;
  auto f = p.get_future();
  unloadAsync(name, [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

void ModelControl::pollNow() {
  SURGE_CHECK(std::this_thread::get_id() != thread_id_);
  auto p = std::make_shared<std::promise<void>>();
  auto f = p->get_future();
  Status queued = post([this, p] {
    if (!abort_.load()) doPoll();
    p->set_value();
  });
  if (!queued.isOk()) return;  // the queue is full: the poll timer will come
  f.get();
}

ModelControl::Record& ModelControl::record(const std::string& name) {
  auto it = records_.find(name);
  if (it == records_.end()) it = records_.emplace(name, Record{}).first;
  return it->second;
}

std::string ModelControl::clientMessage(std::string message) const {
  if (options_.repository.empty()) return message;
  std::string repo = options_.repository;
  while (repo.size() > 1 && repo.back() == '/') repo.pop_back();
  for (const std::string& cut : {repo + "/", repo}) {
    for (size_t at = message.find(cut); at != std::string::npos; at = message.find(cut, at)) {
      message.erase(at, cut.size());
    }
  }
  return message;
}

void ModelControl::dropUnservedMetrics(const std::vector<std::shared_ptr<ServedModel>>& versions) {
  // The counter and histogram series of a version that is not served are removed as Triton does
  // (a reload that kept or rebuilt the same version number shares them: kept).
  for (const auto& m : versions) {
    if (!models_.find(m->spec().name, m->versionString()).isOk()) {
      unregisterModelMetrics(models_.registry(), m->spec().name, m->versionString());
    }
  }
}

void ModelControl::release(std::vector<std::shared_ptr<ServedModel>> versions) {
  std::vector<std::shared_ptr<ServedModel>> loading;
  for (auto& m : versions) {
    if (m->batcher().loadSettled()) {
      m->batcher().drainAndStop();  // waits for executing batches only
    } else {
      loading.push_back(m);
    }
  }
  versions.clear();  // frees the instances (unless a late holder still has one)
  // An instance still inside its backend's load: joining it could take as long as the load.
  if (!loading.empty()) {
    const std::string name = loading.front()->spec().name;
    reapInBackground(std::move(loading), unavailable(unloadedMessage(name)));
  }
}

size_t ModelControl::recordCount() const {
  std::lock_guard lock(state_mu_);
  return records_.size();
}

int ModelControl::reapersRunning() { return serving::reapersRunning(); }

Status ModelControl::doLoad(const std::string& name, const std::optional<std::string>& config_json,
                            bool from_poll) {
  // The name first: nothing below (file system, state) sees an invalid one.
  RETURN_IF_ERROR(validateModelName(name));
  const std::string prefix = "load failed for model '" + name + "': ";
  if (options_.repository.empty()) {
    return failedPrecondition("failed to load '" + name + "': no model repository");
  }
  std::optional<std::string> text;
  if (config_json) {
    auto t = configOverrideToText(*config_json);
    if (!t.isOk()) return t.status();
    text = std::move(t).value();
  }
  const std::string dir = options_.repository + "/" + name;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    // No state for a name that is no model folder (a served model whose folder went keeps
    // serving, as after any failed load).
    return invalidArgument("failed to load '" + name + "': no model folder '" + name +
                           "' in the repository");
  }
  ModelFingerprint files = fingerprintModel(dir);
  Record before;
  {
    std::lock_guard lock(state_mu_);
    auto it = records_.find(name);
    if (it != records_.end()) before = it->second;
  }
  if (!text && !before.overridden) {
    // Nothing changed on disk since the served set was built (or since the last failed attempt,
    // which polling does not retry).
    if (before.served && files == before.files && before.reason.empty()) {
      // A load answers once ready, e.g. a startup version still warming up; a poll moves on.
      return from_poll ? Status::ok() : waitReady(name, models_.versionsOf(name));
    }
    if (from_poll && before.failed_files && *before.failed_files == files) return Status::ok();
  }
  auto scanned = scanModel(options_.repository, name, backends_, text ? &*text : nullptr);
  if (!scanned.isOk()) {
    if (scanned.status().code() == StatusCode::kNotFound) {  // the folder went meanwhile
      return invalidArgument("failed to load '" + name + "': " +
                             clientMessage(scanned.status().message()));
    }
    if (!from_poll) SURGE_LOG(kWarn, "serve", prefix + scanned.status().message());
    Status error = invalidArgument(prefix + clientMessage(scanned.status().message()));
    std::lock_guard lock(state_mu_);
    Record& r = record(name);
    r.failed_files = files;
    r.reason = error.message();
    r.failed.clear();
    if (!r.served) r.unavailable.clear();
    return error;
  }
  auto config = std::make_shared<const ModelConfig>(std::move(scanned->config));
  const bool config_changed =
      !before.served || text || before.overridden || files.config != before.files.config;
  std::vector<std::shared_ptr<ServedModel>> current = models_.versionsOf(name);
  std::vector<std::shared_ptr<ServedModel>> next, fresh;
  for (int64_t v : scanned->versions) {
    std::shared_ptr<ServedModel> keep;
    if (!config_changed) {
      for (const auto& m : current) {
        auto was = before.files.versions.find(v);
        auto now = files.versions.find(v);
        if (m->spec().version == v && was != before.files.versions.end() &&
            now != files.versions.end() && was->second == now->second) {
          keep = m;
        }
      }
    }
    if (!keep) {
      keep = models_.makeVersion(config, v);
      fresh.push_back(keep);
    }
    next.push_back(std::move(keep));
  }
  std::vector<int64_t> fresh_versions;
  for (const auto& m : fresh) fresh_versions.push_back(m->spec().version);
  {
    std::lock_guard lock(state_mu_);
    Record& r = record(name);
    r.loading = fresh_versions;
  }
  // Start and warm up the new versions off the table; the old set serves meanwhile.
  for (const auto& m : fresh) m->batcher().start();
  std::vector<int64_t> failed;
  Status ready = waitReady(name, fresh, &failed);
  if (!ready.isOk()) {
    // Never served: their series go, and they stop off this thread if a backend is still loading
    // one of their instances (an abandoned load must not hold up the shutdown).
    dropUnservedMetrics(fresh);
    release(std::move(fresh));
    if (!from_poll && ready.code() != StatusCode::kUnavailable) {
      SURGE_LOG(kWarn, "serve", ready.message());
    }
    const Status error(ready.code(), clientMessage(ready.message()));
    std::lock_guard lock(state_mu_);
    Record& r = record(name);
    r.loading.clear();
    r.failed_files = files;
    r.reason = error.message();
    r.failed = failed;
    return error;
  }
  current.clear();  // the drain below waits for every other reference to go
  std::vector<std::shared_ptr<ServedModel>> old = models_.setVersions(name, next);
  std::vector<std::shared_ptr<ServedModel>> removed;
  std::vector<int64_t> next_versions;
  for (const auto& m : next) next_versions.push_back(m->spec().version);
  std::vector<int64_t> unloading;
  for (auto& m : old) {
    if (std::find(next.begin(), next.end(), m) != next.end()) continue;
    if (!contains(next_versions, m->spec().version)) unloading.push_back(m->spec().version);
    removed.push_back(std::move(m));
  }
  {
    std::lock_guard lock(state_mu_);
    Record& r = record(name);
    r.served = true;
    r.overridden = text.has_value();
    r.files = files;
    r.failed_files.reset();
    r.reason.clear();
    r.failed.clear();
    r.unavailable.clear();
    r.loading.clear();
    r.unloading = unloading;
  }
  if (!fresh.empty() || !removed.empty() || !before.served) {
    SURGE_LOG_FIELDS(kInfo, "serve",
                     std::string(before.served ? "reloaded" : "loaded") + " model '" + name +
                         "': serving version(s) " + joinVersions(next_versions) +
                         (fresh.empty() ? "" : " (new: " + joinVersions(fresh_versions) + ")") +
                         (unloading.empty() ? "" : ", unloading " + joinVersions(unloading)),
                     {{"event", before.served ? "model_reloaded" : "model_loaded"},
                      {"model", name},
                      {"versions", joinVersions(next_versions)}});
  }
  drain(name, std::move(removed));
  return Status::ok();
}

Status ModelControl::waitReady(const std::string& name,
                               const std::vector<std::shared_ptr<ServedModel>>& versions,
                               std::vector<int64_t>* failed) {
  std::string failure;
  for (;;) {
    bool all_ready = true;
    ServedModel* waiting = nullptr;
    for (const auto& m : versions) {
      Status s = m->batcher().loadStatus();
      if (!s.isOk()) {
        if (failed != nullptr) failed->push_back(m->spec().version);
        failure += (failure.empty() ? "" : "; ") + std::string("version ") + m->versionString() +
                   ": " + s.message();
      } else if (!m->ready()) {
        all_ready = false;
        if (waiting == nullptr) waiting = m.get();
      }
    }
    if (!failure.empty())
      return invalidArgument("load failed for model '" + name + "': " + failure);
    if (all_ready) return Status::ok();
    if (abort_.load()) return unavailable(kStopping);
    waiting->batcher().waitLoaded(std::chrono::milliseconds(50));
  }
}

Status ModelControl::doUnload(const std::string& name) {
  RETURN_IF_ERROR(validateModelName(name));
  std::vector<std::shared_ptr<ServedModel>> old = models_.setVersions(name, {});
  std::vector<int64_t> versions;
  for (const auto& m : old) versions.push_back(m->spec().version);
  bool folder = false;
  if (old.empty() && !options_.repository.empty()) {
    std::error_code ec;
    folder = std::filesystem::is_directory(options_.repository + "/" + name, ec);
  }
  {
    std::lock_guard lock(state_mu_);
    auto it = records_.find(name);
    if (it == records_.end()) {
      // Unknown and not served: Triton answers OK; no state is created.
      if (old.empty()) return Status::ok();
      it = records_.emplace(name, Record{}).first;
    }
    Record& r = it->second;
    if (old.empty() && !folder && r.loading.empty() && r.unloading.empty()) {
      records_.erase(it);  // neither served nor in the repository any more: forget it
      return Status::ok();
    }
    r.served = false;
    r.overridden = false;
    r.loading.clear();
    r.failed.clear();
    r.failed_files.reset();
    if (!old.empty()) {
      r.unloading = versions;
      r.unavailable = versions;
      r.reason = "unloaded";
    }
  }
  if (old.empty()) return Status::ok();
  SURGE_LOG(kInfo, "serve",
            "unloading model '" + name + "' (version(s) " + joinVersions(versions) +
                "): draining its requests");
  drain(name, std::move(old));
  SURGE_LOG_FIELDS(kInfo, "serve", "unloaded model '" + name + "'",
                   {{"event", "model_unloaded"}, {"model", name}});
  return Status::ok();
}

void ModelControl::drain(const std::string& name,
                         std::vector<std::shared_ptr<ServedModel>> removed) {
  if (removed.empty()) return;
  // Out of the table: no new request finds them. Skip batch delays, then wait until no request
  // holds one any more (the inference service keeps a reference until it has answered).
  for (auto& m : removed) m->batcher().flush();
  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  for (;;) {
    bool busy = std::any_of(removed.begin(), removed.end(),
                            [](const auto& m) { return m.use_count() > 1; });
    if (!busy) break;
    if (abort_.load() || std::chrono::steady_clock::now() >= deadline) {
      // Out of time (or shutting down): what is still queued fails instead of running; only the
      // batches already executing finish.
      size_t queued = 0;
      for (const auto& m : removed) queued += m->batcher().queueLength();
      SURGE_LOG(kWarn, "serve",
                "model '" + name + "': drain " +
                    (abort_.load() ? std::string("cut short by the shutdown")
                                   : "timed out after " +
                                         std::to_string(std::chrono::duration_cast<
                                                            std::chrono::milliseconds>(
                                                            options_.drain_timeout)
                                                            .count()) +
                                         " ms") +
                    "; failing " + std::to_string(queued) +
                    " queued requests, waiting for executing batches");
      for (auto& m : removed) m->batcher().rejectQueued(unavailable(unloadedMessage(name)));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The callback gauges (ready, pending) list the table only, so their series go with it.
  dropUnservedMetrics(removed);
  release(std::move(removed));
  std::lock_guard lock(state_mu_);
  if (auto it = records_.find(name); it != records_.end()) it->second.unloading.clear();
}

void ModelControl::doPoll() {
  if (options_.repository.empty()) return;
  auto folders = listModelFolders(options_.repository);
  if (!folders.isOk()) {
    SURGE_LOG(kError, "serve", "poll: " + folders.status().message());
    return;
  }
  std::set<std::string> present(folders->begin(), folders->end());
  for (const auto& name : *folders) {
    if (abort_.load()) return;
    std::string old_reason;
    {
      std::lock_guard lock(state_mu_);
      if (auto it = records_.find(name); it != records_.end()) old_reason = it->second.reason;
    }
    Status s = doLoad(name, std::nullopt, /*from_poll=*/true);
    if (!s.isOk() && s.message() != old_reason) {
      SURGE_LOG(kError, "serve",
                s.message() + (models_.versionsOf(name).empty()
                                   ? ""
                                   : " (the versions loaded before keep serving)"));
    }
  }
  std::set<std::string> served;
  for (const auto& m : models_.all()) served.insert(m->spec().name);
  for (const auto& name : served) {
    if (abort_.load()) return;
    if (!present.count(name)) (void)doUnload(name);
  }
  // Models gone from the repository and not served: forget them.
  std::lock_guard lock(state_mu_);
  for (auto it = records_.begin(); it != records_.end();) {
    const Record& r = it->second;
    if (!present.count(it->first) && !r.served && r.loading.empty() && r.unloading.empty()) {
      it = records_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<ModelIndexEntry> ModelControl::index(bool ready_only) const {
  std::set<std::string> names;
  if (!options_.repository.empty()) {
    auto folders = listModelFolders(options_.repository);
    if (folders.isOk()) names.insert(folders->begin(), folders->end());
  }
  std::vector<std::shared_ptr<ServedModel>> all = models_.all();
  for (const auto& m : all) names.insert(m->spec().name);
  std::lock_guard lock(state_mu_);
  for (const auto& [name, r] : records_) {
    if (r.served || !r.loading.empty() || !r.unloading.empty()) names.insert(name);
  }
  std::vector<ModelIndexEntry> out;
  for (const auto& name : names) {
    auto rit = records_.find(name);
    const Record* r = rit == records_.end() ? nullptr : &rit->second;
    std::vector<std::pair<int64_t, ModelIndexEntry>> entries;
    std::vector<int64_t> listed;
    for (const auto& m : all) {
      if (m->spec().name != name) continue;
      ModelIndexEntry e{name, m->versionString(), "", ""};
      e.state = stateOf(*m, &e.reason);
      // A served model whose last reload failed keeps serving: the error is its reason.
      if (e.reason.empty() && r != nullptr) e.reason = r->reason;
      listed.push_back(m->spec().version);
      entries.emplace_back(m->spec().version, std::move(e));
    }
    if (r != nullptr) {
      auto add = [&](const std::vector<int64_t>& vs, const char* state, const std::string& why) {
        for (int64_t v : vs) {
          if (contains(listed, v)) continue;
          listed.push_back(v);
          entries.emplace_back(v, ModelIndexEntry{name, std::to_string(v), state, why});
        }
      };
      add(r->loading, "LOADING", "");
      add(r->unloading, "UNLOADING", "");
      add(r->failed, "UNAVAILABLE", r->reason);
      if (!r->served) add(r->unavailable, "UNAVAILABLE", r->reason);
      if (entries.empty() && !r->reason.empty()) {
        entries.emplace_back(0, ModelIndexEntry{name, "", "UNAVAILABLE", r->reason});
      }
    }
    if (entries.empty()) entries.emplace_back(0, ModelIndexEntry{name, "", "", ""});
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [v, e] : entries) {
      if (!ready_only || e.state == "READY") out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace surge::serving
