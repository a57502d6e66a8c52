// In-process proxy tests: the Gateway over 2-3 in-process upstreams (net::HttpServer) on
// 127.0.0.1 port 0, driven by blocking loopback clients.
#include "gateway/gateway.h"

#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "net/asio.h"
#include "net/http_server.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;
using namespace surge::testing;
using net::HttpRequest;
using net::HttpResponse;
using net::Responder;

void sseStep(std::shared_ptr<Responder> r, int i, int n, int interval_ms) {
  r->writeChunk("data: " + std::to_string(i) + "\n\n");
  if (i + 1 == n) {
    r->endStream();
    return;
  }
  r->after(std::chrono::milliseconds(interval_ms),
           [r, i, n, interval_ms] { sseStep(r, i + 1, n, interval_ms); });
}

// One IPv4 TCP socket of this machine as /proc/net/tcp shows it: its ports and its queues
// (tx_queue: bytes sent and not yet acknowledged or not yet sent; rx_queue: bytes received and
// not yet read by the application).
struct TcpSocket {
  uint16_t local_port = 0, remote_port = 0;
  uint64_t tx_queue = 0, rx_queue = 0;
};

std::vector<TcpSocket> tcpSockets() {
  std::vector<TcpSocket> out;
  std::ifstream f("/proc/net/tcp");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    // "  0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 ..."
    std::istringstream in(line);
    std::string slot, local, remote, state, queues;
    if (!(in >> slot >> local >> remote >> state >> queues)) continue;
    size_t lc = local.find(':'), rc = remote.find(':'), qc = queues.find(':');
    if (lc == std::string::npos || rc == std::string::npos || qc == std::string::npos) continue;
    TcpSocket t;
    t.local_port = static_cast<uint16_t>(std::stoul(local.substr(lc + 1), nullptr, 16));
    t.remote_port = static_cast<uint16_t>(std::stoul(remote.substr(rc + 1), nullptr, 16));
    t.tx_queue = std::stoull(queues.substr(0, qc), nullptr, 16);
    t.rx_queue = std::stoull(queues.substr(qc + 1), nullptr, 16);
    out.push_back(t);
  }
  return out;
}

// The socket local_port -> remote_port, if there is one.
std::optional<TcpSocket> tcpSocket(uint16_t local_port, uint16_t remote_port) {
  for (const auto& t : tcpSockets()) {
    if (t.local_port == local_port && t.remote_port == remote_port) return t;
  }
  return std::nullopt;
}

uint16_t localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

uint16_t portOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoul(address.substr(address.rfind(':') + 1)));
}

// Bytes this socket sent that its peer's kernel has not acknowledged yet.
int unacknowledged(int fd) {
  int n = -1;
  ::ioctl(fd, SIOCOUTQ, &n);
  return n;
}

// A demo upstream: "/" names itself, /delay/{ms}, /sse?n=&interval_ms=, /hang, /chunked,
// POST answers the body length.
net::AsyncHandler upstreamHandler(std::string name) {
  return [name](const HttpRequest& req, std::shared_ptr<Responder> r) {
    const std::string& p = req.path;
    std::string me = "{\"upstream\":\"" + name + "\"}";
    if (p.rfind("/delay/", 0) == 0) {
      int ms = std::stoi(p.substr(7));
      r->after(std::chrono::milliseconds(ms), [r, me] { r->send(HttpResponse::json(200, me)); });
    } else if (p == "/hang") {
      // never answers
    } else if (p == "/sse") {
      int n = std::stoi(req.queryParam("n").value_or("3"));
      int interval = std::stoi(req.queryParam("interval_ms").value_or("100"));
      r->startStream(200, {{"Content-Type", "text/event-stream"}});
      sseStep(r, 0, n, interval);
    } else if (p == "/big") {
      // `bytes` bytes of a repeating pattern, in 64 KiB chunks (exercises backpressure).
      size_t bytes = std::stoul(req.queryParam("bytes").value_or("0"));
      r->startStream(200, {{"Content-Type", "application/octet-stream"}});
      std::string chunk(65536, ' ');
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
      for (size_t sent = 0; sent < bytes; sent += chunk.size()) {
        r->writeChunk(chunk.substr(0, std::min(chunk.size(), bytes - sent)));
      }
      r->endStream();
    } else if (p == "/chunked") {
      r->startStream(200, {{"Content-Type", "text/plain"}});
      for (int i = 0; i < 5; ++i) r->writeChunk(std::string(1000, static_cast<char>('a' + i)));
      r->endStream();
    } else if (req.method == "POST") {
      auto xff = req.header("x-forwarded-for");
      r->send(HttpResponse::json(
          200, "{\"upstream\":\"" + name + "\",\"bytes\":" + std::to_string(req.body.size()) +
                   ",\"xff\":\"" + std::string(xff.value_or("")) +
                   "\",\"rid\":" + (req.header("x-request-id") ? "true" : "false") + "}"));
    } else {
      r->send(HttpResponse::json(200, me));
    }
  };
}

