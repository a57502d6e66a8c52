#include "autoscale/prometheus_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/fake_http_server.h"
#include "autoscale/sources/keda_scaler.h"

namespace surge::autoscale {
namespace {

class PrometheusAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge_prom_auth_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "token") << "file-token\n";
    std::ofstream(dir_ / "password") << "s3cret\n";
    std::ofstream(dir_ / "ca.pem") << "not checked at parse time\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  StatusOr<TriggerAuthentications> parse(const std::string& yaml) {
    auto n = config::Node::loadString(yaml, "autoscale.yaml");
    if (!n.isOk()) return n.status();
    return parseTriggerAuthentications(*n);
  }

  std::filesystem::path dir_;
};

TEST_F(PrometheusAuthTest, ParsesEveryField) {
  auto a = parse("prom:\n  bearer_token_file: " + path("token") +
                 "\n  username: alice\n  password_file: " + path("password") +
                 "\n  ca_file: " + path("ca.pem") +
                 "\n  custom_auth_header: X-Api-Key\n  custom_auth_value: k\n"
                 "  insecure_skip_verify: true\n  headers: {X-Scope-OrgID: team-a}\n");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  const PrometheusAuth& p = a->at("prom");
  EXPECT_EQ(p.location, "autoscale.yaml:2:3");
  EXPECT_TRUE(p.hasBearer() && p.hasBasic() && p.hasCustom());
  EXPECT_FALSE(p.hasTls());
  net::ClientOptions o;
  ASSERT_TRUE(applyPrometheusAuth(p, o).isOk());
  EXPECT_EQ(o.bearer_token_file, path("token"));
  EXPECT_EQ(o.username, "alice");
  EXPECT_EQ(o.password, "s3cret");  // read from the file, newline dropped
  EXPECT_EQ(o.ca_file, path("ca.pem"));
  EXPECT_TRUE(o.insecure_skip_verify);
  ASSERT_EQ(o.headers.size(), 2u);
  EXPECT_EQ(o.headers[0].first, "X-Scope-OrgID");
  EXPECT_EQ(o.headers[1], (std::pair<std::string, std::string>{"X-Api-Key", "k"}));
}

TEST_F(PrometheusAuthTest, ErrorsNameFileLineAndField) {
  auto e = parse("prom:\n  ca_file: " + path("missing.pem") + "\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("autoscale.yaml:2:12: prom.ca_file: cannot read " +
                                      path("missing.pem") + ": No such file or directory"),
            std::string::npos)
      << e.status().message();
  e = parse("prom:\n  bearer_token: a\n  bearer_token_file: " + path("token") + "\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("prom.bearer_token_file: give bearer_token or "
                                      "bearer_token_file, not both"),
            std::string::npos)
      << e.status().message();
  e = parse("prom:\n  password: x\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("needs a username"), std::string::npos);
  e = parse("prom:\n  cert_file: " + path("ca.pem") + "\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("cert_file and key_file must be given together"),
            std::string::npos);
  e = parse("prom:\n  custom_auth_header: X-Key\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("needs custom_auth_value"), std::string::npos);
  e = parse("prom:\n  headers: {\"Bad Name\": x}\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("not a valid header name"), std::string::npos);
  e = parse("prom:\n  bearer_tokn: x\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("did you mean 'bearer_token'"), std::string::npos)
      << e.status().message();
  e = parse("prom: [1]\n");
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("expected a map"), std::string::npos);
}

TEST_F(PrometheusAuthTest, UnreadablePasswordFileAtQueryTime) {
  PrometheusAuth a;
  a.username = "alice";
  a.password_file = path("gone");
  net::ClientOptions o;
  Status s = applyPrometheusAuth(a, o);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("cannot read password_file"), std::string::npos) << s.message();
}

// The trigger's credentials and headers reach Prometheus.
TEST_F(PrometheusAuthTest, QueryCarriesAuthAndHeaders) {
  testing::FakeHttpServer server([](const net::HttpRequest& r) {
    std::string auth(r.header("authorization").value_or(""));
    std::string org(r.header("x-scope-orgid").value_or(""));
    std::string key(r.header("x-api-key").value_or(""));
    if (auth != "Bearer file-token" || org != "team-a" || key != "k") {
      return net::HttpResponse::json(401, R"({"status":"error","errorType":"unauthorized",)"
                                          R"("error":")" + auth + "|" + org + "|" + key + "\"}");
    }
    return net::HttpResponse::json(
        200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"42"]}})");
  });
  ASSERT_TRUE(server.ok());
  PrometheusTrigger t;
  t.server_address = server.url("");
  t.query = "up";
  t.threshold = 1;
  t.auth.bearer_token_file = path("token");
  t.auth.headers = {{"X-Scope-OrgID", "team-a"}};
  t.auth.custom_auth_header = "X-Api-Key";
  t.auth.custom_auth_value = "k";
  auto v = queryPrometheusTrigger(t);
  ASSERT_TRUE(v.isOk()) << v.status().message();
  EXPECT_EQ(*v, 42);
  t.auth.headers.clear();
  v = queryPrometheusTrigger(t);
  ASSERT_FALSE(v.isOk());
  EXPECT_NE(v.status().message().find("Bearer file-token||k"), std::string::npos)
      << v.status().message();
}

}  // namespace
}  // namespace surge::autoscale
