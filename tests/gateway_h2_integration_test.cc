// End-to-end tests of the gateway's HTTP/2 path with real processes on 127.0.0.1: HTTP/2 demo
// replicas (`surge upstream --protocol h2`: a gRPC echo naming itself in x-upstream), the gateway
// (`upstream_protocol: h2`), and an HTTP/2 client over one real connection
// (support/h2_test_client.h, on libnghttp2). Every process is stopped by the fixture; every wait
// is bounded.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/h2/grpc_framing.h"
#include "net/tls/test_certs.h"
#include "support/fixtures.h"
#include "support/h2_test_client.h"
#include "support/http_client.h"
#include "support/socket_client.h"
#include "support/tls_test_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class GatewayH2 : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.stop();
    upstreams_.clear();
  }

  int startH2Upstream(const std::string& name, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--protocol", "h2"});
    upstreams_.push_back(std::make_unique<ServerProcess>());
    EXPECT_TRUE(testing::startUpstream(*upstreams_.back(), dir_, name, extra));
    return upstreams_.back()->port();
  }

  void startGateway(const std::vector<int>& ports, const std::string& extra = "") {
    std::string yaml =
        std::string(kLocalGateway) + "upstream_protocol: h2\n" + backendsYaml(ports) + extra;
    ASSERT_TRUE(testing::startGateway(gateway_, dir_, yaml));
    port_ = gateway_.port();
    admin_port_ = gateway_.portAfter("admin");
  }

  std::string metrics() { return httpGet(admin_port_, "/metrics").body; }

  ScratchDir dir_{"h2"};
  std::vector<std::unique_ptr<ServerProcess>> upstreams_;
  ServerProcess gateway_;
  int port_ = 0;
  int admin_port_ = 0;
};

// The reason a gRPC fleet needs a per-request balancer: one client connection, 64 concurrent
// streams, 4 replicas — round robin per stream gives each replica a quarter (a per-connection
// balancer would give one replica everything).
TEST_F(GatewayH2, OneConnectionWith64StreamsSpreadsOverFourReplicas) {
  std::vector<int> ports;
  for (int i = 0; i < 4; ++i) ports.push_back(startH2Upstream("r" + std::to_string(i)));
  startGateway(ports, "algorithm: round_robin\n");
  H2TestClient client(port_);
  ASSERT_TRUE(client.connected());
  std::map<std::string, int> by_replica;
  int ok = 0;
  const int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 64; ++i) {
      ids.push_back(client.submitGrpc("/inference.GRPCInferenceService/ModelInfer",
                                      "msg-" + std::to_string(round * 64 + i)));
      ASSERT_GT(ids.back(), 0);
    }
    ASSERT_TRUE(client.run(20s)) << gateway_.log();
    for (size_t i = 0; i < ids.size(); ++i) {
      const H2Result& r = client.result(ids[i]);
      ASSERT_EQ(r.error_code, 0u);
      ASSERT_EQ(r.status(), 200);
      ASSERT_EQ(r.grpcStatus(), 0) << "trailers pass through";
      const std::string* who = r.header("x-upstream");
      ASSERT_NE(who, nullptr);
      ++by_replica[*who];
      // The echo proves the message went through untouched.
      std::string want = h2::grpcFrame("msg-" + std::to_string(round * 64 + static_cast<int>(i)));
      EXPECT_EQ(r.body, want);
      ++ok;
    }
  }
  ASSERT_EQ(ok, kRounds * 64);
  ASSERT_EQ(by_replica.size(), 4u);
  for (const auto& [name, n] : by_replica) {
    double share = static_cast<double>(n) / ok;
    EXPECT_NEAR(share, 0.25, 0.03) << name << " got " << n << " of " << ok;
  }
  json pj = json::parse(httpGet(admin_port_, "/protocols").body, nullptr, false);
  ASSERT_TRUE(pj.is_object());
  EXPECT_EQ(pj["grpc"]["ok"].get<int>(), ok);
  EXPECT_EQ(pj["grpc"]["by_status"]["0"].get<int>(), ok);
  EXPECT_EQ(pj["http2"]["streams"].get<int>(), ok);
  EXPECT_EQ(pj["http2"]["connections"].get<int>(), 1);
  EXPECT_EQ(pj["tls"]["enabled"], false);
  std::string m = metrics();
  EXPECT_NE(m.find("surge_gateway_h2_streams_total"), std::string::npos);
  EXPECT_NE(m.find("surge_gateway_grpc_responses_total{grpc_status=\"0\"}"), std::string::npos)
      << m;
}

