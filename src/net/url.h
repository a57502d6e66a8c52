// URLs and header lists of the control-plane HTTP client (net/http_client.h), apart from it so
// that configuration parsers can validate a URL without linking libcurl. Pure functions.
// Link target: surge_url.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace surge::net {

// ---- URLs ---------------------------------------------------------------------------------------

struct Url {
  std::string scheme;  // "http" or "https" (lower case)
  std::string host;    // "127.0.0.1", "prometheus", "::1" (brackets removed)
  uint16_t port = 80;  // the scheme's default when the URL has none
  bool explicit_port = false;
  std::string target = "/";  // path and query, "/" when the URL has none

  // "host:port" ("[::1]:9090" for IPv6), port always written.
  std::string hostPort() const;
  // "scheme://host[:port]" (the port only when the URL gave one).
  std::string origin() const;
  // origin() + target.
  std::string str() const;
};

// Parses "http[s]://host[:port][/path][?query]". With `default_scheme` ("http"), a URL without
// "scheme://" ("prometheus:9090/x") takes it; otherwise the scheme is required. Errors
// (InvalidArgument): "unsupported URL scheme 'ftp' in '...' (supported: http, https)",
// "malformed URL '...': no host" / "bad port 'x'" / "user info is not supported" /
// "unterminated '['" / "no scheme (expected http:// or https://)" / "bad character in the host"
// ('%' only as an IPv6 zone inside brackets: "[fe80::1%25eth0]") / "a non-ASCII byte in the path
// or query (percent-encode it)".
StatusOr<Url> parseUrl(std::string_view url, std::string_view default_scheme = "");

// Percent-encodes `s` for a query component like Go's url.QueryEscape (space → '+'; unreserved
// A-Z a-z 0-9 - _ . ~ kept).
std::string queryEscape(std::string_view s);

// Percent-encodes `s` as ONE path segment (RFC 3986 unreserved A-Z a-z 0-9 - _ . ~ kept,
// every other byte %XX, '/' included): a model name "a b" → "a%20b", "a#b" → "a%23b", "a/b" →
// "a%2Fb". "." and ".." are written %2E and %2E%2E so they cannot act as dot-segments.
std::string pathEscape(std::string_view s);

// ---- headers ----------------------------------------------------------------------------------

using HeaderList = std::vector<std::pair<std::string, std::string>>;

}  // namespace surge::net
