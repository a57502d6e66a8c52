// Contract tests of the API client against the stub API server (tests/support/k8s_stub_api.h):
// auth header, error mapping (401/403/404/unreachable), watch streaming, kubeconfig parsing.
#include "k8s/api_client.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "support/k8s_stub_api.h"
#include "support/wait.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

ApiConfig stubConfig(const testing::K8sStubApi& stub, const std::string& token = "") {
  ApiConfig c;
  c.server = stub.url();
  c.bearer_token = token;
  c.timeout = std::chrono::seconds(5);
  return c;
}

TEST(ApiClient, SendsBearerTokenAndParsesJson) {
  testing::K8sStubApi stub;
  stub.requireToken("s3cret");
  stub.setDeployment("surge", "model", 2, 2, "app=model");
  ApiClient api(stubConfig(stub, "s3cret"));
  auto r = api.get("/apis/apps/v1/namespaces/surge/deployments/model/scale");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)["spec"]["replicas"], 2);
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].authorization, "Bearer s3cret");
}

TEST(ApiClient, UnauthorizedNamesTheReasonAndCode) {
  testing::K8sStubApi stub;
  stub.requireToken("right");
  ApiClient api(stubConfig(stub, "wrong"));
  auto r = api.get("/api/v1/namespaces/surge/pods");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("HTTP 401"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("unauthorized"), std::string::npos);
  EXPECT_EQ(httpCodeOf(r.status()), 401);
}

TEST(ApiClient, ForbiddenCarriesTheApiMessage) {
  testing::K8sStubApi stub;
  stub.failNext(403, 1, "/pods");
  ApiClient api(stubConfig(stub));
  auto r = api.get("/api/v1/namespaces/surge/pods");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(httpCodeOf(r.status()), 403);
  EXPECT_NE(r.status().message().find("cannot access the resource"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("RBAC"), std::string::npos);
}

TEST(ApiClient, NotFoundMapsToNotFound) {
  testing::K8sStubApi stub;
  ApiClient api(stubConfig(stub));
  auto r = api.get("/apis/apps/v1/namespaces/surge/deployments/missing/scale");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("deployments.apps \"missing\" not found"),
            std::string::npos)
      << r.status().message();
}

TEST(ApiClient, UnreachableServerIsUnavailable) {
  ApiConfig c;
  {
    testing::K8sStubApi stub;  // take a free port, then close it
    c.server = stub.url();
  }
  c.timeout = std::chrono::seconds(2);
  c.connect_timeout = std::chrono::seconds(1);
  ApiClient api(c);
  auto r = api.get("/api/v1/namespaces/surge/pods");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().message();
  EXPECT_NE(r.status().message().find("cannot reach the API server"), std::string::npos);
  EXPECT_EQ(httpCodeOf(r.status()), 0);
}

TEST(ApiClient, StreamDeliversOneEventPerLine) {
  testing::K8sStubApi stub;
  std::string rv = stub.resourceVersion();
  stub.putEndpointSlice("surge", testing::stubEndpointSlice("s1", "svc", 8000, json::array()));
  stub.putEndpointSlice("surge", testing::stubEndpointSlice("s2", "svc", 8000, json::array()));
  ApiClient api(stubConfig(stub));
  std::vector<std::string> types;
  Status s = api.stream(
      "/apis/discovery.k8s.io/v1/namespaces/surge/endpointslices?watch=1&resourceVersion=" + rv,
      [&](const json& e) {
        types.push_back(e["type"]);
        return types.size() < 2;  // stop after two events
      });
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "ADDED"}));
}

