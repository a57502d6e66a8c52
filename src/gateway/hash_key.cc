#include "gateway/hash_key.h"

#include "common/hash.h"

namespace surge::gateway {

using net::HeaderId;

std::optional<std::string_view> rawQueryParam(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> cookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    size_t semi = cookies.find(';');
    std::string_view pair = cookies.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> hashKeyValue(const HashKeySource& source,
                                             const net::HeadParser& head) {
  std::optional<std::string_view> v;
  switch (source.kind) {
    case HashKeySource::Kind::kHeader:
      if (const auto* f = head.find(source.name)) v = f->value;
      break;
    case HashKeySource::Kind::kQuery:
      v = rawQueryParam(head.target(), source.name);
      break;
    case HashKeySource::Kind::kCookie:
      for (size_t i = 0; i < head.headerCount() && !v; ++i) {
        const auto& f = head.header(i);
        if (f.id == HeaderId::kCookie) v = cookieValue(f.value, source.name);
      }
      break;
  }
  if (!v || v->empty()) return std::nullopt;
  return v;
}

std::optional<uint64_t> hashKey(const HashKeySource& source, const net::HeadParser& head) {
  std::optional<std::string_view> v = hashKeyValue(source, head);
  if (!v) return std::nullopt;
  return hash64(*v);
}

}  // namespace surge::gateway
