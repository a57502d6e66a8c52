// Small HTTP helpers shared by the control-plane server and its handlers: percent-decoding and
// JSON string escaping. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace surge::net {

// Decodes %XX escapes (invalid escapes are kept as is); '+' becomes ' ' when plus_as_space.
std::string percentDecode(std::string_view s, bool plus_as_space = false);
// Escapes `s` for use inside a JSON string literal (quotes not included): control characters
// escaped, and every byte that is not part of valid UTF-8 (RFC 3629: no overlongs, surrogates or
// code points above U+10FFFF) replaced by U+FFFD, so the result is always valid UTF-8 JSON.
std::string jsonEscape(std::string_view s);
// The same, appended to `out` (no temporary: for hot paths writing many strings).
void appendJsonEscaped(std::string& out, std::string_view s);
// Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 when s[0] starts none.
size_t utf8SequenceLength(std::string_view s);
// True when all of `s` is valid UTF-8 (RFC 3629).
bool isValidUtf8(std::string_view s);

}  // namespace surge::net
