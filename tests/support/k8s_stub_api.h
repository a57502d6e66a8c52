// K8sStubApi: a STUB Kubernetes API server for tests — it stands in for a cluster that these
// machines cannot run. Plain HTTP on 127.0.0.1:0 (net::HttpServer on its own thread), serving just
// the endpoints surge uses, shaped as the Kubernetes API reference documents them:
//   GET/PUT/PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale   (autoscaling/v1 Scale;
//       PUT/PATCH with a stale metadata.resourceVersion → 409 Conflict)
//   GET /api/v1/namespaces/{ns}/pods?labelSelector=...                      (PodList)
//   GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods?labelSelector=... (PodMetricsList)
//   GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=...
//       list, or watch=1&resourceVersion=RV (one JSON WatchEvent per line, chunked; a
//       resourceVersion older than the compacted history → an ERROR event with a 410 Status, or
//       HTTP 410 with setGoneAsHttp(true); timeoutSeconds ends the stream)
// Errors are metav1.Status bodies. Tests script it (objects, conflicts, injected 401/403/404/5xx,
// closing watches) and read back what it received. It is not a fake cluster: no controllers run,
// nothing happens unless the test makes it happen.
// Thread-safety: every method may be called from the test thread while the server runs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace surge::testing {

struct StubRequest {
  std::string method;
  std::string target;  // path + query as received
  std::string path;
  std::string body;
  std::string authorization;  // the Authorization header
  std::string content_type;
};

class K8sStubApi {
 public:
  K8sStubApi();  // binds 127.0.0.1:0 and starts serving
  ~K8sStubApi();
  K8sStubApi(const K8sStubApi&) = delete;
  K8sStubApi& operator=(const K8sStubApi&) = delete;

  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"

  // Requests without "Authorization: Bearer <token>" get 401 (when a token is required).
  void requireToken(const std::string& token);
  // The next `count` requests whose target contains `path_substring` answer `http_code` with a
  // Status body (e.g. 403 Forbidden, 404 NotFound, 500).
  void failNext(int http_code, int count = 1, const std::string& path_substring = "");

  // Deployments (their scale subresource).
  void setDeployment(const std::string& ns, const std::string& name, int spec_replicas,
                     int status_replicas, const std::string& selector);
  std::optional<int> specReplicas(const std::string& ns, const std::string& name) const;
  // The next `n` scale writes find the object changed by "another writer": its resourceVersion is
  // bumped first, so a write carrying the old one gets 409 Conflict.
  void conflictNextWrites(int n);

  // Pods and their metrics (whole objects; labels in metadata.labels are matched by the
  // equality-based labelSelector).
  void setPods(const std::string& ns, std::vector<nlohmann::json> pods);
  void setPodMetrics(const std::string& ns, std::vector<nlohmann::json> pod_metrics);

  // EndpointSlices: put = ADDED/MODIFIED, delete = DELETED, each with a new resourceVersion.
  void putEndpointSlice(const std::string& ns, nlohmann::json slice);
  void deleteEndpointSlice(const std::string& ns, const std::string& name);
  // Forgets the event history: watches from an older resourceVersion get 410 Gone.
  void compact();
  void setGoneAsHttp(bool as_http);
  // Ends every open watch stream (the client must reconnect).
  void closeWatches();
  int openWatches() const;
  std::string resourceVersion() const;  // the current global resourceVersion

  std::vector<StubRequest> requests() const;
  // Requests with this method whose target contains `substring`.
  int count(const std::string& method, const std::string& substring) const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Helpers to build objects in the documented shapes.
nlohmann::json stubPod(const std::string& name, const nlohmann::json& labels,
                       const std::string& ip, bool ready, const std::string& cpu_request,
                       const std::string& memory_request);
// endpoints: [{"addresses": ["10.0.0.1"], "conditions": {...}, "zone": "a"}, ...]
nlohmann::json stubEndpointSlice(const std::string& name, const std::string& service,
                                 int port, nlohmann::json endpoints);
nlohmann::json stubEndpoint(const std::string& address, bool ready, bool terminating,
                            const std::string& zone);

}  // namespace surge::testing
