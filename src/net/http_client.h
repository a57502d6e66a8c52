// The control-plane HTTP client: every blocking call surge makes to another HTTP server that is
// not load traffic — metric scrapes, Prometheus queries (KEDA triggers), the gateway admin API,
// readiness probes of local replicas, `surge load`'s metadata and /metrics calls, and the
// Kubernetes API (including watch streams). One request per call over libcurl: http and https
// (a CA file or PEM, optional client certificate, or insecure_skip_verify), IPv6 literals
// ("http://[::1]:9090"), a connect timeout and a whole-request timeout, a response body limit
// enforced while receiving, bearer/basic auth and custom headers. Never a proxy from the
// environment (http_proxy/https_proxy/no_proxy are ignored unless `proxy` is set), never a
// redirect followed (a 3xx is a result), sockets close-on-exec. Decisions:
// docs/design/http-client.md.
// Errors are Status values naming the method and URL: Unavailable "GET http://127.0.0.1:1/metrics:
// connect: Connection refused", DeadlineExceeded "GET ...: no response within 1s",
// InvalidArgument "unsupported URL scheme 'ftp' in 'ftp://x' (supported: http, https)".
// Any HTTP status is a result; the caller judges it.
// URLs and header lists: net/url.h. Link target: surge_http_client (libcurl stays out of
// surge_net).
// Thread-safety: free functions; calls from several threads are independent (curl_global_init
// runs once; each call has its own easy handle). Complexity: one TCP (+TLS) connection per call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/url.h"

namespace surge::net {

// ---- requests -----------------------------------------------------------------------------------

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;  // besides the options' headers and auth
  std::string body;    // sent for any method when non-empty, and always for POST/PUT/PATCH
  std::string content_type;  // Content-Type of `body` ("" = none)
};

struct ClientOptions {
  Duration connect_timeout = std::chrono::seconds(1);  // TCP connect + TLS handshake
  // The whole call: connect, send, the complete response. Zero = none (watch streams).
  Duration timeout = std::chrono::seconds(2);
  uint64_t max_body_bytes = 16ull << 20;  // a longer response body fails the call

  // TLS (https only). Trust: `ca_file` or `ca_pem`, or the system store when both are empty.
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_verify = false;  // no certificate or host name check
  std::string client_cert_file, client_cert_pem;  // optional client certificate (PEM) ...
  std::string client_key_file, client_key_pem;    // ... and its key

  // Auth: "Authorization: Bearer <token>"; `bearer_token_file` is re-read on every call (rotated
  // service-account tokens) and wins over `bearer_token`. Basic auth when `username` is set.
  std::string bearer_token;
  std::string bearer_token_file;
  std::string username, password;
  HeaderList headers;  // sent with every request (e.g. X-Scope-OrgID)

  std::string user_agent = "surge";
  std::string proxy;  // "" = direct, whatever the environment says; "http://proxy:3128" = via it
  bool tcp_keepalive = false;

  // connect_timeout = timeout = t.
  static ClientOptions withTimeout(Duration t);
};

struct ClientResponse {
  int status = 0;
  std::string content_type;  // "" when the answer had none
  HeaderList headers;        // as received (names as sent by the server)
  std::string body;          // de-chunked
  bool stopped = false;      // httpStream: ended early by on_data or *stop

  // Case-insensitive header lookup (first match).
  std::optional<std::string_view> header(std::string_view name) const;
};

// One request. Errors are transport failures only (see the file comment), plus
// ResourceExhausted "...: response body over N bytes" and the option errors
// ("...: cannot read bearer_token_file /x: No such file or directory",
// "...: TLS: the CA file /x cannot be read" ...).
StatusOr<ClientResponse> httpCall(const ClientRequest& request, const ClientOptions& options);

// GET `url`.
StatusOr<ClientResponse> httpGet(std::string_view url, const ClientOptions& options = {});

// Streams a response body: a 2xx answer's bytes go to `on_data` as they arrive (not stored in the
// result, not bounded by max_body_bytes); any other answer's body is stored as httpCall does.
// Returns when the body ends, when on_data returns false or *stop becomes true (checked at
// least every ~100 ms; result.stopped = true), or on a transport error.
StatusOr<ClientResponse> httpStream(const ClientRequest& request, const ClientOptions& options,
                                    const std::function<bool(std::string_view)>& on_data,
                                    const std::atomic<bool>* stop = nullptr);

// "1s", "200ms", "1.5s": how durations appear in the client's messages.
std::string formatDuration(Duration d);

}  // namespace surge::net
