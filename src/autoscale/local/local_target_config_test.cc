#include "autoscale/local/local_target_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

class LocalTargetConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-ltc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "models");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  StatusOr<LocalTargetConfig> parse(const std::string& yaml) {
    auto node = config::Node::loadString(yaml, "autoscale.yaml");
    if (!node.isOk()) return node.status();
    return parseLocalTarget((*node)["target"]);
  }
  std::string repo() const { return (dir_ / "models").string(); }

  std::filesystem::path dir_;
};

TEST_F(LocalTargetConfigTest, GatewayAdminUrlIsParsedAndNormalised) {
  auto c = parse("target: {kind: local, model_repository: " + repo() +
                 ", gateway: {admin: 'https://[::1]:9901/'}}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->gateway_admin, "https://[::1]:9901");
  c = parse("target: {kind: local, model_repository: " + repo() +
            ", gateway: {admin: 'HTTP://gw:9901'}}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->gateway_admin, "http://gw:9901");
}

TEST_F(LocalTargetConfigTest, Defaults) {
  auto c = parse("target: {kind: local, model_repository: " + repo() + "}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->args, defaultLocalArgs());
  EXPECT_EQ(c->args, (std::vector<std::string>{"serve", "--model-repository", "{repo}",
                                                "--listen", "127.0.0.1:0", "--grpc-listen",
                                                "127.0.0.1:0"}));
  EXPECT_EQ(c->min_replicas, 2);
  EXPECT_EQ(c->termination_grace_period, 30s);
  EXPECT_EQ(c->gateway_admin, "http://127.0.0.1:9901");
  EXPECT_TRUE(c->gateway_token.empty());
  EXPECT_FALSE(c->command.empty());
  EXPECT_NE(c->command, "/proc/self/exe");  // resolved to this binary's path
  EXPECT_TRUE(std::filesystem::exists(c->command));
  EXPECT_TRUE(c->requests_milli.empty());
}

TEST_F(LocalTargetConfigTest, EveryField) {
  std::ofstream(dir_ / "token") << "s3cret\n";
  auto c = parse(
      "target:\n"
      "  kind: local\n"
      "  command: /usr/bin/env\n"
      "  args: [surge, serve, --model-repository, '{repo}', --listen, '127.0.0.1:0']\n"
      "  model_repository: " + repo() + "\n"
      "  resources: {requests: {cpu: 500m, memory: 256Mi}}\n"
      "  env: {OMP_NUM_THREADS: '1', REPLICA: '{name}'}\n"
      "  gateway: {admin: 'http://127.0.0.1:9999', token_file: " + (dir_ / "token").string() +
      ", weight: 50, zone: a}\n"
      "  min_replicas: 0\n"
      "  max_replicas: 4\n"
      "  slow_start: 10s\n"
      "  ready_timeout: 2m\n"
      "  unready_timeout: 20s\n"
      "  drain_timeout: 5s\n"
      "  termination_grace_period: 3s\n"
      "  probe: {path: /ready, period: 100ms, timeout: 500ms, failure_threshold: 2}\n"
      "  crash_backoff: {initial: 2s, max: 30s, reset_after: 5m}\n"
      "  run_dir: /tmp/x\n"
      "  name_prefix: mlp\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->command, "/usr/bin/env");
  EXPECT_EQ(c->args.size(), 6u);
  EXPECT_EQ(c->requests_milli.at("cpu"), 500);
  EXPECT_EQ(c->requests_milli.at("memory"), 256LL * 1024 * 1024 * 1000);
  EXPECT_EQ(c->env.at("REPLICA"), "{name}");
  EXPECT_EQ(c->gateway_admin, "http://127.0.0.1:9999");
  EXPECT_EQ(c->gateway_token, "s3cret");
  EXPECT_EQ(c->weight, 50);
  EXPECT_EQ(c->zone, "a");
  EXPECT_EQ(c->min_replicas, 0);
  EXPECT_EQ(c->max_replicas, 4);
  EXPECT_EQ(c->slow_start, 10s);
  EXPECT_EQ(c->ready_timeout, 120s);
  EXPECT_EQ(c->unready_timeout, 20s);
  EXPECT_EQ(c->drain_timeout, 5s);
  EXPECT_EQ(c->termination_grace_period, 3s);
  EXPECT_EQ(c->probe_path, "/ready");
  EXPECT_EQ(c->probe_period, 100ms);
  EXPECT_EQ(c->probe_timeout, 500ms);
  EXPECT_EQ(c->failure_threshold, 2);
  EXPECT_EQ(c->backoff_initial, 2s);
  EXPECT_EQ(c->backoff_max, 30s);
  EXPECT_EQ(c->backoff_reset_after, 300s);
  EXPECT_EQ(c->run_dir, "/tmp/x");
  EXPECT_EQ(c->name_prefix, "mlp");
}

TEST_F(LocalTargetConfigTest, UnknownKeyGetsDidYouMeanWithItsLocation) {
  auto c = parse("target:\n  kind: local\n  model_repository: " + repo() +
                 "\n  termination_grace_periode: 3s\n");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:4:3"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("did you mean 'termination_grace_period'"),
            std::string::npos)
      << c.status().message();
}

TEST_F(LocalTargetConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml, needle;
  };
  std::vector<Case> cases = {
      {"target: {kind: kubernetes}", "kind"},
      {"target: {kind: local}", "model_repository: missing required field"},
      {"target: {kind: local, model_repository: /nonexistent/dir}", "is not a directory"},
      {"target: {kind: local, model_repository: REPO, resources: {requests: {cpu: 12x}}}",
       "resources.requests.cpu"},
      {"target: {kind: local, model_repository: REPO, resources: {requests: {gpu: 1}}}",
       "unknown field 'gpu'"},
      {"target: {kind: local, model_repository: REPO, min_replicas: -1}", "min_replicas"},
      {"target: {kind: local, model_repository: REPO, min_replicas: 5, max_replicas: 3}",
       "max_replicas: must be >= min_replicas"},
      {"target: {kind: local, model_repository: REPO, ready_timeout: 0s}",
       "ready_timeout: must be greater than 0"},
      {"target: {kind: local, model_repository: REPO, gateway: {admin: 'ftp://x:1'}}",
       "gateway.admin: unsupported URL scheme 'ftp'"},
      {"target: {kind: local, model_repository: REPO, gateway: {admin: 'http://x:99999'}}",
       "gateway.admin: malformed URL 'http://x:99999': bad port '99999'"},
      {"target: {kind: local, model_repository: REPO, gateway: {admin: 'http://x:1?a=1'}}",
       "must not have a path or query"},
      {"target: {kind: local, model_repository: REPO, gateway: {admin: 'x:1'}}",
       "no scheme"},
      {"target: {kind: local, model_repository: REPO, gateway: {token: a, token_file: /x}}",
       "not both"},
      {"target: {kind: local, model_repository: REPO, gateway: {weight: 0}}", "gateway.weight"},
      {"target: {kind: local, model_repository: REPO, args: [serve, '{rep}']}",
       "unknown placeholder '{rep}'"},
      {"target: {kind: local, model_repository: REPO, env: {A: '{x'}}", "unterminated"},
      {"target: {kind: local, model_repository: REPO, probe: {path: ready}}",
       "must start with '/'"},
      {"target: {kind: local, model_repository: REPO, name_prefix: 'a b'}", "name_prefix"},
      {"target: {kind: local, model_repository: REPO, crash_backoff: {initial: 5s, max: 1s}}",
       "crash_backoff.max"},
      {"target: [1, 2]", "expected a map"},
  };
  for (const auto& tc : cases) {
    std::string yaml = tc.yaml;
    size_t p = yaml.find("REPO");
    if (p != std::string::npos) yaml.replace(p, 4, repo());
    auto c = parse(yaml);
    ASSERT_FALSE(c.isOk()) << yaml;
    EXPECT_NE(c.status().message().find(tc.needle), std::string::npos)
        << yaml << "\n  → " << c.status().message();
    EXPECT_NE(c.status().message().find("autoscale.yaml:"), std::string::npos)
        << c.status().message();
  }
}

TEST_F(LocalTargetConfigTest, RepoNotRequiredWhenTheTemplateDoesNotUseIt) {
  auto c = parse("target: {kind: local, command: /bin/sh, args: ['-c', 'sleep 1']}");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->model_repository.empty());
}

TEST(ExpandLocalTemplate, ReplacesPlaceholdersAndEscapes) {
  EXPECT_EQ(expandLocalTemplate("{repo}/{name}-{index} {run_dir} {{x}}", "/m", "replica-3", 3,
                                "/run"),
            "/m/replica-3-3 /run {x}");
  EXPECT_EQ(expandLocalTemplate("plain", "/m", "n", 1, "/r"), "plain");
}

}  // namespace
}  // namespace surge::autoscale
