// The gateway's access log end to end: a real `surge gateway` in front of a real `surge upstream`
// (and a dead backend, 127.0.0.1:1, for retries) writing JSON lines to a file. Every line must
// parse and match the request made: method, path, status, the client's X-Request-Id (or the
// generated one), the backend, retries (summed, equal to surge_gateway_retries_total); hostile
// bytes in the path or the id still give one valid line; SIGHUP reopens a rotated file.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// A counter's value on the admin /metrics page (first sample of `name`), or -1.
double metricValue(int admin_port, const std::string& name) {
  HttpResult r = httpGet(admin_port, "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return -1;
}

class AccessLogIntegration : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.stop();
    upstream_.stop();
  }

  void start(const std::string& extra_yaml = "") {
    ASSERT_TRUE(testing::startUpstream(upstream_, dir_, "u1"));
    upstream_addr_ = "127.0.0.1:" + std::to_string(upstream_.port());
    log_path_ = dir_.file("access.log");
    ASSERT_TRUE(testing::startGateway(
        gateway_, dir_,
        std::string(kLocalGateway) + "algorithm: round_robin\nretries: 2\n" +
            "backends: [127.0.0.1:1, " + upstream_addr_ + "]\n" +
            "access_log: {path: " + log_path_ + ", format: json}\n" + extra_yaml));
    port_ = gateway_.port();
    admin_port_ = gateway_.portAfter("admin");
    ASSERT_GT(admin_port_, 0) << gateway_.line();
  }

  // Waits until the file holds `n` lines (the writer drains every 20 ms); returns them parsed,
  // failing on any line that is not one JSON object.
  std::vector<json> waitForLines(const std::string& path, size_t n) {
    std::vector<json> out;
    bool ok = static_cast<bool>(waitUntil([&] { return linesOf(readFile(path)).size() >= n; }, 10s,
                                          10ms, "access-log lines written"));
    EXPECT_TRUE(ok) << readFile(path) << "\n" << gateway_.log();
    for (const std::string& l : linesOf(readFile(path))) {
      json j = json::parse(l, nullptr, false);
      EXPECT_TRUE(j.is_object()) << "not a JSON object: " << l;
      out.push_back(j);
    }
    EXPECT_EQ(out.size(), n) << readFile(path);
    return out;
  }

  ScratchDir dir_{"access-log"};
  ServerProcess upstream_;
  ServerProcess gateway_;
  std::string upstream_addr_;
  std::string log_path_;
  int port_ = 0;
  int admin_port_ = 0;
};

TEST_F(AccessLogIntegration, JsonLinesMatchTheRequestsAndCountRetries) {
  start();
  constexpr int kRequests = 6;
  for (int i = 0; i < kRequests; ++i) {
    HttpResult r =
        httpRequest(port_, "GET", "/things/" + std::to_string(i) + "?q=" + std::to_string(i),
                    {{"X-Request-Id", "client-id-" + std::to_string(i)}});
    ASSERT_EQ(r.status, 200) << r.error << r.body;
  }
  HttpResult posted = httpRequest(port_, "POST", "/post", {}, std::string(1000, 'b'));
  ASSERT_EQ(posted.status, 200) << posted.body;
  HttpResult failed = httpRequest(port_, "GET", "/status/503", {{"X-Request-Id", "five"}});
  ASSERT_EQ(failed.status, 503);

  std::vector<json> lines = waitForLines(log_path_, kRequests + 2);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kRequests + 2));
  std::map<std::string, json> by_id;
  int retries = 0;
  for (const json& j : lines) {
    ASSERT_TRUE(j.contains("request_id") && j.contains("status") && j.contains("retries")) << j;
    if (j["request_id"].is_string()) by_id[j["request_id"].get<std::string>()] = j;
    retries += j["retries"].get<int>();
    // The dead backend never answers: whatever reached a backend was answered by the live one.
    EXPECT_EQ(j["upstream"], upstream_addr_) << j;
    EXPECT_EQ(j["client"], "127.0.0.1");
    EXPECT_TRUE(j["reason"].is_null()) << j;
    EXPECT_TRUE(j["upstream_ms"].is_number()) << j;
    EXPECT_GE(j["duration_ms"].get<double>(), j["upstream_ms"].get<double>()) << j;
    EXPECT_GT(j["response_bytes"].get<int>(), 0) << j;
    std::string t = j["time"];
    EXPECT_EQ(t.size(), 24u) << t;  // 2026-12-07T08:29:35.123Z
    EXPECT_EQ(t.back(), 'Z') << t;
  }
  for (int i = 0; i < kRequests; ++i) {
    std::string id = "client-id-" + std::to_string(i);
    ASSERT_TRUE(by_id.count(id)) << id << " not logged:\n" << readFile(log_path_);
    const json& j = by_id[id];
    EXPECT_EQ(j["method"], "GET");
    EXPECT_EQ(j["path"], "/things/" + std::to_string(i) + "?q=" + std::to_string(i));
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["protocol"], "HTTP/1.1");
  }
  EXPECT_EQ(by_id["five"]["status"], 503);
  // The POST had no X-Request-Id: the logged one is the id the gateway generated (32 hex).
  // (Lines of different workers interleave in any order: find it by method.)
  json post;
  for (const json& j : lines) {
    if (j["method"] == "POST") post = j;
  }
  ASSERT_TRUE(post.is_object()) << readFile(log_path_);
  EXPECT_EQ(post["method"], "POST");
  ASSERT_TRUE(post["request_id"].is_string()) << post;
  std::string gen = post["request_id"];
  EXPECT_EQ(gen.size(), 32u) << gen;
  EXPECT_EQ(gen.find_first_not_of("0123456789abcdef"), std::string::npos) << gen;
  EXPECT_GT(post["request_bytes"].get<int>(), 1000) << post;  // head + 1000-byte body
  // Round robin over [dead, live]: about every other request tried the dead one first.
  EXPECT_GE(retries, 1) << readFile(log_path_);
  EXPECT_EQ(retries, static_cast<int>(metricValue(admin_port_, "surge_gateway_retries_total")));
  EXPECT_EQ(metricValue(admin_port_, "surge_gateway_access_log_dropped_total"), 0);
}

