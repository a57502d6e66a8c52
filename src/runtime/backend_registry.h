// BackendRegistry: backends by name, chosen the way Triton does from a model's config — `backend`
// ("synthetic", "pytorch") or, when only `platform` is given, the backend that claims that platform
// ("pytorch_libtorch" → "pytorch"). The built-in table is one line per backend
// (runtime/builtin_backends.cc); tests register fakes.
// Thread-safety: add() during setup only; lookups are const and may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/backend.h"

namespace surge::runtime {

class BackendRegistry {
 public:
  // Adds a backend answering to its name() and to each of `platforms`. A duplicate name or
  // platform is a programming error.
  void add(std::unique_ptr<Backend> backend, std::vector<std::string> platforms = {});

  // The backend for a config's backend/platform pair. Both given: they must agree. NotFound
  // (listing the known names) when neither matches; InvalidArgument when both are empty or they
  // disagree.
  StatusOr<Backend*> resolve(std::string_view backend, std::string_view platform) const;
  Backend* find(std::string_view name) const;

  // Names, in registration order ("synthetic, pytorch").
  std::vector<std::string> names() const;

 private:
  struct Entry {
    std::unique_ptr<Backend> backend;
    std::vector<std::string> platforms;
  };
  std::vector<Entry> entries_;
};

}  // namespace surge::runtime
