// PrometheusClient: instant queries against a Prometheus HTTP API (GET /api/v1/query?query=...,
// the query URL-encoded as KEDA does), and the parser of its JSON answer: resultType "vector"
// (one sample per series) and "scalar" (one sample, no labels); values are strings in the JSON
// ("12.5", "NaN", "+Inf", "-Inf") and are returned as doubles, NaN and ±Inf included (the caller
// decides, as KEDA's ignoreNullValues does). `"status": "error"` → InvalidArgument/Unavailable
// carrying Prometheus' errorType and message; matrix and string results are errors.
// Each query is one blocking HTTP GET (net/http_client.h: http or https, the options' auth and
// TLS settings) bounded by the options' timeouts (1 s to connect, 2 s in all by default).
// Thread-safety: a client is immutable after construction; query() may run on several threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autoscale/prometheus_auth.h"
#include "common/status.h"
#include "net/http_client.h"

namespace surge::autoscale {

struct PromSample {
  std::map<std::string, std::string> labels;  // "metric" of the series (empty for a scalar)
  double timestamp = 0;                       // seconds since the Unix epoch
  double value = 0;                           // may be NaN or ±Inf
};

struct PromResult {
  std::string result_type;  // "vector" or "scalar"
  std::vector<PromSample> samples;
};

// Parses an /api/v1/query answer. http_status is the response's status: Prometheus answers
// errors with 400/422/503 and a JSON error body, which gives the message; a non-JSON body gives
// "HTTP 502: <first 200 bytes>". Errors: "prometheus: bad_data: 1:5: parse error: ...",
// "prometheus: malformed response: ...", "prometheus: result type 'matrix' is not supported ...".
StatusOr<PromResult> parsePrometheusResponse(std::string_view body, int http_status);

class PrometheusClient {
 public:
  // server_address: "http://127.0.0.1:9090" (a path prefix is kept: "http://h:9090/prom").
  explicit PrometheusClient(std::string server_address, net::ClientOptions http = {});
  // The URL queried for `promql` (for messages and tests).
  std::string queryUrl(std::string_view promql) const;
  // Runs the instant query at the server's current time.
  StatusOr<PromResult> query(std::string_view promql) const;
  const std::string& serverAddress() const { return server_; }

 private:
  std::string server_;
  net::ClientOptions http_;
};

// Sets a query's client options from an authentication block (trigger_authentications): bearer,
// basic, client certificate, CA, custom headers. Reads password_file and custom_auth_value_file
// (rotated secrets; FailedPrecondition when they cannot be read).
Status applyPrometheusAuth(const PrometheusAuth& auth, net::ClientOptions& options);

}  // namespace surge::autoscale