// Accepts connections and closes them at once (an upstream that dies before answering).
class Closer {
 public:
  Closer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++accepted;
        readFor(c, 20ms);  // take the request, then close without answering
        ::close(c);
      }
    });
  }
  ~Closer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::atomic<int> accepted{0};

 private:
  int fd_;
  uint16_t port_;
  std::thread thread_;
};

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() : cluster_(ClusterOptions{}, SteadyClock::instance()) {
    options_.listen = "127.0.0.1:0";
    options_.admin.listen = "";
    options_.workers = 1;
    options_.balancer.algorithm = "round_robin";
    options_.seed = 1;
  }

  void SetUp() override {
    up_thread_ = std::thread([this] {
      auto guard = net::asio::make_work_guard(up_io_);
      up_io_.run();
    });
  }

  void TearDown() override {
    stopGateway();
    net::asio::post(up_io_, [this] { upstreams_.clear(); });
    up_io_.stop();
    up_thread_.join();
    upstreams_.clear();
  }

  // Starts an upstream named `name`; returns its address.
  std::string addUpstream(const std::string& name) {
    std::promise<std::string> addr;
    net::asio::post(up_io_, [&] {
      auto s = std::make_unique<net::HttpServer>(up_io_, upstreamHandler(name));
      EXPECT_TRUE(s->listen("127.0.0.1:0").isOk());
      addr.set_value("127.0.0.1:" + std::to_string(s->port()));
      upstreams_.push_back(std::move(s));
    });
    return addr.get_future().get();
  }

  void addBackend(const std::string& address) {
    ASSERT_TRUE(cluster_.addHost(BackendSpec{address, 1, ""}).isOk());
  }

  void startGateway() {
    gw_ = std::make_unique<Gateway>(options_, cluster_, registry_);
    Status s = gw_->start();
    ASSERT_TRUE(s.isOk()) << s.toString();
    port_ = gw_->port();
    gw_thread_ = std::thread([this] { gw_->run(); });
  }

  void stopGateway() {
    if (!gw_) return;
    gw_->requestShutdown();
    gw_thread_.join();
    gw_.reset();
  }

  static std::string upstreamOf(const std::string& response) {
    std::string body = bodyOf(response);
    size_t p = body.find("\"upstream\":\"");
    if (p == std::string::npos) return "?";
    p += 12;
    return body.substr(p, body.find('"', p) - p);
  }

  // Sum of a counter family's samples whose line contains `filter`.
  double metricSum(const std::string& name, const std::string& filter = "") {
    std::string page = registry_.render();
    double total = 0;
    size_t pos = 0;
    while ((pos = page.find(name, pos)) != std::string::npos) {
      size_t eol = page.find('\n', pos);
      std::string line = page.substr(pos, eol - pos);
      bool line_start = pos == 0 || page[pos - 1] == '\n';
      pos = eol;
      if (!line_start || line.rfind(name, 0) != 0 || line.find(filter) == std::string::npos)
        continue;
      if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ')
        continue;
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return total;
  }

  net::asio::io_context up_io_{1};
  std::thread up_thread_;
  std::vector<std::unique_ptr<net::HttpServer>> upstreams_;
  Cluster cluster_;
  metrics::Registry registry_;
  GatewayOptions options_;
  std::unique_ptr<Gateway> gw_;
  std::thread gw_thread_;
  uint16_t port_ = 0;
};

