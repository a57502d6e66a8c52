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

#include "support/fixtures.h"
#include "support/http_client.h"

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
  void TearDown() override { server_.stop(); }

  std::string log() const { return dir_.file("serve.log"); }
  std::string logText() const { return readFile(log()); }

  int runDemo() {
    return runToExit({surgeBinary(), "model", "demo", (dir_ / "repo").string(), "--sizes",
                      std::to_string(kIn) + ",32," + std::to_string(kOut)},
                     log(), 30s);
  }

  // Starts `surge serve` on the demo repository and waits for readiness (after warm-up).
  void startServe() {
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", log(), {}, 60s));
    port_ = server_.port();
  }

  HttpResult infer(const std::string& b) {
    return httpRequest(port_, "POST", "/v2/models/mlp/infer",
                       {{"Content-Type", "application/json"}}, b, 10000ms);
  }

  ScratchDir dir_{"torch-it"};
  ServerProcess server_;
  int port_ = 0;
};

TEST_F(TorchServeIntegration, DemoModelServesAndBatchEqualsRows) {
  ASSERT_EQ(runDemo(), 0) << logText();
  ASSERT_TRUE(std::filesystem::exists(dir_ / "repo" / "mlp" / "config.pbtxt"));
  ASSERT_TRUE(std::filesystem::exists(dir_ / "repo" / "mlp" / "1" / "model.pt"));
  startServe();

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
  int rc = runToExit({surgeBinary(), "serve", "--model-repository", (dir_ / "repo").string(),
                      "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"},
                     log(), 30s);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, -1) << "did not exit";
  EXPECT_NE(logText().find("no TorchScript file"), std::string::npos) << logText();
}

}  // namespace
}  // namespace surge::testing