TEST_F(AccessLogIntegration, HostileBytesStillGiveOneValidLineEach) {
  start();
  // 1. A target with a quote, a control byte and invalid UTF-8: rejected (400), still logged.
  std::string bad_target = std::string("/x\"y\x01\xff\xfe\\z");
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET " + bad_target + " HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string resp = readFor(fd, 5s);
  ::close(fd);
  EXPECT_EQ(statusOf(resp), 400) << resp;
  // 2. A valid target with an X-Request-Id holding quotes, a backslash and invalid UTF-8
  //    (obs-text is legal in a field value): proxied, the id logged escaped.
  std::string hostile_id = "id\"\\\xc3\x28\xff-end";
  fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Request-Id: " + hostile_id +
                  "\r\n\r\n");
  resp = readFor(fd, 5s);
  ::close(fd);
  EXPECT_EQ(statusOf(resp), 200) << resp;
  // 3. A 3000-byte path: bounded in the log.
  std::string long_path = "/" + std::string(3000, 'L');
  EXPECT_EQ(httpGet(port_, long_path).status, 200);

  std::vector<json> lines = waitForLines(log_path_, 3);
  ASSERT_EQ(lines.size(), 3u);
  // Lines of different workers interleave in any order: find each by what it must hold.
  auto find = [&](auto pred) {
    for (const json& j : lines) {
      if (pred(j)) return j;
    }
    ADD_FAILURE() << "no such line in:\n" << readFile(log_path_);
    return json::object();
  };
  const json rejected = find([](const json& j) { return j["status"] == 400; });
  EXPECT_EQ(rejected["status"], 400) << rejected;
  EXPECT_EQ(rejected["method"], "GET") << rejected;
  EXPECT_TRUE(rejected["upstream"].is_null()) << rejected;
  EXPECT_TRUE(rejected["reason"].is_string()) << rejected;
  std::string logged_target = rejected["path"];
  EXPECT_EQ(logged_target.substr(0, 5), "/x\"y\x01") << logged_target;
  EXPECT_NE(logged_target.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD for \\xff\\xfe";
  EXPECT_EQ(logged_target.substr(logged_target.size() - 2), "\\z");

  const json proxied = find([](const json& j) { return j["path"] == "/ok"; });
  EXPECT_EQ(proxied["status"], 200) << proxied;
  EXPECT_EQ(proxied["request_id"], "id\"\\\xef\xbf\xbd(\xef\xbf\xbd-end") << proxied;

  const json long_one = find([](const json& j) {
    return j["path"].is_string() && j["path"].get<std::string>().size() > 100;
  });
  EXPECT_EQ(long_one["path"].get<std::string>(), long_path.substr(0, 1024) + "...");
  // Every line is exactly one line of valid UTF-8 (nlohmann rejects invalid UTF-8 on parse).
  EXPECT_EQ(linesOf(readFile(log_path_)).size(), 3u);
}