TEST_F(GatewayTest, RoundRobinOverKeepAliveConnections) {
  for (const char* n : {"u1", "u2", "u3"}) addBackend(addUpstream(n));
  startGateway();
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  std::map<std::string, int> seen;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(sendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string r = readResponse(fd);
    ASSERT_EQ(statusOf(r), 200) << r;
    ++seen[upstreamOf(r)];
  }
  ::close(fd);
  EXPECT_EQ(seen, (std::map<std::string, int>{{"u1", 20}, {"u2", 20}, {"u3", 20}}));
  // Keep-alive to the upstreams: one connection per backend served all 60 requests.
  EXPECT_EQ(metricSum("surge_gateway_upstream_connections_total"), 3);
  // Counted right after the last response is written: the client may read it a moment earlier.
  EXPECT_TRUE(waitUntil(
      [&] { return metricSum("surge_gateway_requests_total", "code=\"2xx\"") >= 60; }, 5s, 5ms,
      "60 requests counted"));
  EXPECT_EQ(metricSum("surge_gateway_requests_total", "code=\"2xx\""), 60);
}

TEST_F(GatewayTest, ForwardsBodiesAndHeaders) {
  addBackend(addUpstream("u1"));
  startGateway();
  // Content-Length body.
  std::string r = httpExchange(port_, "POST", "/echo", std::string(200000, 'x'));
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_NE(bodyOf(r).find("\"bytes\":200000"), std::string::npos) << bodyOf(r);
  EXPECT_NE(bodyOf(r).find("\"xff\":\"127.0.0.1\""), std::string::npos) << bodyOf(r);
  EXPECT_NE(bodyOf(r).find("\"rid\":true"), std::string::npos) << bodyOf(r);
  // Chunked request body, X-Forwarded-For appended.
  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "X-Forwarded-For: 10.0.0.1\r\n\r\n5\r\nhello\r\n"));
  // The body arrives in pieces: the rest is sent only once the gateway has read the first piece
  // (acknowledged by its kernel, nothing left unread on its socket) and started the request.
  const uint16_t client_port = localPort(fd);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto gw_side = tcpSocket(port_, client_port);
        return unacknowledged(fd) == 0 && gw_side && gw_side->rx_queue == 0 &&
               metricSum("surge_gateway_in_flight") == 1;
      },
      5s, 1ms, "the gateway read the first body piece"));
  ASSERT_TRUE(sendAll(fd, "6\r\n world\r\n0\r\n\r\n"));
  r = readResponse(fd);
  EXPECT_NE(bodyOf(r).find("\"bytes\":11"), std::string::npos) << r;
  EXPECT_NE(bodyOf(r).find("\"xff\":\"10.0.0.1, 127.0.0.1\""), std::string::npos) << r;
  // Chunked response passes through chunked.
  ASSERT_TRUE(sendAll(fd, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = readFor(fd, 2s, "0\r\n\r\n");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos) << r;
  EXPECT_NE(r.find(std::string(1000, 'e') + "\r\n0\r\n\r\n"), std::string::npos);
  ::close(fd);
  // HTTP/1.0 client: de-chunked, closed at the end.
  fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "GET /chunked HTTP/1.0\r\n\r\n"));
  r = readFor(fd, 2s);
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_EQ(r.find("Transfer-Encoding"), std::string::npos) << r;
  EXPECT_EQ(bodyOf(r).size(), 5000u);
  ::close(fd);
}

