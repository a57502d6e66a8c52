// Small HTTP helpers shared by the control-plane server and its handlers: percent-decoding and
// JSON string escaping. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace surge::net {

// Decodes %XX escapes (invalid escapes are kept as is); '+' becomes ' ' when plus_as_space.
std::string percentDecode(std::string_view s, bool plus_as_space = false);
// Escapes `s` for use inside a JSON string literal (quotes not included).
std::string jsonEscape(std::string_view s);
// The same, appended to `out` (no temporary: for hot paths writing many strings).
void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace surge::net
