// The control-plane HTTP client against local servers: net::HttpServer (plain http, IPv4 and
// IPv6) and a small OpenSSL server with a self-signed certificate made at run time (https).
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/asio.h"
#include "net/http_server.h"

namespace surge::net {
namespace {

using namespace std::chrono_literals;

// net::HttpServer on its own thread.
class Server {
 public:
  explicit Server(Handler h, const std::string& address = "127.0.0.1:0") {
    server_ = std::make_unique<HttpServer>(io_, std::move(h));
    init(address);
  }
  explicit Server(AsyncHandler h, const std::string& address = "127.0.0.1:0") {
    server_ = std::make_unique<HttpServer>(io_, std::move(h));
    init(address);
  }
  ~Server() {
    server_->stop();
    io_.stop();
    thread_.join();
    server_.reset();
  }
  bool ok() const { return ok_; }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(server_->port()) + path;
  }

 private:
  void init(const std::string& address) {
    ok_ = server_->listen(address).isOk();
    thread_ = std::thread([this] {
      auto g = asio::make_work_guard(io_);
      io_.run();
    });
  }
  asio::io_context io_{1};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  bool ok_ = false;
};

uint16_t deadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- URLs ---------------------------------------------------------------------------------------

TEST(ParseUrl, Forms) {
  auto u = parseUrl("http://127.0.0.1:9090/api/v1/query?query=up");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9090);
  EXPECT_EQ(u->target, "/api/v1/query?query=up");
  EXPECT_EQ(u->str(), "http://127.0.0.1:9090/api/v1/query?query=up");
  u = parseUrl("prometheus:9090", "http");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->host, "prometheus");
  EXPECT_EQ(u->target, "/");
  u = parseUrl("http://[::1]:81");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 81);
  EXPECT_EQ(u->hostPort(), "[::1]:81");
  EXPECT_EQ(u->str(), "http://[::1]:81/");
  u = parseUrl("http://example");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->hostPort(), "example:80");
  EXPECT_EQ(u->origin(), "http://example");
  u = parseUrl("HTTPS://prom.example/prefix?x=1#frag");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/prefix?x=1");
  u = parseUrl("http://h?x=1");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->target, "/?x=1");
}

TEST(ParseUrl, Errors) {
  auto u = parseUrl("ftp://prometheus:9090");
  ASSERT_FALSE(u.isOk());
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(u.status().message().find("unsupported URL scheme 'ftp'"), std::string::npos)
      << u.status().message();
  u = parseUrl("prometheus:9090");
  ASSERT_FALSE(u.isOk());
  EXPECT_NE(u.status().message().find("no scheme"), std::string::npos) << u.status().message();
  for (const char* bad : {"http://host:99999/", "http://host:x/", "http://host:/", "http:///path",
                          "http://user@host/", "http://[::1/", "http://::1:80/",
                          "http://[1.2.3.4]/", "http://ho st/", "http://h/a b"}) {
    auto r = parseUrl(bad);
    EXPECT_FALSE(r.isOk()) << bad;
    if (!r.isOk()) {
      EXPECT_NE(r.status().message().find("malformed URL"), std::string::npos)
          << r.status().message();
    }
  }
}

TEST(ParseUrl, PercentOnlyAsAnIpv6Zone) {
  for (const char* bad : {"http://a%20b/", "http://%41/x", "http://h%:80/"}) {
    auto r = parseUrl(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().message(),
              "malformed URL '" + std::string(bad) + "': bad character in the host");
  }
  auto u = parseUrl("http://[fe80::1%25eth0]:8080/x");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->host, "fe80::1%25eth0");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->str(), "http://[fe80::1%25eth0]:8080/x");
}

