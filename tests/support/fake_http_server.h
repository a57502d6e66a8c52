// Test helper: a net::HttpServer on 127.0.0.1:0 running on its own thread, answering with a
// handler the test can swap. Test-only (not part of surge_autoscale_sources).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "net/asio.h"
#include "net/http_server.h"

namespace surge::autoscale::testing {

class FakeHttpServer {
 public:
  explicit FakeHttpServer(net::Handler handler = nullptr) : handler_(std::move(handler)) {
    server_ = std::make_unique<net::HttpServer>(io_, [this](const net::HttpRequest& r) {
      net::Handler h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        h = handler_;
        ++requests_;
        last_target_ = r.target;
      }
      return h ? h(r) : net::HttpResponse::text(404, "no handler");
    });
    ok_ = server_->listen("127.0.0.1:0").isOk();
    thread_ = std::thread([this] {
      auto guard = net::asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~FakeHttpServer() {
    io_.stop();
    thread_.join();
    server_.reset();
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return server_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string url(const std::string& path) const { return "http://" + address() + path; }
  void setHandler(net::Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }
  void setPage(std::string body) {
    setHandler([body](const net::HttpRequest&) {
      return net::HttpResponse::text(200, body, "text/plain; version=0.0.4");
    });
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string lastTarget() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_target_;
  }

 private:
  net::asio::io_context io_{1};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::mutex mu_;
  net::Handler handler_;
  int requests_ = 0;
  std::string last_target_;
  bool ok_ = false;
};

}  // namespace surge::autoscale::testing
