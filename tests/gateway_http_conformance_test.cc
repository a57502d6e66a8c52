// RFC 9112 / RFC 9110 conformance battery for `surge gateway`, end to end: a real gateway process
// on 127.0.0.1, a raw-socket client, and a raw upstream (in this process) that records every byte
// it receives. Each case names its rule in docs/design/http-edge-rules.md and checks the status
// the client gets, and either that nothing reached the upstream or exactly which bytes did (so
// "never forwarded" and "re-framed" are checked byte for byte). Every wait is bounded.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// ---- raw upstream -------------------------------------------------------------------------------

// Accepts connections, records every byte received (all connections, in arrival order) and
// answers each complete request with `response`. Requests are delimited by its own small parser
// of the canonical framing the gateway emits (Content-Length, or chunked with CRLF and no
// trailers); anything else is recorded and left unanswered.
class RawUpstream {
 public:
  RawUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      std::abort();
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RawUpstream() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) ::close(c.fd);
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::string received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  void reset(std::string response = kOk) {
    std::lock_guard lock(mu_);
    received_.clear();
    accepted_ = 0;
    response_ = std::move(response);
  }

 private:
  struct Conn {
    int fd;
    std::string buf;
  };

  // Length of the first complete request in `b`, or 0.
  static size_t completeRequest(const std::string& b) {
    size_t end = b.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::string head = b.substr(0, end + 2);
    std::string lower;
    for (char c : head) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    size_t pos = end + 4;
    size_t cl = lower.find("\r\ncontent-length: ");
    if (cl != std::string::npos) {
      size_t n = std::strtoull(lower.c_str() + cl + 18, nullptr, 10);
      return b.size() >= pos + n ? pos + n : 0;
    }
    if (lower.find("\r\ntransfer-encoding: chunked\r\n") == std::string::npos) return pos;
    while (true) {
      size_t eol = b.find("\r\n", pos);
      if (eol == std::string::npos) return 0;
      size_t n = std::strtoull(b.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (n == 0) return b.size() >= pos + 2 ? pos + 2 : 0;
      pos += n + 2;
      if (pos > b.size()) return 0;
    }
  }

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      for (auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          conns_.push_back({fd, {}});
          std::lock_guard lock(mu_);
          ++accepted_;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Conn& c = conns_[i - 1];
        char buf[65536];
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        std::string response;
        {
          std::lock_guard lock(mu_);
          received_.append(buf, static_cast<size_t>(n));
          response = response_;
        }
        c.buf.append(buf, static_cast<size_t>(n));
        while (size_t len = completeRequest(c.buf)) {
          c.buf.erase(0, len);
          sendAll(c.fd, response);
        }
      }
      std::erase_if(conns_, [](const Conn& c) { return c.fd < 0; });
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<Conn> conns_;  // upstream thread only
  std::mutex mu_;
  std::string received_;
  int accepted_ = 0;
  std::string response_ = kOk;
};

// ---- client -------------------------------------------------------------------------------------

struct Exchange {
  int status = 0;
  std::string raw;          // everything the client read
  bool closed = false;      // the gateway closed the connection after the response
  double close_seconds = 0;  // from sending the request to EOF
};

// Reads until a whole response (head + Content-Length body) is in `raw`, EOF, or the deadline.
// Returns the response's size in `raw` (0 if incomplete).
size_t readResponse(int fd, std::string& raw, Clock::time_point deadline, bool* eof) {
  while (true) {
    size_t end = raw.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t cl = raw.find("Content-Length: ");
      size_t body = cl != std::string::npos && cl < end ? std::strtoull(raw.c_str() + cl + 16, nullptr, 10) : 0;
      if (raw.compare(0, 12, "HTTP/1.1 100") == 0) {
        body = 0;
      }
      if (raw.size() >= end + 4 + body) return end + 4 + body;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return 0;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *eof = true;
      return 0;
    }
    raw.append(buf, static_cast<size_t>(n));
  }
}

// Waits up to `timeout` for EOF; returns true if it came (extra bytes go to `raw`).
bool waitEof(int fd, std::string& raw, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
    raw.append(buf, static_cast<size_t>(n));
  }
}

