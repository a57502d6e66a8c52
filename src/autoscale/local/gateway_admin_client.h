// GatewayAdminClient: the gateway's admin API (docs/gateway.md) as blocking calls — add a backend,
// drain or remove it, change its weight, read its state — for the local actuator. Each call is one
// request through the control-plane client (net/http_client.h), bounded by the client's timeout
// (connect, send and the whole response). Complexity: one TCP connection per call.
// Thread-safety: a client is immutable after construction; calls from several threads are
// independent.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/http_client.h"

namespace surge::autoscale {

struct BackendState {
  std::string address;
  int32_t weight = 0;
  std::string health;  // healthy, unhealthy, ejected, draining
  bool draining = false;
  int64_t in_flight = 0;
  int64_t requests = 0;
};

class GatewayAdminClient {
 public:
  // `admin_url`: "http://127.0.0.1:9901" or "http://host:port/" (https:// too; no path).
  // `token` "" = no Authorization header. InvalidArgument names a bad URL.
  static StatusOr<GatewayAdminClient> create(const std::string& admin_url,
                                             const std::string& token,
                                             Duration timeout = std::chrono::seconds(2));

  // POST /backends. A backend that is already there (409) counts as success.
  Status addBackend(const std::string& address, int32_t weight, const std::string& zone);
  // DELETE /backends/{address}?drain=true: no new requests; the gateway removes it when its
  // in-flight count reaches 0 (or its drain_timeout passes). Returns true when it was removed at
  // once (nothing in flight), false while it drains. NotFound when the gateway does not know it.
  StatusOr<bool> drainBackend(const std::string& address);
  // DELETE /backends/{address}: removed at once (requests in flight still complete).
  Status removeBackend(const std::string& address);
  // PATCH /backends/{address} {"weight": N}.
  Status setWeight(const std::string& address, int32_t weight);
  // GET /backends/{address}; nullopt when the gateway does not have it (404).
  StatusOr<std::optional<BackendState>> getBackend(const std::string& address);
  // GET /backends.
  StatusOr<std::vector<BackendState>> listBackends();

  const std::string& url() const { return url_; }

 private:
  GatewayAdminClient() = default;
  StatusOr<net::ClientResponse> call(const std::string& method, const std::string& target,
                                     const std::string& body);
  Status expect(const StatusOr<net::ClientResponse>& reply, std::initializer_list<int> ok,
                const std::string& what) const;

  std::string url_;
  std::string origin_;  // "http://127.0.0.1:9901"
  net::ClientOptions options_;
};

}  // namespace surge::autoscale