TEST_F(AccessLogIntegration, SighupReopensTheRotatedFile) {
  start();
  ASSERT_EQ(httpGet(port_, "/before").status, 200);
  waitForLines(log_path_, 1);
  std::filesystem::rename(log_path_, log_path_ + ".1");
  gateway_.signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] { return gateway_.log().find("reopening the access log") != std::string::npos; }, 10s,
      10ms, "SIGHUP handled"))
      << gateway_.log();
  ASSERT_EQ(httpGet(port_, "/after").status, 200);
  std::vector<json> fresh = waitForLines(log_path_, 1);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0]["path"], "/after");
  EXPECT_EQ(linesOf(readFile(log_path_ + ".1")).size(), 1u);
  EXPECT_TRUE(gateway_.running()) << "SIGHUP must not stop the gateway";
}

TEST_F(AccessLogIntegration, FlagsWriteTextLinesToStdout) {
  ASSERT_TRUE(testing::startUpstream(upstream_, dir_, "u1"));
  upstream_addr_ = "127.0.0.1:" + std::to_string(upstream_.port());
  // With the access log on stdout, the ready line goes to stderr: stdout holds access lines only.
  Process gw;
  std::string err;
  const std::string log = dir_.file("gateway.log");
  ASSERT_TRUE(gw.start({surgeBinary(), "gateway", "--listen", "127.0.0.1:0", "--admin", "off",
                        "--workers", "1", "--upstreams", upstream_addr_, "--access-log", "stdout",
                        "--access-log-format", "text"},
                       &err, log))
      << err;
  int port = -1;
  ASSERT_TRUE(waitUntil(
      [&] {
        std::string text = readFile(log);
        size_t at = text.find("surge gateway listening on ");
        if (at == std::string::npos) return false;
        port = portFromLine(text.substr(at, text.find('\n', at) - at), "listening on");
        return port > 0;
      },
      15s, 20ms, "the ready line on stderr"))
      << readFile(log);
  HttpResult r = httpRequest(port, "GET", "/text/path?a=1", {{"X-Request-Id", "tid"}});
  ASSERT_EQ(r.status, 200) << r.error;
  auto line = gw.waitForLine("\"tid\"", 10s);
  ASSERT_TRUE(line.has_value()) << readFile(log);
  // CLIENT - - [TIME] "METHOD PATH HTTP/1.1" STATUS REQ RESP UPSTREAM DUR TTFB "ID" RETRIES
  // "REASON"
  EXPECT_EQ(line->rfind("127.0.0.1 - - [", 0), 0u) << *line;
  EXPECT_NE(line->find("] \"GET /text/path?a=1 HTTP/1.1\" 200 "), std::string::npos) << *line;
  EXPECT_NE(line->find(" " + upstream_addr_ + " "), std::string::npos) << *line;
  EXPECT_NE(line->find(" \"tid\" 0 \"-\""), std::string::npos) << *line;
  for (const std::string& l : gw.lines()) {
    EXPECT_EQ(l.find("listening on"), std::string::npos) << "stdout holds access lines only: " << l;
  }
  // SIGHUP without an access-log file: logged and ignored, the gateway keeps serving.
  gw.signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return readFile(log).find("received SIGHUP") != std::string::npos; },
                        10s, 20ms, "the SIGHUP log line"))
      << readFile(log);
  EXPECT_TRUE(gw.running());
  EXPECT_EQ(httpRequest(port, "GET", "/after-hup").status, 200);
  gw.stop();
}

TEST_F(AccessLogIntegration, UnwritablePathIsAClearStartupError) {
  std::string yaml = std::string(kLocalGateway) + "backends: [127.0.0.1:1]\n" +
                     "access_log: " + dir_.file("no/such/dir/access.log") + "\n";
  dir_.write("gateway.yaml", yaml);
  std::string out;
  int code = runToExit({surgeBinary(), "gateway", "--config", dir_.file("gateway.yaml")},
                       dir_.file("err.log"), 10s, &out);
  EXPECT_EQ(code, 1);
  std::string err = readFile(dir_.file("err.log"));
  EXPECT_NE(err.find("access_log: cannot open '" + dir_.file("no/such/dir/access.log") + "'"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace surge::testing
