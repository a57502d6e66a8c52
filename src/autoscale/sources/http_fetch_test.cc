#include "autoscale/sources/http_fetch.h"

#include <gtest/gtest.h>

#include <chrono>

#include "autoscale/sources/fake_http_server.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

TEST(ParseHttpUrl, Forms) {
  auto u = parseHttpUrl("http://127.0.0.1:9090/api/v1/query?query=up");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9090);
  EXPECT_EQ(u->target, "/api/v1/query?query=up");
  u = parseHttpUrl("prometheus:9090");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->host, "prometheus");
  EXPECT_EQ(u->target, "/");
  u = parseHttpUrl("http://[::1]:81");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 81);
  u = parseHttpUrl("http://example");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->port, 80);
}

TEST(ParseHttpUrl, Errors) {
  auto u = parseHttpUrl("https://prometheus:9090");
  ASSERT_FALSE(u.isOk());
  EXPECT_NE(u.status().message().find("only http://"), std::string::npos);
  EXPECT_FALSE(parseHttpUrl("http://host:99999/").isOk());
  EXPECT_FALSE(parseHttpUrl("http://host:x/").isOk());
  EXPECT_FALSE(parseHttpUrl("http:///path").isOk());
  EXPECT_FALSE(parseHttpUrl("http://user@host/").isOk());
}

TEST(QueryEscape, LikeGo) {
  EXPECT_EQ(queryEscape("sum(x{a=\"b\"}) [1m]"), "sum%28x%7Ba%3D%22b%22%7D%29+%5B1m%5D");
  EXPECT_EQ(queryEscape("a-b_c.d~"), "a-b_c.d~");
}

TEST(HttpGet, FetchesBodyAndStatus) {
  testing::FakeHttpServer server([](const net::HttpRequest& r) {
    if (r.path == "/missing") return net::HttpResponse::text(404, "nope");
    return net::HttpResponse::text(200, "hello " + r.query, "text/plain; version=0.0.4");
  });
  ASSERT_TRUE(server.ok());
  auto r = httpGet(server.url("/metrics?x=1"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello x=1");
  EXPECT_EQ(r->content_type, "text/plain; version=0.0.4");
  r = httpGet(server.url("/missing"));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "nope");
}

TEST(HttpGet, LargeBody) {
  std::string big(300000, 'x');
  testing::FakeHttpServer server(
      [&](const net::HttpRequest&) { return net::HttpResponse::text(200, big); });
  auto r = httpGet(server.url("/"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body.size(), big.size());
}

TEST(HttpGet, ChunkedBody) {
  net::asio::io_context io{1};
  net::HttpServer server(io, [](const net::HttpRequest&, std::shared_ptr<net::Responder> resp) {
    resp->startStream(200, {{"Content-Type", "text/plain"}});
    resp->writeChunk("abc");
    resp->writeChunk("def");
    resp->endStream();
  });
  ASSERT_TRUE(server.listen("127.0.0.1:0").isOk());
  std::thread t([&] {
    auto g = net::asio::make_work_guard(io);
    io.run();
  });
  auto r = httpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  io.stop();
  t.join();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, "abcdef");
}

TEST(HttpGet, ConnectionRefused) {
  uint16_t port;
  {
    testing::FakeHttpServer server;
    port = server.port();
  }
  auto r = httpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("Connection refused"), std::string::npos)
      << r.status().message();
}

TEST(HttpGet, ReadTimeout) {
  net::asio::io_context io{1};
  net::HttpServer server(io, [](const net::HttpRequest&, std::shared_ptr<net::Responder> resp) {
    resp->after(3s, [resp] { resp->send(net::HttpResponse::text(200, "late")); });
  });
  ASSERT_TRUE(server.listen("127.0.0.1:0").isOk());
  std::thread t([&] {
    auto g = net::asio::make_work_guard(io);
    io.run();
  });
  HttpFetchOptions o;
  o.read_timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = httpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/", o);
  auto took = std::chrono::steady_clock::now() - start;
  server.stop();
  io.stop();
  t.join();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("no response within 200ms"), std::string::npos)
      << r.status().message();
  EXPECT_LT(took, 2500ms);
}

TEST(HttpGet, UnresolvableHost) {
  auto r = httpGet("http://no-such-host.invalid:9090/");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("cannot resolve"), std::string::npos);
}

}  // namespace
}  // namespace surge::autoscale
