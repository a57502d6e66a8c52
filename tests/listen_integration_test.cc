// Listening is exclusive (issue 10, point 7): a surge listener started on an address another
// process listens on exits at once, non-zero (2), saying "address already in use: HOST:PORT" —
// for the gateway's client port (whose workers share it with SO_REUSEPORT among themselves), the
// gateway admin API, `surge serve` and its metrics port, the autoscaler admin API (`surge
// autoscale`, `surge up`) and `surge up`'s own listeners.
// `--reuse-port` (gateway, serve) shares a port on purpose, for a hot restart.
// Real processes on 127.0.0.1; every process is stopped by the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;

// A listening socket held by the test, with SO_REUSEPORT set: it stands for "another process
// listening there", the hardest case (a plain listener would refuse the bind in any case).
class HeldListener {
 public:
  HeldListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~HeldListener() { ::close(fd_); }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class ListenIntegration : public ::testing::Test {
 protected:
  void SetUp() override { writeModel(dir_ / "repo", "m", syntheticConfig(4)); }
  void TearDown() override { procs_.clear(); }

  std::string logPath(const std::string& name) { return dir_.file(name + ".log"); }
  std::string logText(const std::string& name) { return readFile(logPath(name)); }

  // Starts a long-running process and waits for its "listening on" line; returns the line.
  std::string startServer(const std::string& name, const std::vector<std::string>& argv) {
    procs_.push_back(std::make_unique<ServerProcess>());
    EXPECT_TRUE(procs_.back()->start(argv, logPath(name))) << name;
    return procs_.back()->line();
  }

  // Runs a process expected to fail at once; returns its exit code (its stderr in logText(name)).
  int runToExit(const std::string& name, const std::vector<std::string>& argv) {
    return testing::runToExit(argv, logPath(name), 10s);
  }

  std::vector<std::string> gateway(const std::string& listen, const std::string& admin,
                                   std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {surgeBinary(), "gateway",   "--listen",  listen,  "--admin",
                                  admin,         "--workers", "2",         "--upstreams",
                                  "127.0.0.1:1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::vector<std::string> serve(const std::string& listen, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {surgeBinary(),  "serve",  "--model-repository",
                                  (dir_ / "repo").string(), "--listen", listen,
                                  "--workers",    "2",      "--grpc-listen", "127.0.0.1:0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  void expectInUse(const std::string& name, int rc, const std::string& address) {
    EXPECT_EQ(rc, 2) << logText(name);
    EXPECT_NE(logText(name).find("address already in use: " + address), std::string::npos)
        << logText(name);
  }

  ScratchDir dir_{"listen-it"};
  std::vector<std::unique_ptr<ServerProcess>> procs_;
};

TEST_F(ListenIntegration, SecondGatewayOnTheSamePortExitsWithAddressInUse) {
  std::string line = startServer("gw1", gateway("127.0.0.1:0", "127.0.0.1:0"));
  int port = portFromLine(line, "listening on");
  int admin = portFromLine(line, "admin");
  ASSERT_GT(port, 0);
  std::string addr = "127.0.0.1:" + std::to_string(port);
  auto t0 = std::chrono::steady_clock::now();
  expectInUse("gw2", runToExit("gw2", gateway(addr, "off")), addr);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // at once, not after a timeout
  // The admin listener too.
  std::string admin_addr = "127.0.0.1:" + std::to_string(admin);
  expectInUse("gw3", runToExit("gw3", gateway("127.0.0.1:0", admin_addr)), admin_addr);
  // The first gateway is untouched.
  EXPECT_EQ(httpGet(admin, "/backends").status, 200);
}

TEST_F(ListenIntegration, GatewayRefusesAPortHeldWithReusePortByAnotherProcess) {
  HeldListener held;
  expectInUse("gw", runToExit("gw", gateway(held.address(), "off")), held.address());
}

TEST_F(ListenIntegration, ReusePortLetsTwoGatewaysShareThePort) {
  std::string line =
      startServer("gw1", gateway("127.0.0.1:0", "127.0.0.1:0", {"--reuse-port"}));
  int port = portFromLine(line, "listening on");
  ASSERT_GT(port, 0);
  std::string line2 = startServer(
      "gw2", gateway("127.0.0.1:" + std::to_string(port), "off", {"--reuse-port"}));
  EXPECT_EQ(portFromLine(line2, "listening on"), port);
  ASSERT_EQ(procs_.size(), 2u);
  EXPECT_TRUE(procs_[0]->running());
  EXPECT_TRUE(procs_[1]->running());
}

TEST_F(ListenIntegration, SecondServeOnTheSamePortExitsWithAddressInUse) {
  std::string line = startServer("s1", serve("127.0.0.1:0"));
  int port = portFromLine(line, "listening on");
  ASSERT_GT(port, 0);
  std::string addr = "127.0.0.1:" + std::to_string(port);
  expectInUse("s2", runToExit("s2", serve(addr)), addr);
  // --workers 1 (no SO_REUSEPORT at all) as well.
  expectInUse("s3", runToExit("s3", serve(addr, {"--workers", "1"})), addr);
}

TEST_F(ListenIntegration, ServeMetricsPortInUseExits) {
  HeldListener held;
  expectInUse("s", runToExit("s", serve("127.0.0.1:0", {"--metrics-port",
                                                          std::to_string(held.port())})),
              held.address());
}

TEST_F(ListenIntegration, ReusePortLetsTwoServesShareThePort) {
  std::string line = startServer("s1", serve("127.0.0.1:0", {"--reuse-port"}));
  int port = portFromLine(line, "listening on");
  ASSERT_GT(port, 0);
  std::string line2 =
      startServer("s2", serve("127.0.0.1:" + std::to_string(port), {"--reuse-port"}));
  EXPECT_EQ(portFromLine(line2, "listening on"), port);
}

TEST_F(ListenIntegration, SurgeUpExitsWhenAnyOfItsPortsIsInUse) {
  HeldListener held;
  std::string state = (dir_ / "state").string();
  auto up = [&](const std::string& listen, const std::string& admin, const std::string& scaler) {
    return std::vector<std::string>{surgeBinary(), "up",          "--synthetic",
                                    "--listen",    listen,        "--admin",
                                    admin,         "--autoscaler-admin", scaler,
                                    "--state-dir", state};
  };
  expectInUse("up1", runToExit("up1", up(held.address(), "127.0.0.1:0", "127.0.0.1:0")),
              held.address());
  expectInUse("up2", runToExit("up2", up("127.0.0.1:0", held.address(), "127.0.0.1:0")),
              held.address());
  expectInUse("up3", runToExit("up3", up("127.0.0.1:0", "127.0.0.1:0", held.address())),
              held.address());
}

TEST_F(ListenIntegration, AutoscalerAdminPortInUseExits) {
  HeldListener held;
  std::string config = (dir_ / "autoscale.yaml").string();
  std::ofstream(config) << "target:\n  kind: local\n  model_repository: " << (dir_ / "repo").string()
                        << "\n  gateway: {admin: \"http://127.0.0.1:1\"}\n"
                           "hpa:\n  apiVersion: autoscaling/v2\n  kind: HorizontalPodAutoscaler\n"
                           "  metadata: {name: x}\n  spec:\n    minReplicas: 1\n    maxReplicas: 2\n"
                           "    metrics:\n      - type: Pods\n        pods:\n"
                           "          metric: {name: requests_per_second}\n"
                           "          target: {type: AverageValue, averageValue: \"50\"}\n";
  expectInUse("as", runToExit("as", {surgeBinary(), "autoscale", "--config", config, "--admin",
                                     held.address()}),
              held.address());
}

}  // namespace
}  // namespace surge::testing