TEST_F(GatewayH2, HttpOneOneStillWorksOnTheSamePort) {
  int p = startH2Upstream("r0");
  startGateway({p});
  // An HTTP/1.1 request on the h2 gateway's port is answered (an HTTP/1.1 error here: the
  // upstreams speak HTTP/2 only), not mistaken for HTTP/2.
  auto r = httpGet(port_, "/");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("HTTP/2"), std::string::npos) << r.body;
  // And a non-gRPC HTTP/2 request goes through.
  H2TestClient client(port_);
  int32_t id = client.submit("GET", "/v2/models", "");
  ASSERT_TRUE(client.run(10s));
  EXPECT_EQ(client.result(id).status(), 200);
  EXPECT_NE(client.result(id).body.find("\"upstream\":\"r0\""), std::string::npos);
}

TEST_F(GatewayH2, NoHealthyUpstreamIsGrpcUnavailableAndTimeoutIsDeadlineExceeded) {
  // A port nobody listens on: every try fails to connect.
  int dead = freePort();
  startGateway({dead}, "retries: 1\n");
  H2TestClient client(port_);
  int32_t a = client.submitGrpc("/svc/Call", "x");
  int32_t b = client.submit("GET", "/plain", "");
  ASSERT_TRUE(client.run(10s)) << gateway_.log();
  EXPECT_EQ(client.result(a).status(), 200);
  EXPECT_EQ(client.result(a).grpcStatus(), 14);
  ASSERT_NE(client.result(a).header("grpc-message"), nullptr);
  EXPECT_EQ(client.result(b).status(), 502);
  EXPECT_NE(client.result(b).body.find("\"error\""), std::string::npos);
  gateway_.stop();

  int slow = startH2Upstream("slow");
  startGateway({slow});
  H2TestClient c2(port_);
  auto t0 = std::chrono::steady_clock::now();
  int32_t d = c2.submitGrpc("/svc/Call", "x", {{"grpc-timeout", "200m"}, {"x-delay-ms", "5000"}});
  ASSERT_TRUE(c2.run(10s));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(c2.result(d).grpcStatus(), 4);
  EXPECT_LT(took, 3s) << "grpc-timeout honoured";
  EXPECT_GE(took, 150ms);
  // A huge grpc-timeout (saturated when parsed) leaves the request's own deadline: answered.
  int32_t huge =
      c2.submitGrpc("/svc/Call", "x", {{"grpc-timeout", "99999999H"}, {"x-delay-ms", "200"}});
  ASSERT_TRUE(c2.run(10s));
  EXPECT_EQ(c2.result(huge).grpcStatus(), 0);
  // A malformed grpc-timeout is the client's error.
  int32_t e = c2.submitGrpc("/svc/Call", "x", {{"grpc-timeout", "soon"}});
  ASSERT_TRUE(c2.run(10s));
  EXPECT_EQ(c2.result(e).grpcStatus(), 3);
}