TEST(ParseUrl, NonAsciiInThePathOrQueryIsRejected) {
  for (const std::string bad : {"http://h/caf\xC3\xA9", "http://h/x?q=\xFF", "http://h/\x80"}) {
    auto r = parseUrl(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "malformed URL '" + bad +
                                        "': a non-ASCII byte in the path or query "
                                        "(percent-encode it)");
  }
  auto ok = parseUrl("http://h/caf%C3%A9?q=%FF");  // the same bytes, percent-encoded
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->target, "/caf%C3%A9?q=%FF");
}

TEST(PathEscape, OneSegmentUnreservedKept) {
  EXPECT_EQ(pathEscape("resnet-50_v1.2~x"), "resnet-50_v1.2~x");
  EXPECT_EQ(pathEscape("a b"), "a%20b");
  EXPECT_EQ(pathEscape("a#b"), "a%23b");
  EXPECT_EQ(pathEscape("a/b?c%d"), "a%2Fb%3Fc%25d");
  EXPECT_EQ(pathEscape("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(pathEscape("+"), "%2B");
  EXPECT_EQ(pathEscape("."), "%2E");
  EXPECT_EQ(pathEscape(".."), "%2E%2E");
  EXPECT_EQ(pathEscape("..."), "...");
  EXPECT_EQ(pathEscape(""), "");
  auto u = parseUrl("http://h/v2/models/" + pathEscape("a b#c\xC3\xA9"));
  ASSERT_TRUE(u.isOk()) << u.status().message();
}

TEST(QueryEscape, LikeGo) {
  EXPECT_EQ(queryEscape("sum(x{a=\"b\"}) [1m]"), "sum%28x%7Ba%3D%22b%22%7D%29+%5B1m%5D");
  EXPECT_EQ(queryEscape("a-b_c.d~"), "a-b_c.d~");
}

// ---- plain http ---------------------------------------------------------------------------------

TEST(HttpClient, StatusBodyAndContentType) {
  Server server(Handler([](const HttpRequest& r) {
    if (r.path == "/missing") return HttpResponse::text(404, "nope");
    return HttpResponse::text(200, "hello " + r.query, "text/plain; version=0.0.4");
  }));
  ASSERT_TRUE(server.ok());
  auto r = httpGet(server.url("/metrics?x=1"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello x=1");
  EXPECT_EQ(r->content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(r->header("CONTENT-TYPE").value_or(""), "text/plain; version=0.0.4");
  r = httpGet(server.url("/missing"));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "nope");
}

TEST(HttpClient, MethodBodyAndContentType) {
  Server server(Handler([](const HttpRequest& r) {
    std::string ct(r.header("content-type").value_or("(none)"));
    return HttpResponse::text(200, r.method + " " + r.target + " " + ct + " " + r.body);
  }));
  ClientRequest req;
  req.method = "PATCH";
  req.url = server.url("/backends/a");
  req.body = R"({"weight":3})";
  req.content_type = "application/json";
  auto r = httpCall(req, {});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, R"(PATCH /backends/a application/json {"weight":3})");
  req.method = "DELETE";
  req.body.clear();
  req.content_type.clear();
  r = httpCall(req, {});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->body, "DELETE /backends/a (none) ");
  req.method = "POST";  // an empty POST still has a body (Content-Length: 0), no form type
  r = httpCall(req, {});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->body, "POST /backends/a (none) ");
}

TEST(HttpClient, ChunkedBody) {
  Server server(AsyncHandler([](const HttpRequest&, std::shared_ptr<Responder> resp) {
    resp->startStream(200, {{"Content-Type", "text/plain"}});
    resp->writeChunk("abc");
    resp->writeChunk("def");
    resp->endStream();
  }));
  ASSERT_TRUE(server.ok());
  auto r = httpGet(server.url("/"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, "abcdef");
  EXPECT_EQ(r->content_type, "text/plain");
}

TEST(HttpClient, BodyLimitWithContentLengthAndChunked) {
  std::string big(300000, 'x');
  Server server(AsyncHandler([&](const HttpRequest& r, std::shared_ptr<Responder> resp) {
    if (r.path == "/chunked") {
      resp->startStream(200, {});
      for (int i = 0; i < 30; ++i) resp->writeChunk(std::string(10000, 'y'));
      resp->endStream();
      return;
    }
    resp->send(HttpResponse::text(200, big));
  }));
  ClientOptions o;
  auto r = httpGet(server.url("/"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body.size(), big.size());
  o.max_body_bytes = 100000;
  for (const char* path : {"/", "/chunked"}) {
    r = httpGet(server.url(path), o);
    ASSERT_FALSE(r.isOk()) << path;
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
    EXPECT_NE(r.status().message().find("response body over 100000 bytes"), std::string::npos)
        << r.status().message();
  }
  o.max_body_bytes = 300000;  // exactly the limit is fine
  r = httpGet(server.url("/chunked"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body.size(), 300000u);
}

TEST(HttpClient, Timeout) {
  Server server(AsyncHandler([](const HttpRequest&, std::shared_ptr<Responder> resp) {
    resp->after(3s, [resp] { resp->send(HttpResponse::text(200, "late")); });
  }));
  ClientOptions o;
  o.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = httpGet(server.url("/"), o);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("GET " + server.url("/") + ": no response within 200ms"),
            std::string::npos)
      << r.status().message();
  EXPECT_LT(took, 2500ms);
}

TEST(HttpClient, ConnectionRefused) {
  std::string url = "http://127.0.0.1:" + std::to_string(deadPort()) + "/metrics";
  auto r = httpGet(url);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "GET " + url + ": connect: Connection refused");
}

TEST(HttpClient, UnresolvableHost) {
  auto r = httpGet("http://no-such-host.invalid:9090/");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot resolve 'no-such-host.invalid'"), std::string::npos)
      << r.status().message();
}

TEST(HttpClient, BadUrlAndScheme) {
  auto r = httpGet("ftp://127.0.0.1/");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unsupported URL scheme 'ftp'"), std::string::npos);
  r = httpGet("http://127.0.0.1:0/");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("bad port '0'"), std::string::npos);
}

TEST(HttpClient, Ipv6Loopback) {
  Server server(Handler([](const HttpRequest& r) {
    return HttpResponse::text(200, "v6 " + std::string(r.header("host").value_or("")));
  }),
                "[::1]:0");
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  std::string url = server.url("/x", "[::1]");
  auto r = httpGet(url);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "v6 " + url.substr(7, url.size() - 7 - 2));  // Host: [::1]:port
}

