// GatewayAdminClient against the real admin handler (gateway::makeAdminHandler over a
// gateway::Cluster) served in-process by net::HttpServer on 127.0.0.1:0.
#include "autoscale/local/gateway_admin_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "gateway/admin.h"
#include "gateway/cluster.h"
#include "metrics/registry.h"
#include "net/asio.h"
#include "net/http_server.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

class GatewayAdminClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway::AdminOptions opts;
    opts.bearer_token = "tok";
    server_ = std::make_unique<net::HttpServer>(
        io_, gateway::makeAdminHandler(cluster_, registry_, opts));
    ASSERT_TRUE(server_->listen("127.0.0.1:0").isOk());
    thread_ = std::thread([this] { io_.run(); });
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
  }
  GatewayAdminClient client(const std::string& token = "tok") {
    auto c = GatewayAdminClient::create(url_, token, 2s);
    EXPECT_TRUE(c.isOk());
    return std::move(c).value();
  }

  net::asio::io_context io_{1};
  std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work_{
      net::asio::make_work_guard(io_)};
  gateway::Cluster cluster_{gateway::ClusterOptions{}, SteadyClock::instance()};
  metrics::Registry registry_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::string url_;
};

TEST_F(GatewayAdminClientTest, AddListGetWeightRemove) {
  auto c = client();
  ASSERT_TRUE(c.addBackend("127.0.0.1:7001", 100, "a").isOk());
  ASSERT_TRUE(c.addBackend("127.0.0.1:7002", 10, "").isOk());
  EXPECT_TRUE(c.addBackend("127.0.0.1:7001", 100, "a").isOk());  // 409: already there
  auto list = c.listBackends();
  ASSERT_TRUE(list.isOk()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].address, "127.0.0.1:7001");
  EXPECT_EQ((*list)[0].weight, 100);
  EXPECT_EQ((*list)[1].weight, 10);
  ASSERT_TRUE(c.setWeight("127.0.0.1:7002", 55).isOk());
  EXPECT_EQ(cluster_.find("127.0.0.1:7002")->weight(), 55u);
  auto got = c.getBackend("127.0.0.1:7002");
  ASSERT_TRUE(got.isOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->weight, 55);
  EXPECT_EQ((*got)->health, "healthy");
  ASSERT_TRUE(c.removeBackend("127.0.0.1:7002").isOk());
  EXPECT_EQ(cluster_.find("127.0.0.1:7002"), nullptr);
  auto gone = c.getBackend("127.0.0.1:7002");
  ASSERT_TRUE(gone.isOk());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(c.removeBackend("127.0.0.1:7002").code(), StatusCode::kNotFound);
  EXPECT_EQ(c.addBackend("not-an-address", 1, "").code(), StatusCode::kInvalidArgument);
}

TEST_F(GatewayAdminClientTest, DrainWaitsForInFlightRequests) {
  auto c = client();
  ASSERT_TRUE(c.addBackend("127.0.0.1:7001", 1, "").isOk());
  ASSERT_TRUE(c.addBackend("127.0.0.1:7002", 1, "").isOk());
  auto idle = c.drainBackend("127.0.0.1:7002");  // nothing in flight: removed at once
  ASSERT_TRUE(idle.isOk());
  EXPECT_TRUE(*idle);
  auto host = cluster_.find("127.0.0.1:7001");
  host->onRequestStart();
  auto busy = c.drainBackend("127.0.0.1:7001");
  ASSERT_TRUE(busy.isOk());
  EXPECT_FALSE(*busy);
  auto b = c.getBackend("127.0.0.1:7001");
  ASSERT_TRUE(b.isOk() && b->has_value());
  EXPECT_TRUE((*b)->draining);
  EXPECT_EQ((*b)->in_flight, 1);
  host->onRequestEnd();
  cluster_.tick();  // the gateway's housekeeping completes the drain
  auto after = c.getBackend("127.0.0.1:7001");
  ASSERT_TRUE(after.isOk());
  EXPECT_FALSE(after->has_value());
  EXPECT_EQ(c.drainBackend("127.0.0.1:9999").status().code(), StatusCode::kNotFound);
}

TEST_F(GatewayAdminClientTest, WrongTokenIsAClearError) {
  auto c = client("wrong");
  Status s = c.addBackend("127.0.0.1:7001", 1, "");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("token"), std::string::npos) << s.message();
}

TEST(GatewayAdminClient, UnreachableGatewayIsUnavailable) {
  // Bind-then-close gives a port with (almost certainly) no listener.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  auto c = GatewayAdminClient::create("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
                                      "", 1s);
  ASSERT_TRUE(c.isOk());
  Status s = c->addBackend("127.0.0.1:7001", 1, "");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("connect"), std::string::npos) << s.message();
}

TEST(GatewayAdminUrl, AcceptsAnOriginRejectsTheRest) {
  auto ok = GatewayAdminClient::create("http://127.0.0.1:9901/", "");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->url(), "http://127.0.0.1:9901/");
  EXPECT_TRUE(GatewayAdminClient::create("http://localhost", "").isOk());
  EXPECT_TRUE(GatewayAdminClient::create("https://gw.example:9901", "").isOk());
  EXPECT_TRUE(GatewayAdminClient::create("http://[::1]:9901", "").isOk());
  for (const char* bad : {"ftp://x:1", "x:1", "http://x:0", "http://x:99999", "http://x:1/admin",
                          "http://:1"}) {
    auto c = GatewayAdminClient::create(bad, "");
    EXPECT_FALSE(c.isOk()) << bad;
    if (!c.isOk()) {
      EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(GatewayAdminClient::create("http://x:1/admin", "").status().message().find(
                "must not have a path"),
            std::string::npos);
}

}  // namespace
}  // namespace surge::autoscale