int statusOf(const std::string& raw) {
  if (raw.size() < 12 || raw.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::atoi(raw.c_str() + 9);
}

// What the gateway sends upstream for a request with "Host: a" and "X-Request-Id: t" (the fields
// the battery uses) and `framing` ("" or a Content-Length / Transfer-Encoding line).
std::string forwarded(const std::string& request_line, const std::string& framing = "",
                      const std::string& body = "", const std::string& host = "a") {
  std::string s = request_line + "\r\n";
  if (!host.empty()) s += "Host: " + host + "\r\n";
  s += "X-Request-Id: t\r\nX-Forwarded-For: 127.0.0.1\r\n" + framing + "\r\n" + body;
  return s;
}

// ---- gateway ------------------------------------------------------------------------------------

class ConformanceGateway {
 public:
  explicit ConformanceGateway(int upstream_port,
                              const std::string& timeouts = "{header: 3s, idle: 10s, request: 5s}")
      : dir_("conf-" + std::to_string(upstream_port)) {
    auto started = startGateway(
        process_, dir_,
        "listen: 127.0.0.1:0\nadmin: off\nworkers: 1\nretries: 0\n"
        "outlier_detection: {enabled: false}\n"
        "max_header_size: 4KiB\nmax_body_size: 64KiB\n"
        "timeouts: " + timeouts + "\n" +
            "backends:\n  - {address: 127.0.0.1:" + std::to_string(upstream_port) + "}\n");
    if (!started) error_ = started.message();
  }
  ~ConformanceGateway() { process_.stop(); }
  int port() const { return process_.port(); }
  const std::string& error() const { return error_; }
  std::string log() { return process_.log(); }

 private:
  ScratchDir dir_;
  ServerProcess process_;
  std::string error_;
};

// A TCP socket in /proc/net/tcp (IPv4) with this local and/or remote port (0: any) and state
// (hex code: 02 SYN_SENT, 08 CLOSE_WAIT); with `rx_empty`, only if its receive queue is empty
// (the process read everything that arrived).
bool tcpSocketIn(int local_port, int remote_port, int state, bool rx_empty = false) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    unsigned local = 0, remote = 0, st = 0, tx = 0, rx = 0;
    unsigned la = 0, ra = 0;
    int sl = 0;
    if (std::sscanf(line.c_str(), " %d: %x:%x %x:%x %x %x:%x", &sl, &la, &local, &ra, &remote, &st,
                    &tx, &rx) != 8) {
      continue;
    }
    if ((local_port == 0 || static_cast<int>(local) == local_port) &&
        (remote_port == 0 || static_cast<int>(remote) == remote_port) &&
        static_cast<int>(st) == state && (!rx_empty || rx == 0)) {
      return true;
    }
  }
  return false;
}

int localPortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  return ntohs(a.sin_port);
}

class GatewayConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new RawUpstream();
    gateway_ = new ConformanceGateway(upstream_->port());
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
    gateway_ = nullptr;
    upstream_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(gateway_->error().empty()) << gateway_->error();
    upstream_->reset();
  }

  // Sends `request` on a new connection (then half-closes when asked), reads one response and,
  // for answers >= 400, waits up to 1 s for the gateway to close.
  static Exchange exchange(const std::string& request, bool half_close = false) {
    Exchange x;
    int fd = connectTo(gateway_->port());
    if (fd < 0) return x;
    auto t0 = Clock::now();
    sendAll(fd, request);
    if (half_close) ::shutdown(fd, SHUT_WR);
    bool eof = false;
    size_t n = readResponse(fd, x.raw, Clock::now() + 3s, &eof);
    x.status = n > 0 ? statusOf(x.raw) : 0;
    if (eof || x.status >= 400 || half_close) {
      x.closed = eof || waitEof(fd, x.raw, 1500ms);
      x.close_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    ::close(fd);
    return x;
  }

  // What the upstream received once at least `expected`'s length has arrived (bounded: the
  // comparison after it reports the difference), plus a short quiet window so that bytes sent
  // after those (a smuggled request) are in it too.
  static std::string upstreamReceived(const std::string& expected) {
    waitUntil([&] { return upstream_->received().size() >= expected.size(); }, 3s, 2ms);
    return upstreamAfterQuietWindow(20ms);
  }
  // What reached the upstream by the end of a quiet window after the client got its answer.
  // Absence cannot be polled for: this window is the one place a fixed wait is the check itself.
  static std::string upstreamAfterQuietWindow(std::chrono::milliseconds window = 50ms) {
    std::this_thread::sleep_for(window);
    return upstream_->received();
  }

  static RawUpstream* upstream_;
  static ConformanceGateway* gateway_;
};