TEST(HttpClient, AuthAndCustomHeadersArrive) {
  Server server(Handler([](const HttpRequest& r) {
    return HttpResponse::text(200, std::string(r.header("authorization").value_or("-")) + "|" +
                                       std::string(r.header("x-scope-orgid").value_or("-")) +
                                       "|" + std::string(r.header("x-req").value_or("-")));
  }));
  ClientOptions o;
  o.bearer_token = "t0k";
  o.headers = {{"X-Scope-OrgID", "team-a"}};
  ClientRequest req;
  req.url = server.url("/");
  req.headers = {{"X-Req", "1"}};
  auto r = httpCall(req, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, "Bearer t0k|team-a|1");

  auto dir = std::filesystem::temp_directory_path() / ("surge_http_client_" +
                                                       std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "from-file\n";
  o.bearer_token_file = (dir / "token").string();  // wins over bearer_token, re-read each call
  r = httpCall(req, o);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->body, "Bearer from-file|team-a|1");
  std::ofstream(dir / "token") << "rotated";
  r = httpCall(req, o);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->body, "Bearer rotated|team-a|1");
  o.bearer_token_file = (dir / "missing").string();
  r = httpCall(req, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("cannot read bearer_token_file"), std::string::npos)
      << r.status().message();
  std::filesystem::remove_all(dir);

  ClientOptions basic;
  basic.username = "alice";
  basic.password = "s3cret";
  r = httpGet(server.url("/"), basic);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->body, "Basic YWxpY2U6czNjcmV0|-|-");  // base64("alice:s3cret")
}

