// `surge serve` under hostile input (issue 10), the real binary on 127.0.0.1:0: a 90-byte request
// claiming a 4 TB tensor gets 400 and the server stays up; URLs holding invalid UTF-8 get JSON
// errors that are valid UTF-8; configs whose sizes would abort or hang warm-up exit 2 naming
// file:line:col; four concurrent 60 MB bad bodies keep the peak RSS under 1 GiB and the RSS
// returns near its baseline. Every process is stopped by the fixture; every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kVariable = R"(backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
)";

// VmHWM / VmRSS of a process in KiB (from /proc/<pid>/status), -1 when absent.
long statusKiB(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

class ServeHostile : public ::testing::Test {
 protected:
  void TearDown() override { server_.stop(); }

  void model(const std::string& name, const std::string& config) {
    writeModel(dir_ / "repo", name, config);
  }

  void startServe() {
    ASSERT_TRUE(testing::startServe(server_, dir_ / "repo", log(), {"--workers", "2"}, 10s));
    port_ = server_.port();
  }

  int runToExit() {
    return testing::runToExit({surgeBinary(), "serve", "--model-repository",
                               (dir_ / "repo").string(), "--listen", "127.0.0.1:0",
                               "--grpc-listen", "127.0.0.1:0"},
                              log(), 10s);
  }

  HttpResult infer(const std::string& target, const std::string& body) {
    return httpRequest(port_, "POST", target, {{"Content-Type", "application/json"}}, body,
                       30000ms);
  }

  std::string log() const { return dir_.file("serve.log"); }
  std::string logText() const { return readFile(log()); }

  ScratchDir dir_{"serve-hostile"};
  ServerProcess server_;
  int port_ = 0;
};

TEST_F(ServeHostile, NinetyByteRequestIs400AndTheServerStaysUp) {
  model("var", kVariable);
  startServe();
  const std::string body =
      R"({"inputs":[{"name":"x","shape":[1000000000000],"datatype":"FP32","data":[1]}]})";
  ASSERT_LE(body.size(), 90u);
  for (int i = 0; i < 3; ++i) {
    auto r = infer("/v2/models/var/infer", body);
    ASSERT_EQ(r.status, 400) << r.body << "\n" << logText();
    json j = json::parse(r.body);
    EXPECT_NE(j["error"].get<std::string>().find("needs 1000000000000 elements, data has 1"),
              std::string::npos)
        << r.body;
  }
  auto half = infer("/v2/models/var/infer",
                    R"({"inputs":[{"name":"x","shape":[500000000],"datatype":"FP32","data":[1]}]})");
  EXPECT_EQ(half.status, 400);
  EXPECT_TRUE(server_.running());
  // It allocated nothing for those claims (measured on the release build: ASan's shadow memory
  // and quarantine alone take the sanitized server past this bound).
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(statusKiB(server_.pid(), "VmHWM"), 512 * 1024);
#endif
  auto ok = infer("/v2/models/var/infer",
                  R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2,3]}]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(ServeHostile, InvalidUtf8InTheUrlComesBackAsValidJson) {
  model("var", kVariable);
  startServe();
  auto r = infer("/v2/models/%ff%fe%0a/infer", R"({"inputs":[]})");
  EXPECT_EQ(r.status, 404);
  // nlohmann::json rejects invalid UTF-8 and raw control characters.
  json j = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_NE(j["error"].get<std::string>().find("\xEF\xBF\xBD\xEF\xBF\xBD\n"), std::string::npos)
      << r.body;
}

TEST_F(ServeHostile, ConfigSizeLimitsExit2NamingTheField) {
  struct Case {
    const char* config;
    const char* want;
  } cases[] = {
      {"backend: \"synthetic\"\nmax_batch_size: 2147483647\n"
       "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
       "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n",
       "config.pbtxt:2:1: max_batch_size must be in [0, 1048576]"},
      {"backend: \"synthetic\"\nmax_batch_size: 8\n"
       "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
       "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 1000000, 1000000 ] } ]\n",
       "config.pbtxt:4:"},
      {"backend: \"synthetic\"\n"
       "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4294967296, 4294967296 ] } ]\n"
       "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n",
       "config.pbtxt:2:"},
  };
  for (const auto& c : cases) {
    std::filesystem::remove_all(dir_ / "repo" / "m");
    model("m", c.config);
    EXPECT_EQ(runToExit(), 2) << logText();
    std::string text = logText();
    EXPECT_NE(text.find(c.want), std::string::npos) << text;
    if (std::string(c.want).find("max_batch_size") == std::string::npos) {
      EXPECT_NE(text.find("is too large (at most 1 GiB per tensor)"), std::string::npos) << text;
    }
  }
}

// Four concurrent 60 MB bodies of numbers whose shape does not match their data: the server
// reads them, counts, answers 400, and its memory stays bounded (the DOM parser of old took
// ~13 bytes per body byte and kept its largest capacity per thread: 1.9 GB).
TEST_F(ServeHostile, FourConcurrent60MBBadBodiesKeepRssBounded) {
  model("var", kVariable);
  startServe();
  // The baseline: the RSS once warm-up is over and it stops moving (two readings 50 ms apart
  // within 1 MiB).
  long baseline = -1;
  EXPECT_TRUE(waitUntil(
      [&] {
        long now = statusKiB(server_.pid(), "VmRSS");
        bool stable = baseline > 0 && std::labs(now - baseline) < 1024;
        baseline = now;
        return stable;
      },
      3s, 50ms, "a stable RSS after start-up"));
  ASSERT_GT(baseline, 0);
  std::string body = R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[)";
  const size_t target = 60u << 20;
  body.reserve(target + 64);
  while (body.size() < target) body += "1,";
  body += "1]}]}";
  std::vector<std::thread> clients;
  std::vector<int> statuses(4, 0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] { statuses[i] = infer("/v2/models/var/infer", body).status; });
  }
  for (auto& t : clients) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the 60 MB bodies outlast the 10 s body timeout at -O0 (408), and its allocator
  // keeps freed memory in quarantine: the bounds below are the release build's. What holds here
  // too: every request is answered and the server survives.
  for (int s : statuses) EXPECT_TRUE(s == 400 || s == 408) << s;
  (void)seconds;
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(httpGet(port_, "/v2/health/live").status, 200);
  GTEST_SKIP() << "RSS bounds are measured on the release build (ASan quarantine holds memory)";
#endif
  for (int s : statuses) EXPECT_EQ(s, 400);
  long hwm = statusKiB(server_.pid(), "VmHWM");
  // The control loop gives freed memory back (malloc_trim) once a second for 3 s after a large
  // request: poll up to 5 s for the RSS to come back near its baseline.
  long after = 0;
  waitUntil(
      [&] {
        after = statusKiB(server_.pid(), "VmRSS");
        return after < baseline + 64 * 1024;
      },
      5s, 100ms);  // checked (with the numbers) below
  std::printf("baseline %ld KiB, peak %ld KiB, after %ld KiB, %.2f s\n", baseline, hwm, after,
              seconds);
  EXPECT_LT(hwm, 1024 * 1024) << "peak RSS above 1 GiB";
  EXPECT_LT(after, baseline + 64 * 1024) << "RSS did not return near its baseline";
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(httpGet(port_, "/v2/health/live").status, 200);
}

}  // namespace
}  // namespace surge::testing
