#include "runtime/backend_registry.h"

#include <algorithm>

namespace surge::runtime {

int ModelSpec::inputIndex(std::string_view n) const {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name == n) return static_cast<int>(i);
  }
  return -1;
}

int ModelSpec::outputIndex(std::string_view n) const {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].name == n) return static_cast<int>(i);
  }
  return -1;
}

void BackendRegistry::add(std::unique_ptr<Backend> backend, std::vector<std::string> platforms) {
  SURGE_CHECK(backend != nullptr);
  SURGE_CHECK(find(backend->name()) == nullptr);
  for (const auto& p : platforms) {
    for (const auto& e : entries_) {
      SURGE_CHECK(std::find(e.platforms.begin(), e.platforms.end(), p) == e.platforms.end());
    }
  }
  entries_.push_back({std::move(backend), std::move(platforms)});
}

Backend* BackendRegistry::find(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e.backend->name() == name) return e.backend.get();
  }
  return nullptr;
}

std::vector<std::string> BackendRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.emplace_back(e.backend->name());
  return out;
}

StatusOr<Backend*> BackendRegistry::resolve(std::string_view backend,
                                            std::string_view platform) const {
  auto known = [this] {
    std::string s;
    for (const auto& e : entries_) {
      if (!s.empty()) s += ", ";
      s += e.backend->name();
      for (const auto& p : e.platforms) s += " (platform " + p + ")";
    }
    return s.empty() ? std::string("none") : s;
  };
  Backend* by_platform = nullptr;
  if (!platform.empty()) {
    for (const auto& e : entries_) {
      if (std::find(e.platforms.begin(), e.platforms.end(), platform) != e.platforms.end()) {
        by_platform = e.backend.get();
      }
    }
  }
  if (!backend.empty()) {
    Backend* b = find(backend);
    if (b == nullptr) {
      return notFound("unknown backend '" + std::string(backend) + "' (known: " + known() + ")");
    }
    if (!platform.empty() && by_platform != b) {
      return invalidArgument("platform '" + std::string(platform) + "' does not match backend '" +
                             std::string(backend) + "'");
    }
    return b;
  }
  if (platform.empty()) {
    return invalidArgument("neither 'backend' nor 'platform' is set (known: " + known() + ")");
  }
  if (by_platform == nullptr) {
    return notFound("unknown platform '" + std::string(platform) + "' (known: " + known() + ")");
  }
  return by_platform;
}

}  // namespace surge::runtime
