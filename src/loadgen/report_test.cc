#include "loadgen/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loadgen/driver.h"

namespace surge::loadgen {
namespace {

TEST(Report, JsonHasConfigAndLevels) {
  RunConfig c;
  c.url = "http://127.0.0.1:8000";
  c.model = "m";
  c.mode = "sweep";
  c.concurrency = {1, 2};
  LevelResult a;
  a.mode = "closed";
  a.concurrency = 2;
  a.requests = 10;
  a.ok = 8;
  a.errors[503] = 2;
  a.rps = 100.5;
  a.p99_s = 0.012;
  a.avg_batch = 1.5;
  auto j = nlohmann::json::parse(toJson(c, {a}));
  EXPECT_EQ(j["schema"], "surge.load/v1");
  EXPECT_EQ(j["config"]["model"], "m");
  EXPECT_EQ(j["config"]["concurrency"], nlohmann::json::array({1, 2}));
  ASSERT_EQ(j["levels"].size(), 1u);
  const auto& l = j["levels"][0];
  EXPECT_EQ(l["concurrency"], 2);
  EXPECT_EQ(l["errors"], 2);
  EXPECT_EQ(l["errors_by_status"]["503"], 2);
  EXPECT_DOUBLE_EQ(l["rps"].get<double>(), 100.5);
  EXPECT_DOUBLE_EQ(l["latency_s"]["p99"].get<double>(), 0.012);
  EXPECT_DOUBLE_EQ(l["avg_batch"].get<double>(), 1.5);
  LevelResult b;
  auto j2 = nlohmann::json::parse(toJson(c, {b}));
  EXPECT_TRUE(j2["levels"][0]["avg_batch"].is_null());
}

TEST(Report, TableHasOneLinePerLevel) {
  LevelResult a;
  a.mode = "closed";
  a.concurrency = 4;
  a.rps = 1234.5;
  a.p50_s = 0.0015;
  std::string t = formatTable({a, a});
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 3);
  EXPECT_NE(t.find("1234.5"), std::string::npos);
  EXPECT_NE(t.find("1.500"), std::string::npos);
}

TEST(Url, SplitsHostPortAndPrefix) {
  auto a = parseUrl("http://127.0.0.1:8000");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->first, "127.0.0.1:8000");
  EXPECT_EQ(a->second, "");
  auto b = parseUrl("http://example:81/api/");
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->second, "/api");
  EXPECT_EQ(parseUrl("http://localhost")->first, "localhost:80");
  EXPECT_FALSE(parseUrl("https://x").isOk());
  EXPECT_FALSE(parseUrl("127.0.0.1:80").isOk());
  EXPECT_EQ(parseUrl("http://[::1]:8000/p")->first, "[::1]:8000");
  EXPECT_EQ(parseUrl("http://[::1]")->first, "[::1]:80");
  EXPECT_FALSE(parseUrl("http://h:x").isOk());
}

TEST(Url, ModelPathEscapesTheNameAndVersion) {
  EXPECT_EQ(modelPath("", "m"), "/v2/models/m");
  EXPECT_EQ(modelPath("/api", "m", "", "infer"), "/api/v2/models/m/infer");
  EXPECT_EQ(modelPath("", "a b", "", "infer"), "/v2/models/a%20b/infer");
  EXPECT_EQ(modelPath("", "a#b"), "/v2/models/a%23b");
  EXPECT_EQ(modelPath("", "a/b?c", "1 2", "ready"), "/v2/models/a%2Fb%3Fc/versions/1%202/ready");
  EXPECT_EQ(modelPath("", ".."), "/v2/models/%2E%2E");
}

TEST(Request, HasFramingHeaders) {
  Target t;
  t.host_port = "h:1";
  t.path = "/v2/models/m/infer";
  t.body = "{}";
  std::string r = buildRequest(t);
  EXPECT_EQ(r.rfind("POST /v2/models/m/infer HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 6), "\r\n\r\n{}");
}

}  // namespace
}  // namespace surge::loadgen
