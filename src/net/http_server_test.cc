#include "net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "net/asio.h"
#include "support/socket_client.h"

namespace surge::net {
namespace {

using namespace std::chrono_literals;
using namespace surge::testing;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(Handler h, HttpServerOptions o = {}) {
    server_ = std::make_unique<HttpServer>(io_, std::move(h), o);
    ASSERT_TRUE(server_->listen("127.0.0.1:0").isOk());
    runLoop();
  }
  void startAsync(AsyncHandler h, HttpServerOptions o = {}) {
    server_ = std::make_unique<HttpServer>(io_, std::move(h), o);
    ASSERT_TRUE(server_->listen("127.0.0.1:0").isOk());
    runLoop();
  }
  void runLoop() {
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  asio::io_context io_{1};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

Handler echoHandler() {
  return [](const HttpRequest& r) {
    std::string body = r.method + " " + r.path + " q=" + r.query + " body=" + r.body;
    if (auto v = r.header("x-test")) body += " x-test=" + std::string(*v);
    if (auto q = r.queryParam("name")) body += " name=" + *q;
    return HttpResponse::text(200, body);
  };
}

TEST_F(HttpServerTest, AnswersAndDecodes) {
  start(echoHandler());
  std::string r =
      httpExchange(server_->port(), "GET", "/a%20b?name=x%2By&z=1", {}, "X-Test: 7\r\n");
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_EQ(bodyOf(r), "GET /a b q=name=x%2By&z=1 body= x-test=7 name=x+y");
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  start(echoHandler());
  int fd = connectTo(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      sendAll(fd,
              "GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
              "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"));
  std::string all = readFor(fd, 2s, "body=xy");
  EXPECT_NE(all.find("GET /1"), std::string::npos) << all;
  EXPECT_NE(all.find("POST /2 q= body=abc"), std::string::npos) << all;
  EXPECT_NE(all.find("POST /3 q= body=xy"), std::string::npos) << all;
  EXPECT_LT(all.find("GET /1"), all.find("POST /2"));
  // Still open.
  ASSERT_TRUE(sendAll(fd, "GET /4 HTTP/1.1\r\n\r\n"));
  std::string r4 = readResponse(fd);
  EXPECT_NE(r4.find("GET /4"), std::string::npos);
  ::close(fd);
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  start(echoHandler());
  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "GET /x HTTP/1.0\r\n\r\n"));
  std::string r = readFor(fd, 2s);  // EOF ends it
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  ::close(fd);

  fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = readResponse(fd);
  EXPECT_NE(r.find("Connection: keep-alive"), std::string::npos) << r;
  ASSERT_TRUE(sendAll(fd, "GET /y HTTP/1.0\r\n\r\n"));
  r = readFor(fd, 2s);
  EXPECT_NE(r.find("GET /y"), std::string::npos);
  ::close(fd);
}

TEST_F(HttpServerTest, MalformedInputGetsJsonErrors) {
  HttpServerOptions o;
  o.limits.max_head_bytes = 2048;
  o.limits.max_body_bytes = 10;
  start(echoHandler(), o);
  std::string r = httpExchange(server_->port(), "GET", "/bad path");
  EXPECT_EQ(statusOf(r), 400) << r;
  EXPECT_NE(bodyOf(r).find("\"error\""), std::string::npos);

  r = httpExchange(server_->port(), "GET", "/", {}, "X-Big: " + std::string(4000, 'a') + "\r\n");
  EXPECT_EQ(statusOf(r), 431) << r;

  r = httpExchange(server_->port(), "POST", "/", std::string(11, 'b'));
  EXPECT_EQ(statusOf(r), 413) << r;

  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
  r = readFor(fd, 2s);
  EXPECT_EQ(statusOf(r), 400) << r;
  ::close(fd);

  r = httpExchange(server_->port(), "POST", "/", "0123456789");
  EXPECT_EQ(statusOf(r), 200) << r;
}

// The server's own error answers (never seen by the handler) carry X-Content-Type-Options:
// nosniff like every admin answer (docs/design/dashboard.md); so does the 500 for a handler that
// threw.
TEST_F(HttpServerTest, OwnErrorAnswersSayNosniff) {
  HttpServerOptions o;
  o.limits.max_head_bytes = 2048;
  o.limits.max_body_bytes = 10;
  o.header_timeout = 100ms;
  start(
      [](const HttpRequest& r) -> HttpResponse {
        if (r.path == "/throw") throw std::runtime_error("boom");
        return HttpResponse::text(200, "ok");
      },
      o);
  auto nosniff = [](const std::string& r) {
    const size_t head_end = r.find("\r\n\r\n");
    return r.find("\r\nX-Content-Type-Options: nosniff\r\n") < head_end;
  };
  std::string r = httpExchange(server_->port(), "GET", "/bad path");
  EXPECT_EQ(statusOf(r), 400) << r;
  EXPECT_TRUE(nosniff(r)) << r;

  r = httpExchange(server_->port(), "GET", "/?" + std::string(4000, 'q'));
  EXPECT_EQ(statusOf(r), 414) << r;
  EXPECT_TRUE(nosniff(r)) << r;

  r = httpExchange(server_->port(), "GET", "/", {}, "X-Big: " + std::string(4000, 'a') + "\r\n");
  EXPECT_EQ(statusOf(r), 431) << r;
  EXPECT_TRUE(nosniff(r)) << r;

  r = httpExchange(server_->port(), "POST", "/", std::string(11, 'b'));
  EXPECT_EQ(statusOf(r), 413) << r;
  EXPECT_TRUE(nosniff(r)) << r;

  r = httpExchange(server_->port(), "GET", "/throw");
  EXPECT_EQ(statusOf(r), 500) << r;
  EXPECT_TRUE(nosniff(r)) << r;

  int fd = connectTo(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "GET / HTTP/1.1\r\nX-Slow: "));
  r = readFor(fd, 3s);
  EXPECT_EQ(statusOf(r), 408) << r;
  EXPECT_TRUE(nosniff(r)) << r;
  ::close(fd);

