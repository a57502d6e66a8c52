#include "support/fixtures.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {

using namespace std::chrono_literals;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string test = "no-test";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    test = std::string(info->test_suite_name()) + "." + info->name();
  }
  for (char& c : test) {
    if (c == '/') c = '_';  // parameterized names
  }
  path_ = std::filesystem::temp_directory_path() /
          ("surge-" + prefix + "-" + std::to_string(::getpid()) + "-" + test);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::write(const std::string& name, const std::string& text) const {
  const auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}

::testing::AssertionResult ServerProcess::start(const std::vector<std::string>& argv,
                                                const std::string& log_path,
                                                const std::string& ready,
                                                std::chrono::milliseconds timeout) {
  log_path_ = log_path;
  line_.clear();
  std::string err;
  if (!process_.start(argv, &err, log_path)) {
    return ::testing::AssertionFailure() << "cannot start " << argv.at(0) << ": " << err;
  }
  auto line = process_.waitForLine(ready, timeout);
  if (!line) {
    std::string name = argv.size() > 1 ? argv[0] + " " + argv[1] : argv[0];
    auto exited = process_.wait(std::chrono::milliseconds(100));
    return ::testing::AssertionFailure()
           << name << " printed no \"" << ready << "\" line "
           << (exited ? "and exited with status " + std::to_string(*exited)
                      : "within " + std::to_string(timeout.count()) + " ms")
           << "; log:\n"
           << log();
  }
  line_ = *line;
  return ::testing::AssertionSuccess();
}

int ServerProcess::port() const { return portFromLine(line_, "listening on"); }

int ServerProcess::portAfter(const std::string& label) const { return portFromLine(line_, label); }

::testing::AssertionResult startUpstream(ServerProcess& p, const ScratchDir& dir,
                                         const std::string& name,
                                         const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {surgeBinary(), "upstream", "--listen", "127.0.0.1:0",
                                   "--name",      name};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto started = p.start(argv, dir.file(name + ".log"), "listening on", 10s);
  if (started && p.port() <= 0) {
    return ::testing::AssertionFailure() << "no port on upstream line: " << p.line();
  }
  return started;
}

std::string backendsYaml(const std::vector<int>& ports) {
  std::string y = "backends:\n";
  for (int p : ports) y += "  - {address: 127.0.0.1:" + std::to_string(p) + "}\n";
  return y;
}

::testing::AssertionResult startGateway(ServerProcess& p, const ScratchDir& dir,
                                        const std::string& yaml) {
  const std::string path = dir.write("gateway.yaml", yaml);
  auto started = p.start({surgeBinary(), "gateway", "--config", path}, dir.file("gateway.log"),
                         "listening on", 10s);
  if (started && p.port() <= 0) {
    return ::testing::AssertionFailure() << "no port on gateway line: " << p.line();
  }
  return started;
}

std::string syntheticConfig(int max_batch, const std::string& extra) {
  return "backend: \"synthetic\"\nmax_batch_size: " + std::to_string(max_batch) +
         "\ninput [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
         "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n" +
         extra;
}

void writeModel(const std::filesystem::path& repo, const std::string& name,
                const std::string& config, const std::vector<std::string>& versions) {
  const auto d = repo / name;
  std::filesystem::create_directories(d);
  std::ofstream(d / "config.pbtxt") << config;
  for (const auto& v : versions) std::filesystem::create_directories(d / v);
}

::testing::AssertionResult waitReady(int port, std::chrono::milliseconds timeout) {
  return waitUntil([&] { return httpGet(port, "/v2/health/ready", 2000ms).status == 200; },
                   timeout, 20ms, "GET /v2/health/ready on port " + std::to_string(port) + " = 200");
}

::testing::AssertionResult startServe(ServerProcess& p, const std::filesystem::path& repo,
                                      const std::string& log_path,
                                      const std::vector<std::string>& extra,
                                      std::chrono::milliseconds ready_timeout) {
  // --grpc-listen: never Triton's default 8001, so parallel tests do not collide on it.
  std::vector<std::string> argv = {surgeBinary(), "serve",        "--model-repository",
                                   repo.string(),  "--listen",     "127.0.0.1:0",
                                   "--grpc-listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto started = p.start(argv, log_path, "surge serve listening on", 30s);
  if (!started) return started;
  if (p.port() <= 0) return ::testing::AssertionFailure() << "no port on: " << p.line();
  if (ready_timeout.count() > 0) {
    auto ready = waitReady(p.port(), ready_timeout);
    if (!ready) return ready << "; log:\n" << p.log();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult startUp(ServerProcess& p, const ScratchDir& dir,
                                   const std::vector<std::string>& extra,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {surgeBinary(),         "up",          "--synthetic",
                                   "--listen",            "127.0.0.1:0", "--admin",
                                   "127.0.0.1:0",         "--autoscaler-admin", "127.0.0.1:0",
                                   "--state-dir",         dir.file("state"), "--log-level",
                                   "info"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto started = p.start(argv, dir.file("up.log"), "surge up ready: listening on", timeout);
  if (started && (p.port() <= 0 || p.portAfter("(admin") <= 0 || p.portAfter("autoscaler") <= 0)) {
    return ::testing::AssertionFailure() << "missing port on: " << p.line();
  }
  return started;
}

int runToExit(const std::vector<std::string>& argv, const std::string& log_path,
              std::chrono::milliseconds timeout, std::string* out) {
  Process p;
  std::string err;
  if (!p.start(argv, &err, log_path)) {
    ADD_FAILURE() << "cannot start " << argv.at(0) << ": " << err;
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  p.waitForLine("\x01never", timeout);  // reads stdout until EOF (or the deadline)
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  auto code = p.wait(std::max(left, std::chrono::milliseconds(100)));
  if (out != nullptr) {
    out->clear();
    for (const auto& l : p.lines()) *out += l + "\n";
  }
  if (!code) {
    ADD_FAILURE() << argv.at(0) << (argv.size() > 1 ? " " + argv[1] : "") << " still running after "
                  << timeout.count() << " ms; log:\n"
                  << readFile(log_path);
    return -1;
  }
  return *code;
}

}  // namespace surge::testing