TEST(HttpClient, RedirectsAreResults) {
  Server server(Handler([](const HttpRequest& r) {
    if (r.path == "/moved") {
      HttpResponse resp = HttpResponse::text(302, "");
      resp.headers.emplace_back("Location", "/elsewhere");
      return resp;
    }
    return HttpResponse::text(200, "followed");
  }));
  auto r = httpGet(server.url("/moved"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->header("location").value_or(""), "/elsewhere");
}

TEST(HttpClient, ProxyEnvironmentIsIgnored) {
  Server server(Handler([](const HttpRequest&) { return HttpResponse::text(200, "direct"); }));
  std::string dead = "http://127.0.0.1:" + std::to_string(deadPort());
  ::setenv("http_proxy", dead.c_str(), 1);
  ::setenv("HTTPS_PROXY", dead.c_str(), 1);
  ::setenv("ALL_PROXY", dead.c_str(), 1);
  auto r = httpGet(server.url("/"));
  ::unsetenv("http_proxy");
  ::unsetenv("HTTPS_PROXY");
  ::unsetenv("ALL_PROXY");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, "direct");
  ClientOptions o;
  o.proxy = dead;  // explicitly configured: used
  r = httpGet(server.url("/"), o);
  EXPECT_FALSE(r.isOk());
}

TEST(HttpClient, StreamDeliversChunksAndStops) {
  Server server(AsyncHandler([](const HttpRequest& r, std::shared_ptr<Responder> resp) {
    if (r.path == "/err") {
      resp->send(HttpResponse::text(403, "forbidden"));
      return;
    }
    resp->startStream(200, {});
    resp->writeChunk("one\n");
    resp->writeChunk("two\n");
    resp->writeChunk("three\n");
    resp->endStream();
  }));
  ClientRequest req;
  req.url = server.url("/");
  std::string got;
  auto r = httpStream(req, {}, [&](std::string_view d) {
    got.append(d);
    return true;
  });
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(got, "one\ntwo\nthree\n");
  EXPECT_TRUE(r->body.empty());
  EXPECT_FALSE(r->stopped);

  got.clear();
  r = httpStream(req, {}, [&](std::string_view d) {
    got.append(d);
    return false;
  });
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(r->stopped);
  EXPECT_FALSE(got.empty());

  req.url = server.url("/err");
  r = httpStream(req, {}, [&](std::string_view) { return true; });
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "forbidden");
}

TEST(HttpClient, StreamStopFlag) {
  Server server(AsyncHandler([](const HttpRequest&, std::shared_ptr<Responder> resp) {
    resp->startStream(200, {});
    resp->writeChunk("first\n");
    resp->after(10s, [resp] { resp->endStream(); });
  }));
  ClientRequest req;
  req.url = server.url("/");
  ClientOptions o;
  o.timeout = Duration(0);
  std::atomic<bool> stop{false};
  auto start = std::chrono::steady_clock::now();
  auto r = httpStream(
      req, o,
      [&](std::string_view) {
        stop = true;
        return true;
      },
      &stop);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(r->stopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A TCP server on 127.0.0.1 that hands every accepted connection to `serve` (on its thread) and
// then keeps it open until the server is destroyed.
class RawServer {
 public:
  explicit RawServer(std::function<void(int)> serve) : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        serve_(c);
        conns_.push_back(c);
      }
    });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }

 private:
  std::function<void(int)> serve_;
  int fd_ = -1;
  uint16_t port_ = 0;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

TEST(HttpClient, HugeResponseHeaderIsNamed) {
  RawServer server([](int fd) {
    char buf[4096];
    (void)::recv(fd, buf, sizeof buf, 0);
    std::string resp = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2 << 20, 'a') +
                       "\r\nContent-Length: 2\r\n\r\nok";
    for (size_t off = 0; off < resp.size();) {
      ssize_t n = ::send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  });
  ASSERT_TRUE(server.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = httpGet(url);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "GET " + url + ": response headers too large");
}

