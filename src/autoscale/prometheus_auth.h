// How surge authenticates to a Prometheus server: the equivalent of KEDA's TriggerAuthentication
// for the prometheus scaler, with secrets read from files instead of Kubernetes Secrets.
// autoscale.yaml names each block under `trigger_authentications:` and a trigger refers to it
// with KEDA's `authenticationRef: {name: ...}`; the trigger's metadata `authModes`
// (bearer,basic,tls,custom), `unsafeSsl` and `customHeaders` keep KEDA's meaning.
//
//   trigger_authentications:
//     prometheus-auth:
//       bearer_token_file: /var/run/secrets/prometheus/token   # bearer  (KEDA bearerToken)
//       bearer_token: ...                                      #   or inline
//       username: surge                                        # basic   (KEDA username)
//       password_file: /var/run/secrets/prometheus/password    #   (KEDA password; or password)
//       ca_file: /etc/prometheus/ca.pem                        # server CA (KEDA ca)
//       cert_file: client.pem                                  # tls     (KEDA cert)
//       key_file: client-key.pem                               #   (KEDA key)
//       custom_auth_header: X-Api-Key                          # custom  (KEDA customAuthHeader)
//       custom_auth_value_file: /var/run/secrets/key           #   (KEDA customAuthValue)
//       insecure_skip_verify: false                            # KEDA unsafeSsl
//       headers: {X-Scope-OrgID: team-a}                       # KEDA customHeaders
//
// Files must be readable when the config is loaded (an error names file:line:col and the field);
// token, password and custom-value files are re-read on every query (rotated secrets).
// Applied to a query's client options by applyPrometheusAuth (sources/prometheus_client.h).
// Reference and examples: docs/metric-sources.md. Thread-safety: plain values, pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/node.h"
#include "net/url.h"

namespace surge::autoscale {

struct PrometheusAuth {
  std::string bearer_token, bearer_token_file;
  std::string username, password, password_file;
  std::string ca_file, cert_file, key_file;
  std::string custom_auth_header, custom_auth_value, custom_auth_value_file;
  bool insecure_skip_verify = false;
  net::HeaderList headers;
  std::string location;  // "autoscale.yaml:31:5" of the block ("" when none was given)

  bool hasBearer() const { return !bearer_token.empty() || !bearer_token_file.empty(); }
  bool hasBasic() const { return !username.empty(); }
  bool hasTls() const { return !cert_file.empty(); }
  bool hasCustom() const { return !custom_auth_header.empty(); }

};

using TriggerAuthentications = std::map<std::string, PrometheusAuth>;

// One auth block (a map). Errors name file:line:col and the field.
StatusOr<PrometheusAuth> parsePrometheusAuth(const config::Node& node);
// The `trigger_authentications` map: name → block.
StatusOr<TriggerAuthentications> parseTriggerAuthentications(const config::Node& node);

// KEDA's comma-separated metadata lists ("k1=v1, k2=v2"): items trimmed of spaces, empty items
// skipped; `what` names the key in the error ("expected Name=value pairs ...").
StatusOr<std::vector<std::pair<std::string, std::string>>> parseCommaPairs(const config::Node& node,
                                                                           std::string_view what);

// KEDA's `customHeaders` metadata: "Name1=value1,Name2=value2".
StatusOr<net::HeaderList> parseCustomHeaders(const config::Node& node);

}  // namespace surge::autoscale
