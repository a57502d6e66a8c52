// End-to-end test of the pytorch_libtorch backend: `surge model demo` writes a TorchScript MLP
// repository, `surge serve` (127.0.0.1:0) loads it and answers Open Inference Protocol requests.
// Checks: the demo command's exit code and files, readiness after warm-up, output shape and
// datatype, a 2-row request equal to its rows sent one by one, a wrong datatype rejected with
// 400. Every process is stopped by the fixture; every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/http_client.h"
#include "support/process.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kIn = 16;
constexpr int kOut = 4;

std::vector<float> row(int seed) {
  std::vector<float> v(kIn);
  for (int i = 0; i < kIn; ++i) v[i] = static_cast<float>(std::sin(0.3 * (i + 1) * (seed + 2)));
  return v;
}

std::string body(const std::vector<std::vector<float>>& rows, const std::string& dtype = "FP32") {
  json data = json::array();
  for (const auto& r : rows) {
    for (float f : r) data.push_back(f);
  }
  json in = {{"name", "INPUT0"},
             {"datatype", dtype},
             {"shape", {static_cast<int>(rows.size()), kIn}},
             {"data", data}};
  return json({{"inputs", {in}}}).dump();
}

class TorchServeIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-torch-it-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string log() const { return (dir_ / "serve.log").string(); }
  std::string logText() const {
    std::ifstream in(log());
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  int runDemo() {
    Process p;
    std::string err;
    EXPECT_TRUE(p.start({surgeBinary(), "model", "demo", (dir_ / "repo").string(), "--sizes",
                         std::to_string(kIn) + ",32," + std::to_string(kOut)},
                        &err, log()))
        << err;
    auto rc = p.wait(30s);
    EXPECT_TRUE(rc.has_value());
    return rc.value_or(-1);
  }

  void startServe() {
    server_ = std::make_unique<Process>();
    std::string err;
    ASSERT_TRUE(server_->start({surgeBinary(), "serve", "--model-repository",
                                (dir_ / "repo").string(), "--listen", "127.0.0.1:0"},
                               &err, log()))
        << err;
    auto line = server_->waitForLine("surge serve listening on", 30s);
    ASSERT_TRUE(line.has_value()) << "surge serve did not start; log:\n" << logText();
    port_ = portFromLine(*line, "listening on");
    ASSERT_GT(port_, 0);
  }

  bool waitReady(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (httpGet(port_, "/v2/health/ready").status == 200) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  HttpResult infer(const std::string& b) {
    return httpRequest(port_, "POST", "/v2/models/mlp/infer",
                       {{"Content-Type", "application/json"}}, b, 10000ms);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Process> server_;
  int port_ = 0;
};

TEST_F(TorchServeIntegration, DemoModelServesAndBatchEqualsRows) {
  ASSERT_EQ(runDemo(), 0) << logText();
  ASSERT_TRUE(std::filesystem::exists(dir_ / "repo" / "mlp" / "config.pbtxt"));
  ASSERT_TRUE(std::filesystem::exists(dir_ / "repo" / "mlp" / "1" / "model.pt"));
  startServe();
  ASSERT_TRUE(waitReady(60s)) << logText();

  auto both = infer(body({row(0), row(1)}));
  ASSERT_EQ(both.status, 200) << both.body;
  json j = json::parse(both.body);
  ASSERT_EQ(j["outputs"].size(), 1u);
  const json& out = j["outputs"][0];
  EXPECT_EQ(out["name"], "OUTPUT0");
  EXPECT_EQ(out["datatype"], "FP32");
  EXPECT_EQ(out["shape"], json({2, kOut}));
  ASSERT_EQ(out["data"].size(), static_cast<size_t>(2 * kOut));
  bool any_nonzero = false;
  for (int r = 0; r < 2; ++r) {
    auto one = infer(body({row(r)}));
    ASSERT_EQ(one.status, 200) << one.body;
    json parsed = json::parse(one.body);
    const json& d = parsed["outputs"][0]["data"];
    ASSERT_EQ(d.size(), static_cast<size_t>(kOut));
    for (int k = 0; k < kOut; ++k) {
      EXPECT_NEAR(d[k].get<double>(), out["data"][r * kOut + k].get<double>(), 1e-5);
      any_nonzero = any_nonzero || std::abs(d[k].get<double>()) > 1e-6;
    }
  }
  EXPECT_TRUE(any_nonzero);

  auto wrong = infer(body({row(0)}, "INT32"));
  EXPECT_EQ(wrong.status, 400) << wrong.body;
}

TEST_F(TorchServeIntegration, MissingModelFileFailsStartup) {
  ASSERT_EQ(runDemo(), 0) << logText();
  std::filesystem::remove(dir_ / "repo" / "mlp" / "1" / "model.pt");
  Process p;
  std::string err;
  ASSERT_TRUE(p.start({surgeBinary(), "serve", "--model-repository", (dir_ / "repo").string(),
                       "--listen", "127.0.0.1:0"},
                      &err, log()))
      << err;
  auto rc = p.wait(30s);
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
  EXPECT_NE(logText().find("no TorchScript file"), std::string::npos) << logText();
}

}  // namespace
}  // namespace surge::testing