TEST_F(GatewayTest, PipelinedRequestsAndExpectContinue) {
  addBackend(addUpstream("u1"));
  startGateway();
  int fd = connectTo(port_);
  // Two pipelined requests in one segment, the second with a body: answered in order.
  ASSERT_TRUE(sendAll(fd,
                      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  std::string r = readFor(fd, 2s, "\"bytes\":3");
  EXPECT_NE(r.find("{\"upstream\":\"u1\"}"), std::string::npos) << r;
  EXPECT_LT(r.find("{\"upstream\":\"u1\"}"), r.find("\"bytes\":3")) << r;
  // Expect: 100-continue is answered by the proxy before the body is sent.
  ASSERT_TRUE(sendAll(fd,
                      "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  EXPECT_EQ(readFor(fd, 2s, "\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(sendAll(fd, "wxyz"));
  r = readResponse(fd);
  EXPECT_NE(bodyOf(r).find("\"bytes\":4"), std::string::npos) << r;
  ::close(fd);
}

TEST_F(GatewayTest, LargeBodiesStreamBothWaysWithBackpressure) {
  const std::string u1 = addUpstream("u1");
  addBackend(u1);
  startGateway();
  // 8 MiB upload (over the 1 MiB replay limit: streamed without a copy), Content-Length.
  std::string big(8 << 20, 'q');
  std::string r = httpExchange(port_, "POST", "/up", big);
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_NE(bodyOf(r).find("\"bytes\":8388608"), std::string::npos) << bodyOf(r);
  // 8 MiB chunked download read slowly at first: the proxy must stop reading the upstream while
  // the client is not reading, then finish with every byte in order.
  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "GET /big?bytes=8388608 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The buffers fill up and the flow stops, the client reading nothing: the gateway has bytes
  // for the client it cannot send (the client's window is closed) and bytes from the upstream it
  // has not read (it stopped reading the upstream), unchanged between two samples. 8 MiB is more
  // than the client's receive buffer and the gateway's send buffer hold, so a proxy that kept
  // reading the upstream would empty that queue instead.
  const uint16_t client_port = localPort(fd), upstream_port = portOf(u1);
  std::optional<std::tuple<uint64_t, uint64_t>> last;
  ASSERT_TRUE(waitUntil(
      [&] {
        auto to_client = tcpSocket(port_, client_port);
        uint64_t from_upstream = 0;
        for (const auto& t : tcpSockets()) {
          if (t.remote_port == upstream_port) from_upstream += t.rx_queue;
        }
        if (!to_client || to_client->tx_queue == 0 || from_upstream == 0) return false;
        auto now = std::make_tuple(to_client->tx_queue, from_upstream);
        bool stopped = last == now;
        last = now;
        return stopped;
      },
      10s, 20ms, "the gateway stopped reading the upstream while the client does not read"));
  std::string all = readFor(fd, 10s, "\r\n0\r\n\r\n");
  ::close(fd);
  size_t he = all.find("\r\n\r\n");
  ASSERT_NE(he, std::string::npos);
  // De-chunk and check the pattern.
  std::string body;
  size_t pos = he + 4;
  while (pos < all.size()) {
    size_t eol = all.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    size_t n = std::stoul(all.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    body.append(all, eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  ASSERT_EQ(body.size(), 8u << 20);
  bool ok = true;
  for (size_t i = 0; i < body.size() && ok; ++i)
    ok = body[i] == static_cast<char>('a' + (i % 65536) % 26);
  EXPECT_TRUE(ok);
}

TEST_F(GatewayTest, ServerSentEventsArriveOneByOne) {
  addBackend(addUpstream("u1"));
  startGateway();
  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "GET /sse?n=3&interval_ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto t0 = std::chrono::steady_clock::now();
  std::string first = readFor(fd, 2s, "data: 0");
  auto first_at = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(first.find("data: 0"), std::string::npos);
  EXPECT_EQ(first.find("data: 1"), std::string::npos);
  EXPECT_LT(first_at, 250ms);  // long before the stream ends (~600 ms)
  std::string rest = readFor(fd, 3s, "0\r\n\r\n");
  EXPECT_NE(rest.find("data: 2"), std::string::npos);
  ::close(fd);
}

TEST_F(GatewayTest, RetriesOnAnotherHostWhenAnUpstreamFails) {
  Closer closer;
  addBackend("127.0.0.1:" + std::to_string(closer.port()));
  // A port with no listener: connect refused.
  {
    Closer dead;
    addBackend("127.0.0.1:" + std::to_string(dead.port()));
  }
  addBackend(addUpstream("good"));
  startGateway();
  for (int i = 0; i < 12; ++i) {
    std::string r = httpExchange(port_, "GET", "/");
    ASSERT_EQ(statusOf(r), 200) << r;
    EXPECT_EQ(upstreamOf(r), "good");
  }
  EXPECT_GT(closer.accepted.load(), 0);
  EXPECT_GT(metricSum("surge_gateway_retries_total"), 0);
}

TEST_F(GatewayTest, NoHostGives503AndFailedUpstreamGives502) {
  startGateway();
  std::string r = httpExchange(port_, "GET", "/");
  EXPECT_EQ(statusOf(r), 503) << r;
  EXPECT_NE(bodyOf(r).find("\"error\""), std::string::npos);
  Closer closer;
  addBackend("127.0.0.1:" + std::to_string(closer.port()));
  r = httpExchange(port_, "GET", "/");
  EXPECT_EQ(statusOf(r), 502) << r;
}

TEST_F(GatewayTest, HungUpstreamGives504) {
  options_.request_timeout = 200ms;
  addBackend(addUpstream("u1"));
  startGateway();
  auto t0 = std::chrono::steady_clock::now();
  std::string r = httpExchange(port_, "GET", "/hang");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(statusOf(r), 504) << r;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1s);
  // The gateway still works.
  EXPECT_EQ(statusOf(httpExchange(port_, "GET", "/")), 200);
}

TEST_F(GatewayTest, BadRequestsGetTheir4xx) {
  options_.max_body_bytes = 1024;
  addBackend(addUpstream("u1"));
  startGateway();
  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "THIS IS NOT HTTP\r\n\r\n"));
  std::string r = readFor(fd, 2s);
  EXPECT_EQ(statusOf(r), 400) << r;
  EXPECT_NE(bodyOf(r).find("\"error\""), std::string::npos);
  ::close(fd);
  r = httpExchange(port_, "GET", "/", {}, "X-Big: " + std::string(70 * 1024, 'x') + "\r\n");
  EXPECT_EQ(statusOf(r), 431) << r.substr(0, 100);
  r = httpExchange(port_, "POST", "/", std::string(4096, 'y'));
  EXPECT_EQ(statusOf(r), 413) << r;
  r = httpExchange(port_, "POST", "/", {}, "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n");
  EXPECT_EQ(statusOf(r), 400) << r;
  EXPECT_EQ(statusOf(httpExchange(port_, "GET", "/")), 200);
}

TEST_F(GatewayTest, SlowLorisGets408WhileOthersAreServed) {
  options_.header_timeout = 200ms;
  addBackend(addUpstream("u1"));
  startGateway();
  int loris = connectTo(port_);
  ASSERT_TRUE(sendAll(loris, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(statusOf(httpExchange(port_, "GET", "/")), 200);
  std::string r = readFor(loris, 3s);
  EXPECT_EQ(statusOf(r), 408) << r;
  ::close(loris);
}

TEST_F(GatewayTest, ShutdownFinishesInFlightRequests) {
  addBackend(addUpstream("u1"));
  startGateway();
  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "GET /delay/300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Shut down while the request is in flight (its upstream answers 300 ms later).
  ASSERT_TRUE(waitUntil([&] { return metricSum("surge_gateway_in_flight") == 1; }, 5s, 1ms,
                        "the request in flight"));
  gw_->requestShutdown();
  std::string r = readFor(fd, 3s);  // the response, then EOF (Connection: close)
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  ::close(fd);
  gw_thread_.join();
  gw_.reset();
  EXPECT_LT(connectTo(port_), 0);
}

}  // namespace
}  // namespace surge::gateway
