// LoadDriver against a tiny raw-socket HTTP server on 127.0.0.1 that closes kept-alive
// connections the way real servers do: after an idle timeout, or as a request arrives. Those
// closes are the server's keep-alive policy, not failed requests: the driver must not report them
// as status 0 (the 180 s soak's "8 connection errors", docs/design/gateway.md).
#include "loadgen/driver.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace surge::loadgen {
namespace {

using namespace std::chrono_literals;

class RawServer {
 public:
  enum class Mode {
    kIdleTimeout,     // keep-alive, closes a connection idle for idle_ms
    kCloseOnSecond,   // answers the first request of a connection, closes on the second
    kNeverAnswer,     // closes every connection as its first request arrives
  };

  RawServer(Mode mode, int idle_ms, int delay_ms)
      : mode_(mode), idle_ms_(idle_ms), delay_ms_(delay_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 128), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~RawServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      accepted_.fetch_add(1);
      conns_.emplace_back([this, c] { serve(c); });
    }
  }

  // Reads one request (head + Content-Length body); false on EOF, error or idle timeout.
  bool readRequest(int c, std::string& buf, int wait_ms) {
    while (true) {
      size_t end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = 0;
        if (size_t h = buf.find("Content-Length: "); h != std::string::npos && h < end) {
          cl = std::stoul(buf.substr(h + 16));
        }
        if (buf.size() >= end + 4 + cl) {
          buf.erase(0, end + 4 + cl);
          return true;
        }
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, wait_ms) <= 0 || stop_) return false;
      char tmp[4096];
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
  }

  void serve(int c) {
    std::string buf;
    for (int i = 0; !stop_; ++i) {
      if (!readRequest(c, buf, i == 0 ? 2000 : idle_ms_)) break;
      if (mode_ == Mode::kNeverAnswer || (mode_ == Mode::kCloseOnSecond && i == 1)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      static const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      if (::send(c, kOk, sizeof kOk - 1, MSG_NOSIGNAL) < 0) break;
    }
    ::close(c);
  }

  Mode mode_;
  int idle_ms_, delay_ms_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> conns_;  // touched by the acceptor thread only until the join
};

Target target(int port) {
  Target t;
  t.host_port = "127.0.0.1:" + std::to_string(port);
  t.path = "/infer";
  t.body = "{}";
  return t;
}

TEST(LoadDriverKeepAlive, ConnectionsTheServerClosedWhileIdleAreNotErrors) {
  // Bursts open several connections; the quiet phase leaves them idle past the server's 150 ms
  // idle timeout; the next burst reuses them. Before the fix each reuse was a status-0 error.
  RawServer server(RawServer::Mode::kIdleTimeout, 150, 20);
  LoadDriver d(target(server.port()), 5s);
  ASSERT_TRUE(d.init().isOk());
  auto profile = RateProfile::parse("step:300,3,300@0.6s");
  ASSERT_TRUE(profile.isOk()) << profile.status().message();
  WindowStats w = d.runOpen(*profile, 64, 5s);
  EXPECT_GT(w.requests(), 300u);
  EXPECT_EQ(w.errors.size(), 0u) << "status 0: " << (w.errors.count(0) ? w.errors.at(0) : 0);
  EXPECT_EQ(w.ok, w.requests());
  EXPECT_GT(w.stale_closed, 0u) << "the scenario did not happen: no idle connection was closed";
}

TEST(LoadDriverKeepAlive, AReusedConnectionClosedUnderARequestIsRetriedOnce) {
  // The race the peek cannot see: the server closes as the request arrives.
  RawServer server(RawServer::Mode::kCloseOnSecond, 1000, 0);
  LoadDriver d(target(server.port()), 5s);
  ASSERT_TRUE(d.init().isOk());
  auto windows =
      d.runClosed(2, 300ms, [](const std::vector<WindowStats>& w) { return w.size() < 2; });
  uint64_t requests = 0, ok = 0, retries = 0;
  for (const auto& w : windows) {
    requests += w.requests();
    ok += w.ok;
    retries += w.stale_retries;
  }
  EXPECT_GT(requests, 10u);
  EXPECT_EQ(ok, requests);
  EXPECT_GT(retries, 0u);
}

TEST(LoadDriverKeepAlive, AFreshConnectionClosedWithoutAnswerIsStillAnError) {
  // Only reused connections are retried, and only once: a server that never answers is reported.
  RawServer server(RawServer::Mode::kNeverAnswer, 1000, 0);
  LoadDriver d(target(server.port()), 5s);
  ASSERT_TRUE(d.init().isOk());
  auto profile = RateProfile::parse("step:50@0.2s");
  ASSERT_TRUE(profile.isOk());
  WindowStats w = d.runOpen(*profile, 8, 2s);
  EXPECT_GT(w.requests(), 0u);
  EXPECT_EQ(w.ok, 0u);
  EXPECT_EQ(w.errors[0], w.requests());
  EXPECT_EQ(w.stale_retries, 0u);
}

// Control calls (metadata, /metrics) go through the control-plane client, not the load engine.
TEST(LoadDriverFetch, ControlCallAnswersAndUnreachableServer) {
  int port = 0;
  {
    RawServer server(RawServer::Mode::kIdleTimeout, 1000, 0);
    port = server.port();
    LoadDriver d(target(port), 5s);
    ASSERT_TRUE(d.init().isOk());
    auto r = d.fetch("GET", "/v2/models/m", "", 2s);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
  }
  LoadDriver d(target(port), 5s);  // the server is gone: nothing listens on the port
  ASSERT_TRUE(d.init().isOk());
  auto r = d.fetch("GET", "/v2/health/ready", "", 1s);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot reach 127.0.0.1:" + std::to_string(port) +
                                      ": GET http://127.0.0.1:" + std::to_string(port) +
                                      "/v2/health/ready: connect: Connection refused"),
            std::string::npos)
      << r.status().message();
}

// An error from a server that was reached (here: a 2 MB response header) is the client's own
// message, not "cannot reach HOST:PORT".
TEST(LoadDriverFetch, ErrorsOfAReachedServerAreNotCannotReach) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  std::thread server([fd] {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[4096];
    (void)::recv(c, buf, sizeof buf, 0);
    std::string resp =
        "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2 << 20, 'a') + "\r\nContent-Length: 0\r\n\r\n";
    for (size_t off = 0; off < resp.size();) {
      ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(c);
  });
  LoadDriver d(target(port), 5s);
  ASSERT_TRUE(d.init().isOk());
  auto r = d.fetch("GET", "/v2/models/m", "", 2s);
  server.join();
  ::close(fd);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message().find("cannot reach"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("response headers too large"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace surge::loadgen