TEST(HttpClient, HttpsToASilentPlainServerIsATlsHandshakeTimeout) {
  RawServer server([](int) {});  // accepts, never answers (a plain-HTTP server waiting for CRLF)
  ASSERT_TRUE(server.ok());
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  ClientOptions o;
  o.connect_timeout = 300ms;
  o.insecure_skip_verify = true;
  auto r = httpGet(url, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "GET " + url +
                                      ": TLS handshake: no answer within 300ms (is the server "
                                      "speaking https?)");
  // Plain http to the same server: connected, no answer.
  o.timeout = 300ms;
  const std::string plain = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  r = httpGet(plain, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "GET " + plain + ": no response within 300ms");
}

// ---- https --------------------------------------------------------------------------------------

struct Pem {
  std::string cert, key;
};

std::string bioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed certificate for localhost / 127.0.0.1 / ::1 (its own CA), made now.
Pem selfSigned(const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::rand() & 0x7fffffff) + 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name,
                                                        "DNS:localhost,IP:127.0.0.1,IP:::1"},
                            {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  Pem out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  out.cert = bioString(b);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key = bioString(b);
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// Answers every TLS connection on 127.0.0.1 with 200 "secure <Authorization>" and closes it.
class TlsServer {
 public:
  explicit TlsServer(const Pem& pem) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* b = BIO_new_mem_buf(pem.cert.data(), static_cast<int>(pem.cert.size()));
    X509* cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(pem.key.data(), static_cast<int>(pem.key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    ok_ = SSL_CTX_use_certificate(ctx_, cert) == 1 && SSL_CTX_use_PrivateKey(ctx_, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ok_ && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::listen(fd_, 16) == 0;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TlsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool ok() const { return ok_; }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(port_) + "/secure";
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        std::string auth = "-";
        if (size_t p = req.find("Authorization: "); p != std::string::npos) {
          auth = req.substr(p + 15, req.find("\r\n", p) - p - 15);
        }
        std::string body = "secure " + auth;
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      ERR_clear_error();
      ::close(c);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge_https_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    pem_ = selfSigned("localhost");
    std::ofstream(dir_ / "ca.pem") << pem_.cert;
    std::ofstream(dir_ / "other-ca.pem") << selfSigned("someone else").cert;
    server_ = std::make_unique<TlsServer>(pem_);
    ASSERT_TRUE(server_->ok());
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  Pem pem_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(HttpsTest, TrustedByCaFile) {
  ClientOptions o;
  o.ca_file = path("ca.pem");
  o.bearer_token = "tls-tok";
  auto r = httpGet(server_->url(), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "secure Bearer tls-tok");
  r = httpGet(server_->url("localhost"), o);  // host name checked against the certificate
  ASSERT_TRUE(r.isOk()) << r.status().message();
}

TEST_F(HttpsTest, TrustedByCaPem) {
  ClientOptions o;
  o.ca_pem = pem_.cert;
  auto r = httpGet(server_->url(), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->body, "secure -");
}

TEST_F(HttpsTest, WrongCaIsAClearError) {
  ClientOptions o;
  o.ca_file = path("other-ca.pem");
  auto r = httpGet(server_->url(), o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("GET " + server_->url() + ": TLS: "), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().message();
}

TEST_F(HttpsTest, InsecureSkipVerify) {
  ClientOptions o;
  o.ca_file = path("other-ca.pem");
  o.insecure_skip_verify = true;
  auto r = httpGet(server_->url(), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpsTest, UnreadableCaFile) {
  ClientOptions o;
  o.ca_file = path("no-such-ca.pem");
  auto r = httpGet(server_->url(), o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cannot read ca_file " + path("no-such-ca.pem")),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace surge::net
