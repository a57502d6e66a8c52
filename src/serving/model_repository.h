// Model repository: Triton's layout on disk, scanned at startup and, under model control
// (model_control.h), again for one model (load) or the whole repository (poll).
//   REPO/<model>/config.pbtxt          the model's configuration (model_config.h)
//   REPO/<model>/<version>/...         one folder per version, a positive integer (model.pt etc.)
// Which versions are served follows the config's version_policy (default: the newest one).
// Folders whose names start with '.' are skipped; so are files next to the model folders and
// non-numeric folders inside a model (Triton does the same). Every model's errors are collected
// and reported together.
// Thread-safety: pure functions over the file system.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/backend_registry.h"
#include "serving/model_config.h"

namespace surge::serving {

struct RepositoryModel {
  ModelConfig config;
  std::vector<int64_t> versions;  // to serve, ascending (never empty)
};

// The longest model name accepted, in bytes (a file name's limit on common file systems).
constexpr size_t kMaxModelNameBytes = 255;

// OK when `name` can name a model folder of the repository: 1..kMaxModelNameBytes bytes of valid
// UTF-8 without control characters (NUL, C0, DEL, C1), '/' or '\\', not "." or ".." and not
// starting with '.' (hidden folders are not models). InvalidArgument otherwise, naming the name
// through printableName() and the reason. Checked before any file system access.
Status validateModelName(std::string_view name);

// `s` safe for a log line or an error message: printable ASCII kept, every other byte (and '\\')
// as \xNN, at most the first 64 bytes (then "...").
std::string printableName(std::string_view s);

// Numeric version folders of a model folder, ascending.
std::vector<int64_t> listVersions(const std::string& model_dir);

// Applies a version policy to the versions present. Errors name missing specific versions.
StatusOr<std::vector<int64_t>> selectVersions(const VersionPolicy& policy,
                                              const std::vector<int64_t>& present,
                                              const std::string& model_dir);

// The model folders of REPO (names, sorted; hidden folders skipped, and folders whose names fail
// validateModelName, logged once per name). NotFound when REPO is not a folder.
StatusOr<std::vector<std::string>> listModelFolders(const std::string& repo);

// Scans one model folder REPO/NAME: its config (config.pbtxt, or `config_text` when given — a
// load's config override, protobuf text), validated, and the versions to serve. InvalidArgument
// for a bad name (validateModelName, before touching the file system); NotFound only when the
// folder does not exist; any other problem (no config.pbtxt, unreadable — EACCES and the like —
// or invalid config, no version) is InvalidArgument.
StatusOr<RepositoryModel> scanModel(const std::string& repo, const std::string& name,
                                    const runtime::BackendRegistry& backends,
                                    const std::string* config_text = nullptr);

// What decides whether a served model changed on disk (model control):
//   config    hash of config.pbtxt's bytes and of the (name, size, mtime) of every other file
//             directly in the model folder (labels files);
//   versions  per numeric version folder, hash of the (relative path, size, mtime) of everything
//             under it, recursively.
// mtime has nanosecond resolution where the file system has; a file rewritten with the same size
// inside one mtime tick goes unnoticed (Triton compares mtimes only).
struct ModelFingerprint {
  uint64_t config = 0;
  std::map<int64_t, uint64_t> versions;
  bool operator==(const ModelFingerprint&) const = default;
};
ModelFingerprint fingerprintModel(const std::string& model_dir);

// Poll mode's startup set: every model folder that scans cleanly; the others are left out (the
// control's first poll records them UNAVAILABLE with the reason). An empty repository is no
// error; NotFound when REPO is not a folder.
StatusOr<std::vector<RepositoryModel>> loadRepositoryValid(
    const std::string& repo, const runtime::BackendRegistry& backends);

// Explicit model control's startup set: the models named (each scanned as scanModel; every error
// reported together, one per line, InvalidArgument), or every model folder when `names` is
// {"*"} (Triton's --load-model=*; an empty repository is then no error); {} = none.
StatusOr<std::vector<RepositoryModel>> loadRepositoryModels(
    const std::string& repo, const std::vector<std::string>& names,
    const runtime::BackendRegistry& backends);

// Scans REPO: every model, validated, with the versions to serve (sorted by model name).
// InvalidArgument listing every problem (one per line) if any model is broken; NotFound when the
// folder is missing or holds no model.
StatusOr<std::vector<RepositoryModel>> loadRepository(const std::string& repo,
                                                      const runtime::BackendRegistry& backends);

}  // namespace surge::serving