RawUpstream* GatewayConformance::upstream_ = nullptr;
ConformanceGateway* GatewayConformance::gateway_ = nullptr;

// ---- the battery --------------------------------------------------------------------------------

struct Case {
  const char* name;      // <rule id>_<what>
  std::string request;   // bytes the client sends
  int status;            // what it must get
  // Exactly what the upstream must receive; kNothing: not a byte (not even a connection).
  std::string upstream;
  std::string upstream_response = kOk;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const char kNothing[] = "\x01nothing";
const std::string H = "Host: a\r\nX-Request-Id: t\r\n";  // the fields of a good request

std::vector<Case> battery() {
  const std::string big_target = "/" + std::string(5000, 'a');
  std::string many_fields;
  for (int i = 0; i < 130; ++i) many_fields += "A: b\r\n";
  return {
      // ---- request line
      {"RL1_valid_get", "GET /p HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("GET /p HTTP/1.1")},
      {"RL1_extension_method", "PURGE /p HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("PURGE /p HTTP/1.1")},
      {"RL1_bad_method_char", "G@T /p HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL2_double_space", "GET  /p HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL2_tab_separator", "GET\t/p HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL2_trailing_space", "GET /p HTTP/1.1 \r\n" + H + "\r\n", 400, kNothing},
      {"RL3_http09", "GET /p\r\n\r\n", 400, kNothing},
      {"RL4_http2_version", "GET /p HTTP/2.0\r\n" + H + "\r\n", 505, kNothing},
      {"RL4_lowercase_version", "GET /p http/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL5_bare_lf_head", "GET /p HTTP/1.1\nHost: a\nX-Request-Id: t\n\n", 400, kNothing},
      {"RL5_bare_cr_in_field", "GET /p HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n", 400, kNothing},
      {"RL6_fragment", "GET /p#f HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL6_bad_pct_encoding", "GET /p%zz HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL8_absolute_form", "GET http://origin.example:81/p?q HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("GET /p?q HTTP/1.1", "", "", "origin.example:81")},
      {"RL8_absolute_form_empty_path", "GET http://o.example?x HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("GET /?x HTTP/1.1", "", "", "o.example")},
      {"RL8_absolute_other_scheme", "GET ftp://o.example/p HTTP/1.1\r\n" + H + "\r\n", 400,
       kNothing},
      {"RL8_absolute_userinfo", "GET http://u@o.example/p HTTP/1.1\r\n" + H + "\r\n", 400,
       kNothing},
      {"RL9_options_asterisk", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("OPTIONS * HTTP/1.1")},
      {"RL9_get_asterisk", "GET * HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL10_connect", "CONNECT o.example:443 HTTP/1.1\r\nHost: o.example:443\r\n\r\n", 501,
       kNothing},
      {"RL10_authority_form_get", "GET o.example:443 HTTP/1.1\r\n" + H + "\r\n", 400, kNothing},
      {"RL11_target_too_long", "GET " + big_target + " HTTP/1.1\r\n" + H + "\r\n", 414, kNothing},
      // ---- fields
      {"F1_space_before_colon", "GET /p HTTP/1.1\r\nHost : a\r\nX-Request-Id: t\r\n\r\n", 400,
       kNothing},
      {"F2_obs_fold", "GET /p HTTP/1.1\r\n" + H + "X: 1\r\n 2\r\n\r\n", 400, kNothing},
      {"F3_nul_in_value", "GET /p HTTP/1.1\r\n" + H + std::string("X: a\0b\r\n\r\n", 10), 400,
       kNothing},
      {"F3_ctl_in_value", "GET /p HTTP/1.1\r\n" + H + "X: a\x0b\r\n\r\n", 400, kNothing},
      {"F4_empty_name", "GET /p HTTP/1.1\r\n" + H + ": v\r\n\r\n", 400, kNothing},
      {"F4_no_colon", "GET /p HTTP/1.1\r\n" + H + "NoColon\r\n\r\n", 400, kNothing},
      {"F5_head_too_large", "GET /p HTTP/1.1\r\n" + H + "X: " + std::string(5000, 'x') +
                                "\r\n\r\n",
       431, kNothing},
      {"F5_too_many_fields", "GET /p HTTP/1.1\r\n" + H + many_fields + "\r\n", 431, kNothing},
      {"F6_leading_crlf", "\r\nGET /p HTTP/1.1\r\n" + H + "\r\n", 200,
       forwarded("GET /p HTTP/1.1")},
      // ---- Host
      {"H1_missing_host", "GET /p HTTP/1.1\r\nX-Request-Id: t\r\n\r\n", 400, kNothing},
      {"H2_duplicate_host", "GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, kNothing},
      {"H2_duplicate_host_same", "GET /p HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, kNothing},
      {"H3_host_userinfo", "GET /p HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, kNothing},
      {"H3_host_bad_port", "GET /p HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, kNothing},
      {"H3_host_space", "GET /p HTTP/1.1\r\nHost: a b\r\n\r\n", 400, kNothing},
      {"H3_host_empty", "GET /p HTTP/1.1\r\nHost:\r\n\r\n", 400, kNothing},
      {"H3_host_ipv6", "GET /p HTTP/1.1\r\nHost: [::1]:8080\r\nX-Request-Id: t\r\n\r\n", 200,
       forwarded("GET /p HTTP/1.1", "", "", "[::1]:8080")},
      {"H4_absolute_form_replaces_host",
       "GET http://t.example/p HTTP/1.1\r\nHost: other\r\nX-Request-Id: t\r\n\r\n", 200,
       forwarded("GET /p HTTP/1.1", "", "", "t.example")},
      {"H5_http10_without_host", "GET /p HTTP/1.0\r\nX-Request-Id: t\r\n\r\n", 200,
       forwarded("GET /p HTTP/1.1", "", "", "")},
      // ---- Content-Length
      {"C1_valid_content_length", "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello",
       200, forwarded("POST /p HTTP/1.1", "Content-Length: 5\r\n", "hello")},
      {"C1_content_length_sign", "POST /p HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello",
       400, kNothing},
      {"C1_content_length_overflow",
       "POST /p HTTP/1.1\r\n" + H + "Content-Length: 18446744073709551621\r\n\r\nhello", 400,
       kNothing},
      {"C2_content_length_twice_same",
       "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
       kNothing},
      {"C2_content_length_list",
       "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\nhello", 400, kNothing},
      {"C3_content_length_over_limit",
       "POST /p HTTP/1.1\r\n" + H + "Content-Length: 1000000\r\n\r\nhello", 413, kNothing},
      // ---- Transfer-Encoding
      {"T0_chunked_is_reframed",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n5;ext=\"v\"\r\nhello\r\n006 ; a=b\r\n world\r\n"
           "0\r\nX-Trailer: 1\r\n\r\n",
       200,
       forwarded("POST /p HTTP/1.1", "Transfer-Encoding: chunked\r\n",
                                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")},
      {"T0_chunked_case_insensitive",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200,
       forwarded("POST /p HTTP/1.1", "Transfer-Encoding: chunked\r\n",
                                     "3\r\nabc\r\n0\r\n\r\n")},
      {"T1_te_and_cl_request",
       "POST /p HTTP/1.1\r\n" + H +
           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled "
           "HTTP/1.1\r\nHost: a\r\n\r\n",
       400, kNothing},
      {"T2_te_in_http10",
       "POST /p HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, kNothing},
      {"T3_te_gzip_only", "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n", 400,
       kNothing},
      {"T3_chunked_not_final",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400,
       kNothing},
      {"T4_chunked_chunked",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: "
           "a\r\n\r\n",
       400, kNothing},
      {"T4_two_te_fields",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400, kNothing},
      {"T5_te_empty_element",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400, kNothing},
      {"T5_te_parameters",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked;a=b\r\n\r\n0\r\n\r\n", 400,
       kNothing},
      {"T6_gzip_then_chunked",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       kNothing},
      // ---- chunked framing
      {"K1_size_leading_space",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
       400, kNothing},
      {"K1_size_empty",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400,
       kNothing},
      {"K1_size_0x_prefix",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
       400, kNothing},
      {"K1_size_17_digits",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n",
       400, kNothing},
      {"K1_size_overflow",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
       400, kNothing},
      {"K2_bare_lf_in_extension",
       "POST /p HTTP/1.1\r\n" + H +
           "Transfer-Encoding: chunked\r\n\r\n5;a\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n"
           "Host: a\r\n\r\n",
       400, kNothing},
      {"K2_bare_lf_after_size",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400,
       kNothing},
      {"K3_bad_extension",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n",
       400, kNothing},
      {"K4_no_crlf_after_data",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400,
       kNothing},
      {"K4_bare_lf_after_data",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400,
       kNothing},
      {"K5_trailer_space_before_colon",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nA : "
                                    "1\r\n\r\n",
       400, kNothing},
      {"K5_trailer_bare_lf",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nA: "
                                    "1\n\r\n",
       400, kNothing},
      {"K6_chunk_over_body_limit",
       "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nfffff\r\nhello\r\n", 413,
       kNothing},
      // ---- Expect
      {"E2_unknown_expectation",
       "POST /p HTTP/1.1\r\n" + H + "Expect: 200-ok\r\nContent-Length: 5\r\n\r\nhello", 417,
       kNothing},
      {"E3_http10_ignores_continue",
       "POST /p HTTP/1.0\r\nX-Request-Id: t\r\nExpect: 100-continue\r\nContent-Length: "
       "5\r\n\r\nhello",
       200,
       forwarded("POST /p HTTP/1.1", "Content-Length: 5\r\n", "hello", "")},
      // ---- response side
      {"S1_bad_status_line", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok"},
      {"S1_status_600", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok"},
      {"S2_response_te_and_cl", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
      {"S3_response_te_in_http10", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
      {"S4_response_cl_twice", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
      {"S5_response_obs_fold", "GET /p HTTP/1.1\r\n" + H + "\r\n", 502, "",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: a\r\n b\r\n\r\nok"},
      {"S7_response_bare_lf", "GET /p HTTP/1.1\r\n" + H + "\r\n", 200, "",
       "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
  };
}

class Battery : public GatewayConformance, public ::testing::WithParamInterface<Case> {};

TEST_P(Battery, Case) {
  const Case& c = GetParam();
  upstream_->reset(c.upstream_response);
  Exchange x = exchange(c.request);
  EXPECT_EQ(x.status, c.status) << "response:\n" << x.raw;
  if (c.upstream == kNothing) {
    EXPECT_EQ(upstreamAfterQuietWindow(), "") << "bytes reached the upstream";
    EXPECT_EQ(upstream_->connections(), 0);
  } else if (!c.upstream.empty()) {
    EXPECT_EQ(upstreamReceived(c.upstream), c.upstream);
  } else {
    // Response-side cases: the request reached the upstream once, canonically framed.
    EXPECT_EQ(upstreamReceived(forwarded("GET /p HTTP/1.1")), forwarded("GET /p HTTP/1.1"));
  }
  if (c.status >= 400 && c.status < 500) {
    // RFC 9112 §6.3 / §9.6: after a framing error the connection is closed; exactly one response
    // (a smuggled request after the body is never answered either).
    EXPECT_TRUE(x.closed) << "the gateway kept the connection open after " << c.status;
    EXPECT_EQ(x.raw.find("HTTP/1.1", 1), std::string::npos) << x.raw;
    EXPECT_NE(x.raw.find("{\"error\": "), std::string::npos) << x.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc9112, Battery, ::testing::ValuesIn(battery()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// ---- cases that need a conversation -------------------------------------------------------------

// E1: the gateway answers 100 Continue itself (the client waits for it before the body) and
// does not forward Expect.
TEST_F(GatewayConformance, E1_ExpectContinueAnsweredByTheGateway) {
  int fd = connectTo(gateway_->port());
  ASSERT_GE(fd, 0);
  sendAll(fd, "POST /p HTTP/1.1\r\n" + H + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::string raw;
  bool eof = false;
  size_t n = readResponse(fd, raw, Clock::now() + 2s, &eof);
  ASSERT_GT(n, 0u) << raw;
  EXPECT_EQ(raw.substr(0, n), "HTTP/1.1 100 Continue\r\n\r\n");
  raw.erase(0, n);
  sendAll(fd, "hello");
  n = readResponse(fd, raw, Clock::now() + 3s, &eof);
  ASSERT_GT(n, 0u) << raw;
  EXPECT_EQ(statusOf(raw), 200) << raw;
  ::close(fd);
  const std::string want = forwarded("POST /p HTTP/1.1", "Content-Length: 5\r\n", "hello");
  EXPECT_EQ(upstreamReceived(want), want);
}

// X1: a client that half-closes after a complete request gets its answer and then the close
// within 1 s (not at the idle timeout, 10 s here), with and without keep-alive, head and body in
// one segment with the FIN or apart.
TEST_F(GatewayConformance, X1_HalfCloseAfterRequestClosesWithinOneSecond) {
  for (const std::string& req :
       {"GET /p HTTP/1.1\r\n" + H + "\r\n",
        "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello",
        "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}) {
    upstream_->reset();
    Exchange x = exchange(req, /*half_close=*/true);
    EXPECT_EQ(x.status, 200) << x.raw;
    EXPECT_TRUE(x.closed) << req;
    EXPECT_LT(x.close_seconds, 1.0) << req;
  }
  // The FIN arrives after the request, in its own segment.
  int fd = connectTo(gateway_->port());
  ASSERT_GE(fd, 0);
  auto t0 = Clock::now();
  sendAll(fd, "GET /p HTTP/1.1\r\n" + H + "\r\n");
  // The FIN goes once the request has been forwarded (so it cannot share the request's segment).
  ASSERT_TRUE(waitUntil([&] { return upstream_->received().find("GET /p") != std::string::npos; },
                        2s, 1ms, "the request at the upstream"));
  ::shutdown(fd, SHUT_WR);
  std::string raw;
  bool eof = false;
  ASSERT_GT(readResponse(fd, raw, Clock::now() + 2s, &eof), 0u);
  EXPECT_TRUE(eof || waitEof(fd, raw, 1500ms));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.05);
  ::close(fd);
}

// X3: the client's FIN arrives with the end of its body while the gateway cannot forward the body
// yet (the upstream connection is still being established): the buffered bytes complete the
// request, which is forwarded and answered — the FIN must not abort it. The upstream's accept
// queue is kept full (listen backlog 0 + one connection never accepted), so the gateway's SYN is
// dropped until a retransmission about 1 s later.
TEST(GatewayConformanceConnecting, X3_FinWithTheLastBodyBytesWhileConnecting) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &alen), 0);
  const int up_port = ntohs(a.sin_port);
  int filler = connectTo(up_port);  // fills the accept queue
  ASSERT_GE(filler, 0);
  ConformanceGateway gw(up_port, "{header: 3s, idle: 10s, request: 10s, connect: 5s}");
  ASSERT_TRUE(gw.error().empty()) << gw.error();

  int fd = connectTo(gw.port());
  ASSERT_GE(fd, 0);
  sendAll(fd, "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel");
  // The gateway is connecting: its socket to the upstream is in SYN_SENT (its SYN was dropped).
  ASSERT_TRUE(waitUntil([&] { return tcpSocketIn(0, up_port, 0x02); }, 3s, 5ms,
                        "the gateway's SYN_SENT to the upstream"));
  sendAll(fd, "lo");
  ::shutdown(fd, SHUT_WR);
  // The gateway has read "lo" (its side of our connection: FIN received, receive queue empty),
  // still before its SYN is retransmitted (about 1 s after the first).
  const int client_port = localPortOf(fd);
  ASSERT_TRUE(waitUntil([&] { return tcpSocketIn(gw.port(), client_port, 0x08, true); }, 3s, 5ms,
                        "the gateway read the last body bytes and the FIN"));
  EXPECT_TRUE(tcpSocketIn(0, up_port, 0x02)) << "the gateway was no longer connecting";

  // Make room in the accept queue; the gateway's retransmitted SYN then gets through.
  int f = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(f, 0);
  ::close(f);
  ::close(filler);
  std::string got;
  std::thread upstream([&] {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      size_t end = got.find("\r\n\r\n");
      if (end != std::string::npos && got.size() >= end + 4 + 5) break;
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    sendAll(c, kOk);
    ::close(c);
  });
  std::string raw;
  bool eof = false;
  size_t n = readResponse(fd, raw, Clock::now() + 8s, &eof);
  upstream.join();
  ::close(fd);
  ::close(lfd);
  EXPECT_GT(n, 0u) << "no response; the gateway closed: " << raw;
  EXPECT_EQ(statusOf(raw), 200) << raw;
  EXPECT_NE(got.find("\r\n\r\nhello"), std::string::npos) << got;
}

// X2: keep-alive survives a good exchange, and a pipelined request after a valid chunked body is
// forwarded as its own, re-framed request (not smuggled inside the first).
TEST_F(GatewayConformance, X2_PipelinedAfterChunkedIsASeparateRequest) {
  int fd = connectTo(gateway_->port());
  ASSERT_GE(fd, 0);
  sendAll(fd, "POST /p HTTP/1.1\r\n" + H +
                  "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /q HTTP/1.1\r\n" + H +
                  "\r\n");
  std::string raw;
  bool eof = false;
  size_t n = readResponse(fd, raw, Clock::now() + 3s, &eof);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(statusOf(raw), 200);
  raw.erase(0, n);
  n = readResponse(fd, raw, Clock::now() + 3s, &eof);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(statusOf(raw), 200);
  ::close(fd);
  const std::string want =
      forwarded("POST /p HTTP/1.1", "Transfer-Encoding: chunked\r\n", "2\r\nab\r\n0\r\n\r\n") +
      forwarded("GET /q HTTP/1.1");
  EXPECT_EQ(upstreamReceived(want), want);
}

// K7: a chunked body that arrives in many small segments is re-framed run by run; the upstream
// gets canonical chunks (sizes re-emitted, no extension, no trailer) that decode to the body.
TEST_F(GatewayConformance, K7_SlowChunkedBodyIsReframed) {
  int fd = connectTo(gateway_->port());
  ASSERT_GE(fd, 0);
  std::string body = "5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n";
  sendAll(fd, "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n");
  for (size_t i = 0; i < body.size(); i += 4) {
    std::this_thread::sleep_for(5ms);
    sendAll(fd, body.substr(i, 4));
  }
  std::string raw;
  bool eof = false;
  ASSERT_GT(readResponse(fd, raw, Clock::now() + 3s, &eof), 0u);
  EXPECT_EQ(statusOf(raw), 200);
  ::close(fd);
  // The response came after the last chunk was forwarded; the terminal chunk ends the body.
  EXPECT_TRUE(waitUntil(
      [&] {
        std::string r = upstream_->received();
        return r.size() >= 5 && r.compare(r.size() - 5, 5, "0\r\n\r\n") == 0;
      },
      3s, 2ms, "the terminal chunk at the upstream"));
  std::string got = upstream_->received();
  std::string head = forwarded("POST /p HTTP/1.1", "Transfer-Encoding: chunked\r\n");
  ASSERT_EQ(got.compare(0, head.size(), head), 0) << got;
  std::string framing = got.substr(head.size());
  EXPECT_EQ(framing.find(';'), std::string::npos) << framing;
  EXPECT_EQ(framing.find("T: v"), std::string::npos) << framing;
  // Decode the canonical framing: sizes and CRLFs only.
  std::string decoded;
  size_t pos = 0;
  while (true) {
    size_t eol = framing.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos) << framing;
    size_t n = std::stoul(framing.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (n == 0) break;
    decoded += framing.substr(pos, n);
    ASSERT_EQ(framing.substr(pos + n, 2), "\r\n") << framing;
    pos += n + 2;
  }
  EXPECT_EQ(framing.substr(pos), "\r\n");
  EXPECT_EQ(decoded, "hello world");
}

// S6: a chunked response whose framing breaks mid-body is cut: the client sees the connection
// close without a last chunk (never a well-formed but wrong message).
TEST_F(GatewayConformance, S6_BrokenResponseChunkingClosesTheClient) {
  upstream_->reset("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n5\nhello\r\n0\r\n\r\n");
  int fd = connectTo(gateway_->port());
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET /p HTTP/1.1\r\n" + H + "\r\n");
  std::string raw;
  EXPECT_TRUE(waitEof(fd, raw, 2s)) << raw;
  ::close(fd);
  EXPECT_EQ(raw.find("hello"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("0\r\n\r\n"), std::string::npos) << raw;
}

}  // namespace
}  // namespace surge::testing
