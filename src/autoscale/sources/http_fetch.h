// httpGet: a small blocking HTTP/1.1 GET client for the autoscaler's metric sources (scraping
// replicas' and the gateway's /metrics, querying Prometheus' /api/v1/query). One request per
// connection (Connection: close); POSIX sockets with a non-blocking connect bounded by
// connect_timeout and the whole response bounded by read_timeout; the response is framed by
// net::HeadParser/BodyDecoder (Content-Length, chunked, until close). http:// only (no TLS).
// Hostnames are resolved with getaddrinfo (blocking; fine for 127.0.0.1/localhost/service names).
// Thread-safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace surge::autoscale {

struct HttpFetchOptions {
  Duration connect_timeout = std::chrono::seconds(1);
  Duration read_timeout = std::chrono::seconds(1);  // from the request sent to the last body byte
  uint64_t max_body_bytes = 16ull * 1024 * 1024;
};

struct HttpFetchResult {
  int status = 0;
  std::string content_type;
  std::string body;  // de-chunked
};

struct HttpUrl {
  std::string host;  // "127.0.0.1", "prometheus", "::1" (brackets removed)
  uint16_t port = 80;
  std::string target;  // path and query, "/" when the URL has none
};

// Parses "http://host[:port][/path][?query]" or "host:port[/path]" (scheme optional). Errors:
// InvalidArgument "unsupported URL scheme 'https' in '...' (only http:// is supported)",
// "malformed URL '...': ...".
StatusOr<HttpUrl> parseHttpUrl(std::string_view url);

// GET `url`. Any HTTP status is a result (the caller judges it); errors are transport failures:
// Unavailable "GET http://127.0.0.1:1/metrics: connect: Connection refused",
// DeadlineExceeded "GET ...: no response within 1s", Unavailable "...: malformed response".
StatusOr<HttpFetchResult> httpGet(std::string_view url, const HttpFetchOptions& options = {});

// Percent-encodes `s` for a query component like Go's url.QueryEscape (space → '+'; unreserved
// A-Z a-z 0-9 - _ . ~ kept).
std::string queryEscape(std::string_view s);

}  // namespace surge::autoscale
