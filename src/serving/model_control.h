// ModelControl: Triton's model control (--model-control-mode none|poll|explicit) over the
// ModelManager's table — load, reload and unload models of the repository at run time, the
// repository index, and the poll loop. Transport-independent: HTTP (http_api.h) and gRPC share it.
//   none      the startup set is final; load/unload fail with Unavailable (Triton's message
//             "explicit model load / unload is not allowed if polling is enabled").
//   explicit  load(name) loads or reloads a model, unload(name) drains it; at startup only the
//             --load-model models are served (ModelServer's caller scans those).
//   poll      every poll_interval the repository is rescanned: new models load, changed ones
//             reload, removed ones unload; load/unload fail as in none.
// Load (and reload) is atomic per model: the versions to serve are built off the table, started
// and warmed up; only when every one is ready does the model's entry switch to the new set
// (ModelManager::setVersions). Versions whose files and config did not change keep their
// instances (the same ServedModel) and never stop serving; a failure leaves the old set serving
// untouched and answers InvalidArgument "load failed for model 'x': ..." (Triton's).
// "Changed" (model_repository.h, ModelFingerprint): config.pbtxt's bytes or another file of the
// model folder changed → every version reloads; a version folder's tree (paths, sizes, mtimes)
// changed → that version reloads; the version policy picks the versions to serve from the folders
// present. A load with a config override always reloads every version (as does the next load
// without one, which undoes it — Triton's rule).
// Unload (and versions a reload drops): taken out of the table at once (new requests 404 "unknown
// model"), batch delays skipped, then wait until no request holds the version any more (in-flight
// and queued ones finish) for at most drain_timeout; after that the requests still queued fail
// Unavailable "model 'x' was unloaded" and only the batches already executing finish. Then its
// batcher stops and its instances are freed. The call returns after the drain.
// Names: validateModelName (model_repository.h) is checked first — before any file system access
// or state — and a bad name fails InvalidArgument. State is kept only for model folders of the
// repository and served models: loading or unloading an unknown name leaves nothing behind
// (an unload of a model not loaded answers OK, as Triton's does).
// Client-facing messages name models and paths relative to the repository (the repository's own
// path is cut out); the server log keeps the full paths.
// Operations run one at a time on the control thread (which also polls); load()/unload() block the
// caller until done, loadAsync()/unloadAsync() call back on the control thread. At most
// kMaxPendingOperations wait; more fail ResourceExhausted at once (503 + Retry-After over HTTP).
// A request equal to the newest one queued for its model joins it (one operation, every caller
// gets its result).
// A config override longer than kMaxConfigOverrideBytes fails InvalidArgument.
// Versions whose instances are still loading when a load is abandoned (or fails) are never joined
// on the control thread: a detached reaper stops and frees them once their backend returns, so
// neither the control thread nor the shutdown waits for a slow load.
// Thread-safety: every public method may be called from any thread except the control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "runtime/backend_registry.h"
#include "serving/model_manager.h"
#include "serving/model_repository.h"

namespace surge::serving {

enum class ModelControlMode { kNone, kPoll, kExplicit };
const char* modelControlModeName(ModelControlMode mode);  // "none", "poll", "explicit"
StatusOr<ModelControlMode> parseModelControlMode(std::string_view name);

struct ModelControlOptions {
  ModelControlMode mode = ModelControlMode::kNone;
  // The model repository; "" = none known (the index then lists the served versions only).
  std::string repository;
  Duration poll_interval = std::chrono::seconds(15);  // Triton's --repository-poll-secs default
  Duration drain_timeout = std::chrono::seconds(30);  // longest wait for a removed version
};

// One line of the repository index (Triton's RepositoryIndex): a model never loaded has only its
// name; otherwise one entry per version (or one without version when the config could not be
// read) with state READY | LOADING | UNLOADING | UNAVAILABLE and the reason ("unloaded", the load
// error; "" when none).
struct ModelIndexEntry {
  std::string name;
  std::string version;
  std::string state;
  std::string reason;
};

// The index of the served versions alone (no repository, no control): READY / LOADING /
// UNAVAILABLE with the load error.
std::vector<ModelIndexEntry> servedIndex(const ModelManager& models, bool ready_only);

// Triton's config override: a JSON ModelConfig (as GET .../config answers) turned into
// config.pbtxt text for loadModelConfig. Fields of Triton's ModelConfig that surge's
// model_config.proto lacks are ignored (so what GET .../config answers loads back). InvalidArgument
// "Invalid config override: ..." when it is not JSON or a known field has the wrong type.
StatusOr<std::string> configOverrideToText(std::string_view json);

class ModelControl {
 public:
  ModelControl(ModelControlOptions options, ModelManager& models,
               const runtime::BackendRegistry& backends);
  ~ModelControl();  // stop()
  ModelControl(const ModelControl&) = delete;
  ModelControl& operator=(const ModelControl&) = delete;