TEST_F(GatewayH2, RetriesUnavailableAndDeadReplicasBeforeAnyResponseByte) {
  int good = startH2Upstream("good");
  int sick = startH2Upstream("sick", {"--unhealthy"});  // answers UNAVAILABLE to every call
  int dead = freePort();
  // A budget that lets every call retry (the default, 20 % of active requests, would answer
  // some of these 30 concurrent calls UNAVAILABLE by design).
  startGateway({good, sick, dead},
               "algorithm: round_robin\nretries: 2\n"
               "retry_budget: {percent: 100, min_concurrent: 100}\n");
  H2TestClient client(port_);
  std::vector<int32_t> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(client.submitGrpc("/svc/Call", "m"));
  ASSERT_TRUE(client.run(20s)) << gateway_.log();
  for (int32_t id : ids) {
    const H2Result& r = client.result(id);
    EXPECT_EQ(r.grpcStatus(), 0) << "stream " << id;
    ASSERT_NE(r.header("x-upstream"), nullptr);
    EXPECT_EQ(*r.header("x-upstream"), "good");
  }
}

TEST_F(GatewayH2, DrainLetsStreamsInFlightFinish) {
  int p = startH2Upstream("r0");
  startGateway({p});
  H2TestClient client(port_);
  std::vector<int32_t> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(client.submitGrpc("/svc/Call", "m", {{"x-delay-ms", "700"}}));
  }
  // Let the streams reach the replica, then ask the gateway to stop.
  std::thread stopper([this] {
    std::this_thread::sleep_for(250ms);
    ::kill(gateway_.pid(), SIGTERM);
  });
  bool done = client.run(10s);
  stopper.join();
  ASSERT_TRUE(done);
  for (int32_t id : ids) EXPECT_EQ(client.result(id).grpcStatus(), 0) << "stream " << id;
  EXPECT_TRUE(client.goawayReceived());
  // The gateway exits once drained.
  EXPECT_TRUE(waitUntil([&] { return !gateway_.running(); }, 10s));
}

TEST_F(GatewayH2, AbusiveClientGetsGoawayOthersAreUnaffected) {
  int p = startH2Upstream("r0");
  startGateway({p});
  H2TestClient good(port_);
  // Rapid reset: open and cancel thousands of streams at once.
  H2TestClient bad(port_);
  for (int i = 0; i < 3000; ++i) {
    int32_t id = bad.submitGrpc("/svc/Call", "m");
    if (id < 0 || !bad.pump()) break;            // HEADERS on the wire, then at once …
    bad.session().resetStream(id, h2::kCancel);  // … RST_STREAM
    if (!bad.pump()) break;
  }
  // One more stream makes run() read what the gateway sent: the GOAWAY (the stream is refused)
  // or the end of the connection.
  bad.submitGrpc("/svc/Call", "after the flood");
  bad.run(5s);
  EXPECT_TRUE(bad.goawayReceived() || bad.eof());
  if (bad.goawayReceived()) {
    EXPECT_NE(bad.goawayCode(), h2::kNoError);  // ENHANCE_YOUR_CALM, or nghttp2's flood verdict
  }
  int32_t id = good.submitGrpc("/svc/Call", "still here");
  ASSERT_TRUE(good.run(10s));
  EXPECT_EQ(good.result(id).grpcStatus(), 0);
  // Garbage after the preface: a protocol error, GOAWAY, closed.
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      sendAll(fd, std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string(64, '\xff')));
  std::string got = readFor(fd, 5s);
  ::close(fd);
  EXPECT_NE(got.size(), 0u);  // SETTINGS + GOAWAY, then the close
  int32_t id2 = good.submitGrpc("/svc/Call", "again");
  ASSERT_TRUE(good.run(10s));
  EXPECT_EQ(good.result(id2).grpcStatus(), 0);
}

