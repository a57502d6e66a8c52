#include "autoscale/sources/prometheus_client.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/fake_http_server.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

TEST(ParsePrometheusResponse, Vector) {
  auto r = parsePrometheusResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"deployment":"model-server"},"value":[1700000000.5,"12.25"]},
          {"metric":{},"value":[1700000000.5,"NaN"]},
          {"metric":{},"value":[1700000000.5,"+Inf"]},
          {"metric":{},"value":[1700000000.5,"-Inf"]}]}})",
      200);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->result_type, "vector");
  ASSERT_EQ(r->samples.size(), 4u);
  EXPECT_EQ(r->samples[0].value, 12.25);
  EXPECT_EQ(r->samples[0].labels.at("deployment"), "model-server");
  EXPECT_DOUBLE_EQ(r->samples[0].timestamp, 1700000000.5);
  EXPECT_TRUE(std::isnan(r->samples[1].value));
  EXPECT_TRUE(std::isinf(r->samples[2].value) && r->samples[2].value > 0);
  EXPECT_TRUE(std::isinf(r->samples[3].value) && r->samples[3].value < 0);
}

TEST(ParsePrometheusResponse, ScalarAndEmpty) {
  auto r = parsePrometheusResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.1"]}})", 200);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->samples[0].value, 0.1);
  EXPECT_TRUE(r->samples[0].labels.empty());
  r = parsePrometheusResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                              200);
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r->samples.empty());
}

TEST(ParsePrometheusResponse, Errors) {
  auto r = parsePrometheusResponse(
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected }"})", 400);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "prometheus: bad_data: 1:5: parse error: unexpected }");
  r = parsePrometheusResponse(
      R"({"status":"error","errorType":"timeout","error":"query timed out"})", 503);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  r = parsePrometheusResponse("<html>Bad Gateway</html>", 502);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("HTTP 502"), std::string::npos);
  r = parsePrometheusResponse(R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                              200);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'matrix' is not supported"), std::string::npos);
  r = parsePrometheusResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}]}})", 200);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("malformed"), std::string::npos);
  r = parsePrometheusResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,2]}]}})", 200);
  EXPECT_FALSE(r.isOk());
  EXPECT_FALSE(parsePrometheusResponse("{\"status\":\"success\"}", 200).isOk());
  EXPECT_FALSE(parsePrometheusResponse("[1,2]", 200).isOk());
}

TEST(PrometheusClient, QueriesEncodedOverHttp) {
  testing::FakeHttpServer prom([](const net::HttpRequest& r) {
    if (r.path != "/api/v1/query") return net::HttpResponse::jsonError(404, "no");
    auto q = r.queryParam("query");
    if (!q || *q != "sum(model_request_queue_length{deployment=\"model-server\"})") {
      return net::HttpResponse::json(
          400, R"({"status":"error","errorType":"bad_data","error":"unexpected query"})");
    }
    return net::HttpResponse::json(200,
                                   R"({"status":"success","data":{"resultType":"vector","result":[)"
                                   R"({"metric":{},"value":[1700000000,"42"]}]}})");
  });
  PrometheusClient c(prom.url("/"));
  auto r = c.query("sum(model_request_queue_length{deployment=\"model-server\"})");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->samples[0].value, 42);
  EXPECT_NE(prom.lastTarget().find("query=sum%28model_request_queue_length%7Bdeployment%3D%22"),
            std::string::npos)
      << prom.lastTarget();
  r = c.query("up");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("unexpected query"), std::string::npos);
}

TEST(PrometheusClient, DownAndTimeout) {
  std::string dead;
  {
    testing::FakeHttpServer gone;
    dead = gone.url("");
  }
  auto r = PrometheusClient(dead).query("up");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("Connection refused"), std::string::npos);

  net::asio::io_context io{1};
  net::HttpServer slow(io, [](const net::HttpRequest&, std::shared_ptr<net::Responder> resp) {
    resp->after(3s, [resp] { resp->send(net::HttpResponse::json(200, "{}")); });
  });
  ASSERT_TRUE(slow.listen("127.0.0.1:0").isOk());
  std::thread t([&] {
    auto g = net::asio::make_work_guard(io);
    io.run();
  });
  net::ClientOptions o;
  o.timeout = 150ms;
  r = PrometheusClient("http://127.0.0.1:" + std::to_string(slow.port()), o).query("up");
  slow.stop();
  io.stop();
  t.join();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace surge::autoscale