  // Records what the served startup set was built from and starts the control thread (poll
  // timer in poll mode). Once.
  void start();
  // Asks the control thread to stop without waiting for it (the signal path): the running
  // operation is cut short (a load in progress is abandoned, a drain stops waiting and fails what
  // is queued), queued operations fail Unavailable now. Idempotent.
  void requestStop();
  // The control thread has finished (or never started).
  bool stopped() const { return finished_.load(); }
  // requestStop(), then joins the control thread (which no longer waits for any backend load).
  // Idempotent.
  void stop();

  static constexpr size_t kMaxPendingOperations = 64;
  static constexpr size_t kMaxConfigOverrideBytes = 1u << 20;

  ModelControlMode mode() const { return options_.mode; }

  // Loads or reloads `name`; `config_json`: Triton's "config" parameter (a JSON model config
  // used instead of config.pbtxt). OK once every version is ready (or nothing changed).
  // Unavailable in none/poll mode or when stopping; InvalidArgument with the reason otherwise.
  Status load(const std::string& name, std::optional<std::string> config_json = std::nullopt);
  // Unloads `name` (drains). OK also when it was not loaded.
  Status unload(const std::string& name);
  // The same, answered through `done` (on the control thread, or at once on the caller's thread
  // when refused).
  void loadAsync(const std::string& name, std::optional<std::string> config_json,
                 std::function<void(Status)> done);
  void unloadAsync(const std::string& name, std::function<void(Status)> done);

  // Every model folder of the repository and every model served or known (sorted by name, then
  // version); ready_only: READY entries only.
  std::vector<ModelIndexEntry> index(bool ready_only) const;

  // One poll pass (any mode; poll mode runs it every poll_interval). Runs on the control thread
  // and returns when done.
  void pollNow();

  // How many models model control keeps state for (tests: bounded by the repository's folders
  // and the served models).
  size_t recordCount() const;
  // Reaper threads still stopping abandoned versions, process-wide (tests wait for 0).
  static int reapersRunning();

 private:
  // What model control knows about one model.
  struct Record {
    bool served = false;                           // has versions in the table
    bool overridden = false;                       // served from a config override
    ModelFingerprint files;                        // what the served versions were built from
    std::optional<ModelFingerprint> failed_files;  // the files of the last failed attempt
    std::string reason;                            // "unloaded", the last load error
    std::vector<int64_t> loading;                  // versions being built (LOADING)
    std::vector<int64_t> unloading;                // versions draining (UNLOADING)
    std::vector<int64_t> failed;       // versions of the last failed attempt (UNAVAILABLE)
    std::vector<int64_t> unavailable;  // versions unloaded (UNAVAILABLE, "unloaded")
  };

  // Queues `task`; ResourceExhausted when kMaxPendingOperations are waiting (the task is then
  // dropped), Unavailable when stopping (the task then ran at once, answering Unavailable).
  Status post(std::function<void()> task);
  // A client's load / unload. A request equal to the newest one still queued for the same model
  // (load without override, or unload) joins it: one operation, every client answered with its
  // result; the order of a model's operations is kept.
  enum class OpKind { kLoad, kLoadOverride, kUnload };
  struct PendingOp {
    OpKind kind;
    bool started = false;                            // mu_
    std::vector<std::function<void(Status)>> done;  // mu_ until started
  };
  void submit(OpKind kind, const std::string& name, std::optional<std::string> config,
              std::function<void(Status)> done);
  void run();
  Status checkAllowed() const;
  Status doLoad(const std::string& name, const std::optional<std::string>& config_json,
                bool from_poll);
  Status doUnload(const std::string& name);
  // Waits until every one of `versions` is ready (OK), one failed (InvalidArgument "load failed
  // for model ...", the failed versions added to *failed) or stop() (Unavailable).
  Status waitReady(const std::string& name,
                   const std::vector<std::shared_ptr<ServedModel>>& versions,
                   std::vector<int64_t>* failed = nullptr);
  void doPoll();
  // Drains versions already taken out of the table; drops the metric series of version numbers
  // not served any more.
  void drain(const std::string& name, std::vector<std::shared_ptr<ServedModel>> removed);
  Record& record(const std::string& name);  // state_mu_ held
  // `message` without the repository's path (client-facing errors).
  std::string clientMessage(std::string message) const;
  // Stops and frees versions off the table: joined here when every instance is past its load,
  // else handed to a detached reaper thread (a backend may take long to return).
  void release(std::vector<std::shared_ptr<ServedModel>> versions);
  // Drops the metric series of `versions` whose (name, version) is not served.
  void dropUnservedMetrics(const std::vector<std::shared_ptr<ServedModel>>& versions);

  const ModelControlOptions options_;
  ModelManager& models_;
  const runtime::BackendRegistry& backends_;

  mutable std::mutex state_mu_;  // guards records_
  std::map<std::string, Record, std::less<>> records_;

  std::mutex mu_;  // guards the task queue and the flags below
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::map<std::string, std::shared_ptr<PendingOp>, std::less<>> last_op_;  // newest queued op
  bool started_ = false;
  bool stopping_ = false;
  std::atomic<bool> abort_{false};
  std::atomic<bool> finished_{true};  // false while the control thread runs
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace surge::serving
