// ApiClient: a small Kubernetes REST client over the control-plane HTTP client
// (net/http_client.h) — JSON GET/PUT/PATCH with timeouts and a streaming GET for watches (one
// JSON event per line). Connection settings (ApiConfig) come from
// the in-cluster service account (loadInClusterConfig) or a kubeconfig (loadKubeconfig); an
// http:// server is accepted for tests (tests/support/k8s_stub_api.h). Errors are Status values
// naming the method, the path, the HTTP code and the API's Status.message
// (docs/design/k8s.md).
// Complexity: one HTTP round trip per call; no caching.
// Thread-safety: an ApiClient may be used from several threads (each call is an independent
// request of the shared client); ApiConfig is an immutable value.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

namespace surge::k8s {

struct ApiConfig {
  std::string server;        // "https://10.96.0.1:443"; "http://127.0.0.1:PORT" for the stub
  std::string bearer_token;  // static token (kubeconfig user.token)
  std::string token_file;    // re-read on every request (projected service-account tokens rotate)
  std::string ca_file;       // PEM bundle; or:
  std::string ca_data;       // PEM text (kubeconfig certificate-authority-data, decoded)
  std::string client_cert_file, client_cert_data;  // PEM (client-certificate(-data))
  std::string client_key_file, client_key_data;    // PEM (client-key(-data))
  bool insecure_skip_tls_verify = false;
  std::string default_namespace;  // in-cluster namespace file or the context's namespace
  std::string source;             // "in-cluster" or "kubeconfig PATH (context C)", for messages
  Duration timeout = std::chrono::seconds(10);         // whole request (not watches)
  Duration connect_timeout = std::chrono::seconds(5);  // TCP + TLS handshake
};

// Where the service-account files live (overridable for tests).
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

// In-cluster config: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT (from `env`, or getenv when
// null) and the service-account token/CA/namespace. FailedPrecondition when not in a cluster.
StatusOr<ApiConfig> loadInClusterConfig(
    const InClusterPaths& paths = {},
    const std::function<std::optional<std::string>(const std::string&)>& env = nullptr);
// Kubeconfig: `context` (or current-context) → cluster server, certificate-authority(-data),
// insecure-skip-tls-verify; user token(-file) or client-certificate(-data)/client-key(-data).
// Relative file paths resolve against the kubeconfig's directory. Errors name file:line:col.
StatusOr<ApiConfig> loadKubeconfig(const std::string& path, const std::string& context = "");
StatusOr<ApiConfig> parseKubeconfig(std::string_view yaml, const std::string& source_name,
                                    const std::string& base_dir, const std::string& context = "");
// $KUBECONFIG (its first entry) or $HOME/.kube/config; "" when neither is set.
std::string defaultKubeconfigPath();
// in_cluster: "auto" (in-cluster when KUBERNETES_SERVICE_HOST is set and no kubeconfig was
// given), "true", "false". kubeconfig "" → defaultKubeconfigPath().
StatusOr<ApiConfig> resolveApiConfig(const std::string& kubeconfig, const std::string& in_cluster,
                                     const InClusterPaths& paths = {});

// Standard base64 (RFC 4648, padding optional, whitespace ignored).
StatusOr<std::string> decodeBase64(std::string_view text);

struct ApiResponse {
  int http_code = 0;
  std::string body;
};

// Non-2xx response → Status: 401/403 FailedPrecondition ("unauthorized"/"forbidden"), 404
// NotFound, 409 FailedPrecondition ("conflict"), 410 OutOfRange ("gone"), 429/5xx Unavailable,
// others InvalidArgument. Message: "GET /path: HTTP 404 (NotFound): <Status.message>".
Status apiError(const std::string& method, const std::string& path, const ApiResponse& r);
// The HTTP code carried by a Status made by apiError (0 when it has none: transport errors).
int httpCodeOf(const Status& status);

class ApiClient {
 public:
  explicit ApiClient(ApiConfig config);
  const ApiConfig& config() const { return config_; }

  // One request; transport failures (connect, TLS, timeout) are errors (Unavailable /
  // DeadlineExceeded), any HTTP answer is a response.
  StatusOr<ApiResponse> request(const std::string& method, const std::string& path,
                                const std::string& body = "",
                                const std::string& content_type = "application/json");
  // JSON helpers: non-2xx → apiError; an unparsable body → Internal.
  StatusOr<nlohmann::json> get(const std::string& path);
  StatusOr<nlohmann::json> put(const std::string& path, const nlohmann::json& body);
  StatusOr<nlohmann::json> patch(const std::string& path, const nlohmann::json& body,
                                 const std::string& content_type = "application/merge-patch+json");

  // Streaming GET (watch): calls on_event for each newline-terminated JSON object as it arrives.
  // Returns when the server ends the stream (OK), on_event returns false (OK), *stop becomes true
  // (OK), or on an error (a non-2xx answer → apiError, an
  // unparsable line → Internal, transport → Unavailable). No overall timeout; the caller bounds
  // the watch with ?timeoutSeconds=. *stop is checked while the stream waits (libcurl's progress
  // callback: at least once a second).
  Status stream(const std::string& path, const std::function<bool(const nlohmann::json&)>& on_event,
                const std::atomic<bool>* stop = nullptr);

 private:
  ApiConfig config_;
};

// Percent-encodes a query parameter value ("app=model,tier in (a,b)" → "app%3Dmodel%2C...").
std::string urlEncode(std::string_view value);

}  // namespace surge::k8s