TEST(ApiClient, StreamStopsOnTheStopFlag) {
  testing::K8sStubApi stub;
  ApiClient api(stubConfig(stub));
  std::atomic<bool> stop{false};
  std::thread t([&] {
    // Raise the flag once the watch is open (a failed wait is a failure, and stops it anyway).
    EXPECT_TRUE(testing::waitUntil([&] { return stub.openWatches() > 0; },
                                   std::chrono::seconds(4), std::chrono::milliseconds(5),
                                   "an open watch"));
    stop = true;
  });
  Status s = api.stream("/apis/discovery.k8s.io/v1/namespaces/surge/endpointslices?watch=1",
                        [](const json&) { return true; }, &stop);
  t.join();
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST(ApiClient, StreamReportsHttpGone) {
  testing::K8sStubApi stub;
  stub.putEndpointSlice("surge", testing::stubEndpointSlice("s1", "svc", 8000, json::array()));
  stub.compact();
  stub.setGoneAsHttp(true);
  ApiClient api(stubConfig(stub));
  Status s = api.stream(
      "/apis/discovery.k8s.io/v1/namespaces/surge/endpointslices?watch=1&resourceVersion=5",
      [](const json&) { return true; });
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(httpCodeOf(s), 410) << s.message();
}

// ---- configuration ------------------------------------------------------------------------------

constexpr const char* kTokenKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
  - name: other
    context: {cluster: c2, user: u2}
  - name: dev
    context: {cluster: c1, user: u1, namespace: team}
clusters:
  - name: c1
    cluster:
      server: https://10.0.0.1:6443
      certificate-authority-data: aGVsbG8gY2E=
  - name: c2
    cluster: {server: https://other:443, insecure-skip-tls-verify: true}
users:
  - name: u1
    user: {token: abc.def}
  - name: u2
    user:
      client-certificate: certs/client.crt
      client-key: /abs/client.key
)";

TEST(Kubeconfig, TokenUserFromCurrentContext) {
  auto c = parseKubeconfig(kTokenKubeconfig, "kc.yaml", "/home/me/.kube");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_data, "hello ca");
  EXPECT_EQ(c->bearer_token, "abc.def");
  EXPECT_EQ(c->default_namespace, "team");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_TRUE(c->client_cert_file.empty());
}

TEST(Kubeconfig, ClientCertificateFilesResolveAgainstTheKubeconfigDir) {
  auto c = parseKubeconfig(kTokenKubeconfig, "kc.yaml", "/home/me/.kube", "other");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server, "https://other:443");
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->client_cert_file, "/home/me/.kube/certs/client.crt");
  EXPECT_EQ(c->client_key_file, "/abs/client.key");
  EXPECT_TRUE(c->bearer_token.empty());
}

TEST(Kubeconfig, ClientCertificateData) {
  std::string kc = R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://k:6443"}}]
users:
  - name: u
    user:
      client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
      client-key-data: a2V5
)";
  auto c = parseKubeconfig(kc, "kc.yaml", ".");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->client_cert_data, "-----BEGIN CERTIFICATE-----");
  EXPECT_EQ(c->client_key_data, "key");
}

TEST(Kubeconfig, ErrorsNameFileLineAndField) {
  std::string kc = R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://k:6443"}}]
users:
  - name: u
    user:
      exec: {command: aws}
)";
  auto c = parseKubeconfig(kc, "kc.yaml", ".");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("kc.yaml:7:"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("exec"), std::string::npos);

  auto missing = parseKubeconfig("current-context: nope\ncontexts: []\n", "kc.yaml", ".");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("no context named 'nope'"), std::string::npos)
      << missing.status().message();

  auto bad_cert = parseKubeconfig(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://k:6443"}}]
users: [{name: u, user: {client-certificate: a.crt}}]
)",
                                  "kc.yaml", ".");
  ASSERT_FALSE(bad_cert.isOk());
  EXPECT_NE(bad_cert.status().message().find("together"), std::string::npos);
}

TEST(InCluster, ReadsServiceAccountFilesAndEnv) {
  std::string dir = ::testing::TempDir();
  InClusterPaths p{dir + "/token", dir + "/ca.crt", dir + "/namespace"};
  std::ofstream(p.token_file) << "tok\n";
  std::ofstream(p.namespace_file) << "surge\n";
  auto env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "KUBERNETES_SERVICE_HOST") return "10.96.0.1";
    if (k == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto c = loadInClusterConfig(p, env);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, p.token_file);
  EXPECT_EQ(c->ca_file, p.ca_file);
  EXPECT_EQ(c->default_namespace, "surge");

  auto none = loadInClusterConfig(p, [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

TEST(InCluster, TokenFileIsSentAndReReadPerRequest) {
  testing::K8sStubApi stub;
  std::string path = ::testing::TempDir() + "/rotating-token";
  std::ofstream(path) << "one\n";
  ApiConfig c = stubConfig(stub);
  c.token_file = path;
  ApiClient api(c);
  (void)api.get("/api/v1/namespaces/x/pods");
  std::ofstream(path) << "two\n";
  (void)api.get("/api/v1/namespaces/x/pods");
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].authorization, "Bearer one");
  EXPECT_EQ(reqs[1].authorization, "Bearer two");
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*decodeBase64("aGk="), "hi");
  EXPECT_EQ(*decodeBase64("aGk"), "hi");
  EXPECT_FALSE(decodeBase64("a*b").isOk());
}

}  // namespace
}  // namespace surge::k8s
