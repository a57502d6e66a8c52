// HashKey: where a request's consistent-hash key comes from (balancer consistent_hash, Maglev or
// ring): the configured header, raw query parameter or cookie of the parsed request head, hashed
// with hash64. The proxy calls it once per request when the balancer wants a key and passes the
// result in lb::PickContext::hash_key.
// Rules (docs/design/gateway.md, "Policies"; tested in hash_key_test.cc):
//   - header: the first field with that name (case-insensitive), its value OWS-trimmed as parsed;
//   - query: the raw value of the first `name=` pair in the target's query (pairs split on '&',
//     name case-sensitive, no percent-decoding: a stable key is all a balancer needs); a bare
//     `name` without '=' has an empty value;
//   - cookie: the first `name=value` pair with that (case-sensitive) name in the first Cookie
//     field that has one (pairs split on ';', leading spaces skipped, value verbatim);
//   - an absent or empty value means no key (the balancer then picks without one).
// Zero-copy: the value is a view into the parser's buffer; no allocation.
// Complexity: O(head bytes). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "gateway/gateway_config.h"
#include "net/http_parser.h"

namespace surge::gateway {

// The raw value of query parameter `name` in `target`, or nullopt when there is none.
std::optional<std::string_view> rawQueryParam(std::string_view target, std::string_view name);
// The value of cookie `name` in one Cookie field value ("a=1; b=2"), or nullopt.
std::optional<std::string_view> cookieValue(std::string_view cookies, std::string_view name);

// The key's source value in a parsed request head; nullopt when absent or empty.
std::optional<std::string_view> hashKeyValue(const HashKeySource& source,
                                             const net::HeadParser& head);
// hash64 of hashKeyValue, or nullopt.
std::optional<uint64_t> hashKey(const HashKeySource& source, const net::HeadParser& head);

}  // namespace surge::gateway
