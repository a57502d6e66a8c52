#include "serving/model_repository.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace surge::serving {

namespace fs = std::filesystem;

std::vector<int64_t> listVersions(const std::string& model_dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(model_dir, ec)) {
    if (!e.is_directory(ec)) continue;
    std::string name = e.path().filename().string();
    int64_t v = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (err != std::errc() || p != name.data() + name.size() || v < 1 || name[0] == '0') continue;
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<std::vector<int64_t>> selectVersions(const VersionPolicy& policy,
                                              const std::vector<int64_t>& present,
                                              const std::string& model_dir) {
  if (present.empty()) {
    return invalidArgument(model_dir + ": no version folder (want " + model_dir + "/1/...)");
  }
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll:
      return present;
    case VersionPolicy::Kind::kSpecific: {
      std::vector<int64_t> out;
      for (int64_t v : policy.versions) {
        if (!std::binary_search(present.begin(), present.end(), v)) {
          return invalidArgument(model_dir + ": version_policy names version " + std::to_string(v) +
                                 " but " + model_dir + "/" + std::to_string(v) + " does not exist");
        }
        out.push_back(v);
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    case VersionPolicy::Kind::kLatest:
    default: {
      size_t n = std::min(present.size(), static_cast<size_t>(std::max(1, policy.num_versions)));
      return std::vector<int64_t>(present.end() - static_cast<std::ptrdiff_t>(n), present.end());
    }
  }
}

StatusOr<std::vector<RepositoryModel>> loadRepository(const std::string& repo,
                                                      const runtime::BackendRegistry& backends) {
  std::error_code ec;
  if (!fs::is_directory(repo, ec))
    return notFound("model repository '" + repo + "' is not a folder");
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(repo, ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || !e.is_directory(ec)) continue;
    dirs.push_back(e.path());
  }
  if (ec) return notFound("model repository '" + repo + "': " + ec.message());
  std::sort(dirs.begin(), dirs.end());
  std::vector<RepositoryModel> models;
  std::vector<std::string> errors;
  for (const auto& dir : dirs) {
    std::string name = dir.filename().string();
    fs::path config = dir / "config.pbtxt";
    if (!fs::exists(config, ec)) {
      errors.push_back(dir.string() + ": missing config.pbtxt");
      continue;
    }
    auto c = loadModelConfigFile(config.string(), name, backends);
    if (!c.isOk()) {
      errors.push_back(c.status().message());
      continue;
    }
    auto versions = selectVersions(c->version_policy, listVersions(dir.string()), dir.string());
    if (!versions.isOk()) {
      errors.push_back(versions.status().message());
      continue;
    }
    RepositoryModel m{std::move(c).value(), std::move(versions).value()};
    m.config.spec.model_dir = dir.string();
    models.push_back(std::move(m));
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return invalidArgument(msg);
  }
  if (models.empty()) return notFound("model repository '" + repo + "' holds no model folder");
  return models;
}

}  // namespace surge::serving
