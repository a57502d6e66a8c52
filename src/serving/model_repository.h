// Model repository: Triton's layout on disk, scanned once at startup.
//   REPO/<model>/config.pbtxt          the model's configuration (model_config.h)
//   REPO/<model>/<version>/...         one folder per version, a positive integer (model.pt etc.)
// Which versions are served follows the config's version_policy (default: the newest one).
// Folders whose names start with '.' are skipped; so are files next to the model folders and
// non-numeric folders inside a model (Triton does the same). Every model's errors are collected
// and reported together.
// Thread-safety: pure functions over the file system.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/backend_registry.h"
#include "serving/model_config.h"

namespace surge::serving {

struct RepositoryModel {
  ModelConfig config;
  std::vector<int64_t> versions;  // to serve, ascending (never empty)
};

// Numeric version folders of a model folder, ascending.
std::vector<int64_t> listVersions(const std::string& model_dir);

// Applies a version policy to the versions present. Errors name missing specific versions.
StatusOr<std::vector<int64_t>> selectVersions(const VersionPolicy& policy,
                                              const std::vector<int64_t>& present,
                                              const std::string& model_dir);

// Scans REPO: every model, validated, with the versions to serve (sorted by model name).
// InvalidArgument listing every problem (one per line) if any model is broken; NotFound when the
// folder is missing or holds no model.
StatusOr<std::vector<RepositoryModel>> loadRepository(const std::string& repo,
                                                      const runtime::BackendRegistry& backends);

}  // namespace surge::serving
