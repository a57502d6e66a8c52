// Shared checks for the fuzz harnesses: a violated property aborts (libFuzzer records the input,
// the replay test fails).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

namespace surge::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz property violated: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Aborts unless `body` is one valid UTF-8 JSON document. nlohmann's parser rejects invalid UTF-8
// (RFC 3629) in strings and anything but ASCII outside them, so it is the oracle for both, and an
// independent one: surge's own escaper (net::appendJsonEscaped) is what is under test.
inline void requireJson(std::string_view body, const char* what) {
  if (!nlohmann::json::accept(body)) fail(what, body.substr(0, 200));
}

}  // namespace surge::fuzz
