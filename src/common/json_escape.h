// JSON string escaping and UTF-8 validation, below every module (logging writes JSON lines with
// it; net/http_util.h forwards to it for the HTTP servers and the serving codecs).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace surge {

// Appends `s` escaped for use inside a JSON string literal (quotes not included): '"', '\\' and
// every control character escaped, and every byte that is not part of valid UTF-8 (RFC 3629: no
// overlongs, surrogates or code points above U+10FFFF) replaced by U+FFFD, so the result is
// always valid UTF-8 JSON.
void appendJsonEscaped(std::string& out, std::string_view s);
// The same, as a new string.
std::string jsonEscape(std::string_view s);
// Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 when s[0] starts none.
size_t utf8SequenceLength(std::string_view s);
// True when all of `s` is valid UTF-8 (RFC 3629).
bool isValidUtf8(std::string_view s);

}  // namespace surge