// Scale to zero for gRPC: with the activator on and no replica, calls are held and go out when a
// replica joins; past the hold timeout a call gets UNAVAILABLE.
TEST_F(GatewayH2, ActivatorHoldsGrpcCallsUntilAReplicaJoins) {
  int p = startH2Upstream("late");
  std::string yaml = std::string(kLocalGateway) +
                     "upstream_protocol: h2\nactivator: {queue_size: 10, timeout: 3s}\n";
  ASSERT_TRUE(testing::startGateway(gateway_, dir_, yaml));
  port_ = gateway_.port();
  admin_port_ = gateway_.portAfter("admin");
  H2TestClient client(port_);
  auto t0 = std::chrono::steady_clock::now();
  int32_t a = client.submitGrpc("/svc/Call", "held");
  int32_t b = client.submitGrpc("/svc/Call", "held too");
  std::thread joiner([this, p] {
    waitUntil([&] { return metrics().find("surge_gateway_held_requests 2") != std::string::npos; },
              5s);
    std::this_thread::sleep_for(300ms);
    httpRequest(admin_port_, "POST", "/backends", {{"Content-Type", "application/json"}},
                "{\"address\": \"127.0.0.1:" + std::to_string(p) + "\"}");
  });
  bool done = client.run(10s);
  joiner.join();
  ASSERT_TRUE(done) << gateway_.log();
  EXPECT_EQ(client.result(a).grpcStatus(), 0);
  EXPECT_EQ(client.result(b).grpcStatus(), 0);
  EXPECT_EQ(client.result(b).body, h2::grpcFrame("held too"));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);  // they waited for the replica
  // Nothing ready for longer than the hold timeout: UNAVAILABLE with a message.
  ASSERT_EQ(httpRequest(admin_port_, "DELETE", "/backends/127.0.0.1:" + std::to_string(p)).status,
            200);
  int32_t c = client.submitGrpc("/svc/Call", "too late");
  ASSERT_TRUE(client.run(10s));
  EXPECT_EQ(client.result(c).grpcStatus(), 14);
  ASSERT_NE(client.result(c).header("grpc-message"), nullptr);
  EXPECT_NE(client.result(c).header("grpc-message")->find("activator"), std::string::npos);
}

// Active health checks over HTTP/2: a gRPC probe (grpc.health.v1.Health/Check) marks the replica
// that answers NOT_SERVING down, and every call goes to the serving one.
TEST_F(GatewayH2, GrpcHealthChecksTakeANotServingReplicaOut) {
  int good = startH2Upstream("good");
  int sick = startH2Upstream("sick", {"--unhealthy"});
  startGateway({good, sick},
               "algorithm: round_robin\nretries: 0\nhealth_check: {path: "
               "/grpc.health.v1.Health/Check, grpc: true, interval: 100ms, unhealthy_threshold: 1, "
               "healthy_threshold: 1}\n");
  auto healthOf = [&](int port) {
    json b = json::parse(httpGet(admin_port_, "/backends").body, nullptr, false);
    if (!b.is_object()) return std::string("?");
    for (const auto& h : b["backends"]) {
      if (h["address"] == "127.0.0.1:" + std::to_string(port)) return h["health"].dump();
    }
    return std::string("?");
  };
  ASSERT_TRUE(waitUntil(
      [&] { return healthOf(sick) == "\"unhealthy\"" && healthOf(good) == "\"healthy\""; }, 10s))
      << httpGet(admin_port_, "/backends").body;
  H2TestClient client(port_);
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(client.submitGrpc("/svc/Call", "m"));
  ASSERT_TRUE(client.run(10s));
  for (int32_t id : ids) {
    ASSERT_NE(client.result(id).header("x-upstream"), nullptr);
    EXPECT_EQ(*client.result(id).header("x-upstream"), "good");
    EXPECT_EQ(client.result(id).grpcStatus(), 0);
  }
  json b = json::parse(httpGet(admin_port_, "/backends").body, nullptr, false);
  for (const auto& h : b["backends"]) {
    EXPECT_EQ(h["healthy"].get<bool>(), h["address"] == "127.0.0.1:" + std::to_string(good))
        << h.dump();
  }
}

// The subject of the certificate the server presented.
std::string peerCertSubject(tls::Conn& c) {
  X509* x = SSL_get1_peer_certificate(c.native());
  if (x == nullptr) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
  X509_free(x);
  return buf;
}

