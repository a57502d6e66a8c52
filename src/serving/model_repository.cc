#include "serving/model_repository.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "common/hash.h"
#include "common/logging.h"

namespace surge::serving {

namespace fs = std::filesystem;

namespace {

// Length of the UTF-8 sequence at s[i] (1..4), 0 when invalid (overlong, surrogate, > U+10FFFF,
// truncated). *cp receives the code point.
size_t utf8At(std::string_view s, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

}  // namespace

std::string printableName(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t n = std::min<size_t>(s.size(), 64);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

Status validateModelName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("invalid model name '" + printableName(name) + "': " + why);
  };
  if (name.empty()) return invalidArgument("invalid model name: empty");
  if (name.size() > kMaxModelNameBytes) {
    return bad("longer than " + std::to_string(kMaxModelNameBytes) + " bytes (" +
               std::to_string(name.size()) + ")");
  }
  if (name == "." || name == "..") return bad("not a folder name");
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    size_t n = utf8At(name, i, &cp);
    if (n == 0) return bad("not valid UTF-8");
    if (cp == 0) return bad("contains a NUL byte");
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return bad("contains a control character");
    }
    if (cp == '/' || cp == '\\') return bad("contains a path separator");
    i += n;
  }
  if (name[0] == '.') return bad("starts with '.' (hidden folders are not models)");
  return Status::ok();
}

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

StatusOr<std::vector<std::string>> listModelFolders(const std::string& repo) {
  std::error_code ec;
  if (!fs::is_directory(repo, ec))
    return notFound("model repository '" + repo + "' is not a folder");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(repo, ec)) {
    std::string name = e.path().filename().string();
    std::error_code dir_ec;
    if (name.empty() || name[0] == '.' || !e.is_directory(dir_ec)) continue;
    if (Status valid = validateModelName(name); !valid.isOk()) {
      // Logged once per name (bounded: the repository's owner makes these, not clients).
      static std::mutex mu;
      static std::set<std::string> warned;
      std::lock_guard lock(mu);
      if (warned.size() < 4096 && warned.insert(name).second) {
        SURGE_LOG(kWarn, "serve", "model repository: skipping folder: " + valid.message());
      }
      continue;
    }
    names.push_back(std::move(name));
  }
  if (ec) return notFound("model repository '" + repo + "': " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<RepositoryModel> scanModel(const std::string& repo, const std::string& name,
                                    const runtime::BackendRegistry& backends,
                                    const std::string* config_text) {
  RETURN_IF_ERROR(validateModelName(name));
  std::error_code ec;
  fs::path dir = fs::path(repo) / name;
  if (!fs::is_directory(dir, ec)) {
    return notFound("no model folder '" + dir.string() + "' in the model repository");
  }
  fs::path config = dir / "config.pbtxt";
  if (config_text == nullptr) {
    if (!fs::exists(config, ec)) {
      return invalidArgument(dir.string() + ": missing config.pbtxt" +
                             (ec ? " (" + ec.message() + ")" : std::string()));
    }
    // Unreadable (EACCES, a folder, ...) is the model's error, not a missing model.
    std::FILE* f = std::fopen(config.c_str(), "rb");
    int error = f == nullptr ? errno : 0;
    if (f != nullptr) {
      errno = 0;
      std::fgetc(f);
      if (std::ferror(f)) error = errno != 0 ? errno : EIO;
      std::fclose(f);
    }
    if (error != 0) {
      return invalidArgument(config.string() + ": cannot read: " + std::strerror(error));
    }
  }
  StatusOr<ModelConfig> c = config_text != nullptr
                                ? loadModelConfig(*config_text, "config override", name, backends)
                                : loadModelConfigFile(config.string(), name, backends);
  if (!c.isOk()) {
    if (c.status().code() == StatusCode::kNotFound) return invalidArgument(c.status().message());
    return c.status();
  }
  auto versions = selectVersions(c->version_policy, listVersions(dir.string()), dir.string());
  if (!versions.isOk()) return versions.status();
  RepositoryModel m{std::move(c).value(), std::move(versions).value()};
  m.config.spec.model_dir = dir.string();
  return m;
}

namespace {

void mixEntry(std::string& acc, const fs::directory_entry& e, const std::string& rel) {
  std::error_code ec;
  acc += rel;
  acc += '\0';
  if (e.is_regular_file(ec)) acc += std::to_string(e.file_size(ec));
  acc += '\0';
  auto t = e.last_write_time(ec);
  if (!ec) acc += std::to_string(t.time_since_epoch().count());
  acc += '\n';
}

uint64_t fingerprintTree(const fs::path& dir) {
  std::vector<std::pair<std::string, fs::directory_entry>> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    entries.emplace_back(fs::relative(it->path(), dir, ec).string(), *it);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string acc;
  for (const auto& [rel, e] : entries) mixEntry(acc, e, rel);
  return hash64(acc);
}

}  // namespace

ModelFingerprint fingerprintModel(const std::string& model_dir) {
  ModelFingerprint out;
  std::error_code ec;
  std::vector<std::pair<std::string, fs::directory_entry>> files;
  for (const auto& e : fs::directory_iterator(model_dir, ec)) {
    std::error_code e_ec;
    if (e.is_directory(e_ec)) continue;
    files.emplace_back(e.path().filename().string(), e);
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string acc;
  for (const auto& [name, e] : files) {
    if (name == "config.pbtxt") {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      acc += "config.pbtxt";
      acc += '\0';
      acc += text.str();
      acc += '\n';
    } else {
      mixEntry(acc, e, name);
    }
  }
  out.config = hash64(acc);
  for (int64_t v : listVersions(model_dir)) {
    out.versions[v] = fingerprintTree(fs::path(model_dir) / std::to_string(v));
  }
  return out;
}

StatusOr<std::vector<RepositoryModel>> loadRepositoryModels(
    const std::string& repo, const std::vector<std::string>& names,
    const runtime::BackendRegistry& backends) {
  ASSIGN_OR_RETURN(std::vector<std::string> folders, listModelFolders(repo));
  const bool all = names.size() == 1 && names[0] == "*";
  std::vector<RepositoryModel> models;
  std::vector<std::string> errors;
  for (const auto& name : all ? folders : names) {
    auto m = scanModel(repo, name, backends);
    if (!m.isOk()) {
      errors.push_back(m.status().message());
      continue;
    }
    models.push_back(std::move(m).value());
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return invalidArgument(msg);
  }
  return models;
}

StatusOr<std::vector<RepositoryModel>> loadRepositoryValid(
    const std::string& repo, const runtime::BackendRegistry& backends) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, listModelFolders(repo));
  std::vector<RepositoryModel> models;
  for (const auto& name : names) {
    auto m = scanModel(repo, name, backends);
    if (m.isOk()) models.push_back(std::move(m).value());
  }
  return models;
}

StatusOr<std::vector<RepositoryModel>> loadRepository(const std::string& repo,
                                                      const runtime::BackendRegistry& backends) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, listModelFolders(repo));
  std::vector<RepositoryModel> models;
  std::vector<std::string> errors;
  for (const auto& name : names) {
    auto m = scanModel(repo, name, backends);
    if (!m.isOk()) {
      errors.push_back(m.status().message());
      continue;
    }
    models.push_back(std::move(m).value());
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