  // The handler's own answers are the handler's: nothing added.
  r = httpExchange(server_->port(), "GET", "/");
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_FALSE(nosniff(r)) << r;
}

TEST_F(HttpServerTest, HeaderTimeoutGives408) {
  HttpServerOptions o;
  o.header_timeout = 100ms;
  start(echoHandler(), o);
  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "GET / HTTP/1.1\r\nX-Slow: "));
  auto t0 = std::chrono::steady_clock::now();
  std::string r = readFor(fd, 3s);
  EXPECT_EQ(statusOf(r), 408) << r;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ::close(fd);
}

TEST_F(HttpServerTest, IdleTimeoutCloses) {
  HttpServerOptions o;
  o.idle_timeout = 100ms;
  start(echoHandler(), o);
  int fd = connectTo(server_->port());
  std::string r = readFor(fd, 3s);  // returns at EOF
  EXPECT_EQ(r, "");
  ::close(fd);
}

TEST_F(HttpServerTest, ExpectContinue) {
  start(echoHandler());
  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "POST /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
  std::string cont = readFor(fd, 2s, "\r\n\r\n");
  EXPECT_EQ(cont, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(sendAll(fd, "hi"));
  std::string r = readResponse(fd);
  EXPECT_NE(r.find("body=hi"), std::string::npos) << r;
  ::close(fd);
}

TEST_F(HttpServerTest, AsyncAndStreaming) {
  startAsync([](const HttpRequest& r, std::shared_ptr<Responder> resp) {
    if (r.path == "/later") {
      resp->after(20ms, [resp] { resp->send(HttpResponse::text(201, "late")); });
    } else {
      resp->startStream(200, {{"Content-Type", "text/event-stream"}});
      resp->writeChunk("data: 1\n\n");
      resp->after(20ms, [resp] {
        resp->writeChunk("data: 2\n\n");
        resp->endStream();
      });
    }
  });
  std::string r = httpExchange(server_->port(), "GET", "/later");
  EXPECT_EQ(statusOf(r), 201);
  EXPECT_EQ(bodyOf(r), "late");

  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "GET /s HTTP/1.1\r\n\r\n"));
  std::string s = readFor(fd, 2s, "0\r\n\r\n");
  EXPECT_NE(s.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(s.find("9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n"), std::string::npos) << s;
  // Keep-alive after a stream.
  ASSERT_TRUE(sendAll(fd, "GET /later HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(bodyOf(readResponse(fd)), "late");
  ::close(fd);
}

TEST_F(HttpServerTest, StopClosesIdleConnections) {
  start(echoHandler());
  int fd = connectTo(server_->port());
  ASSERT_TRUE(sendAll(fd, "GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(statusOf(readResponse(fd)), 200);
  server_->stop();
  EXPECT_EQ(readFor(fd, 2s), "");  // EOF
  ::close(fd);
  EXPECT_LT(connectTo(server_->port()), 0);
}

}  // namespace
}  // namespace surge::net