tls::ClientTlsOptions clientOptions(const tls::testing::TestPki& pki, std::vector<std::string> alpn,
                                    bool with_cert) {
  tls::ClientTlsOptions o;
  o.ca_file = pki.ca_cert;
  o.alpn = std::move(alpn);
  if (with_cert) {
    o.cert_file = pki.client_cert;
    o.key_file = pki.client_key;
  }
  return o;
}

// One TLS port: ALPN picks HTTP/2 (gRPC through the gateway) or HTTP/1.1; with client_ca and
// require_client_cert a client without a certificate gets nowhere; clear text gets no answer.
TEST_F(GatewayH2, TlsAlpnNegotiatesH2OrHttp11AndMutualTlsIsEnforced) {
  auto pki = tls::testing::makeTestPki(dir_.file("pki"));
  ASSERT_TRUE(pki.isOk()) << pki.status().message();
  int p = startH2Upstream("r0");
  startGateway({p}, "tls:\n  cert: " + pki->server_cert + "\n  key: " + pki->server_key +
                        "\n  client_ca: " + pki->ca_cert + "\n  require_client_cert: true\n");
  std::string err;
  auto h2c = TlsTestClient::connect(port_, clientOptions(*pki, {"h2", "http/1.1"}, true), &err);
  ASSERT_NE(h2c, nullptr) << err << gateway_.log();
  EXPECT_EQ(h2c->conn().alpn(), "h2");
  {
    H2TestClient client(-1, h2c->h2Io());
    int32_t id = client.submitGrpc("/svc/Call", "over tls");
    ASSERT_TRUE(client.run(10s)) << gateway_.log();
    EXPECT_EQ(client.result(id).grpcStatus(), 0);
    EXPECT_EQ(client.result(id).body, h2::grpcFrame("over tls"));
  }
  auto h1 = TlsTestClient::connect(port_, clientOptions(*pki, {"http/1.1"}, true), &err);
  ASSERT_NE(h1, nullptr) << err;
  EXPECT_EQ(h1->conn().alpn(), "http/1.1");
  ASSERT_TRUE(h1->sendAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string resp = h1->readFor(5s, "}");
  EXPECT_NE(resp.find("HTTP/1.1 502"), std::string::npos) << resp;  // h2 upstreams: explained
  // No client certificate: the handshake fails (TLS 1.2), or the server's alert ends the
  // connection right after it (TLS 1.3 verifies the client after the client's Finished).
  auto anon = TlsTestClient::connect(port_, clientOptions(*pki, {"h2"}, false), &err);
  if (anon != nullptr) {
    anon->sendAll("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    char buf[256];
    long n = anon->read(buf, sizeof buf, 3000);
    EXPECT_LE(n, 0) << "a client without a certificate must not be served";
  }
  // Clear text on the TLS port: no HTTP answer.
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string plain = readFor(fd, 3s);
  ::close(fd);
  EXPECT_EQ(plain.find("HTTP/1.1"), std::string::npos) << plain;
  std::string m = metrics();
  EXPECT_NE(m.find("surge_gateway_tls_handshakes_total{result=\"ok\"}"), std::string::npos);
  EXPECT_NE(m.find("surge_gateway_tls_handshakes_total{result=\"failed\"}"), std::string::npos);
  // The admin API's protocol view.
  json pj = json::parse(httpGet(admin_port_, "/protocols").body, nullptr, false);
  ASSERT_TRUE(pj.is_object());
  EXPECT_EQ(pj["tls"]["enabled"], true);
  EXPECT_GE(pj["tls"]["handshakes"].get<int>(), 2);
  EXPECT_GE(pj["tls"]["handshake_failures"].get<int>(), 1);
  EXPECT_NE(pj["tls"]["certificate"].get<std::string>().find("surge-test-server"),
            std::string::npos);
  EXPECT_GE(pj["http2"]["streams"].get<int>(), 1);
  EXPECT_GE(pj["grpc"]["ok"].get<int>(), 1);
}

// HTTPS with HTTP/1.1 backends, and a certificate reload on SIGHUP: new connections get the new
// certificate, a connection open across the reload keeps working.
TEST_F(GatewayH2, HttpsReloadsTheCertificateOnSighupWithoutDroppingConnections) {
  auto pki = tls::testing::makeTestPki(dir_.file("pki"));
  ASSERT_TRUE(pki.isOk()) << pki.status().message();
  upstreams_.push_back(std::make_unique<ServerProcess>());
  ASSERT_TRUE(testing::startUpstream(*upstreams_.back(), dir_, "plain", {}));
  int up = upstreams_.back()->port();
  std::string yaml = std::string(kLocalGateway) + backendsYaml({up}) +
                     "tls:\n  cert: " + pki->server_cert + "\n  key: " + pki->server_key + "\n";
  ASSERT_TRUE(testing::startGateway(gateway_, dir_, yaml));
  port_ = gateway_.port();
  std::string err;
  auto before = TlsTestClient::connect(port_, clientOptions(*pki, {}, false), &err);
  ASSERT_NE(before, nullptr) << err << gateway_.log();
  EXPECT_NE(peerCertSubject(before->conn()).find("CN=surge-test-server"), std::string::npos);
  ASSERT_TRUE(before->sendAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(before->readFor(5s, "}").find("\"upstream\":\"plain\""), std::string::npos);

  // A renewed certificate (from a new CA, which the second client trusts), written over the
  // files the gateway was started with.
  tls::testing::LeafSpec spec;
  spec.common_name = "surge-renewed";
  spec.dns = {"localhost"};
  spec.ips = {"127.0.0.1"};
  auto ca2 = tls::testing::TestCa::create("surge renewal CA");
  ASSERT_TRUE(ca2.isOk());
  auto leaf = ca2->issue(spec);
  ASSERT_TRUE(leaf.isOk());
  ASSERT_TRUE(tls::testing::writeFile(pki->server_cert, leaf->cert).isOk());
  ASSERT_TRUE(tls::testing::writeFile(pki->server_key, leaf->key).isOk());
  std::string ca2_file = dir_.file("ca2.pem");
  ASSERT_TRUE(tls::testing::writeFile(ca2_file, ca2->pem().cert).isOk());
  ::kill(gateway_.pid(), SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] { return gateway_.log().find("TLS certificate reloaded") != std::string::npos; }, 5s))
      << gateway_.log();
  tls::ClientTlsOptions o2;
  o2.ca_file = ca2_file;
  auto after = TlsTestClient::connect(port_, o2, &err);
  ASSERT_NE(after, nullptr) << err;
  EXPECT_NE(peerCertSubject(after->conn()).find("CN=surge-renewed"), std::string::npos);
  ASSERT_TRUE(after->sendAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(after->readFor(5s, "}").find("\"upstream\":\"plain\""), std::string::npos);
  // The connection opened before the reload still serves requests.
  ASSERT_TRUE(before->sendAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(before->readFor(5s, "}").find("\"upstream\":\"plain\""), std::string::npos);
  // A broken key on the next reload keeps the current certificate.
  ASSERT_TRUE(tls::testing::writeFile(pki->server_key, "not a key").isOk());
  ::kill(gateway_.pid(), SIGHUP);
  ASSERT_TRUE(
      waitUntil([&] { return gateway_.log().find("TLS reload failed") != std::string::npos; }, 5s))
      << gateway_.log();
  auto still = TlsTestClient::connect(port_, o2, &err);
  ASSERT_NE(still, nullptr) << err;
  EXPECT_NE(peerCertSubject(still->conn()).find("CN=surge-renewed"), std::string::npos);
}

}  // namespace
}  // namespace surge::testing
