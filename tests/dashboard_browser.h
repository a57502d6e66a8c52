// Test support for the admin pages' browser tests (tests/dashboard_*_test.cc): Debian's headless
// Chromium, driven without npm or Playwright —
//   - dumpDom: `chromium --headless --dump-dom --virtual-time-budget=MS URL`, the DOM after the
//     page's scripts ran (a fresh page load);
//   - screenshot: the same with --screenshot and --window-size (phone and desktop widths);
//   - Browser: one page kept open under --remote-debugging-port=0, evaluated through the DevTools
//     protocol (Runtime.evaluate) over a minimal WebSocket client written here, to watch the DOM
//     change live (no reload) and to click buttons.
// Every Chromium gets a throwaway --user-data-dir in the test's ScratchDir and is stopped by its
// Process (SIGTERM, then SIGKILL to its process group). Nothing leaves loopback.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::testing {

// The Chromium binary: $SURGE_CHROMIUM, else `chromium` or `chromium-browser` on PATH; "" when
// none is installed.
inline std::string chromiumBinary() {
  if (const char* env = std::getenv("SURGE_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser"}) {
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::filesystem::path p = std::filesystem::path(dirs.substr(start, end - start)) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
      start = end + 1;
    }
  }
  return "";
}

// GTEST_SKIP, loudly, when Chromium is missing (scripts/install-deps installs it; CI runs these).
#define SURGE_REQUIRE_CHROMIUM()                                                             \
  do {                                                                                       \
    if (::surge::testing::chromiumBinary().empty()) {                                        \
      std::fprintf(stderr,                                                                   \
                   "\n*** SKIPPED: chromium is not installed, so the dashboard's browser "   \
                   "test did not run. Run scripts/install-deps (apt-get install chromium). " \
                   "***\n\n");                                                               \
      GTEST_SKIP() << "chromium is not installed (scripts/install-deps installs it)";        \
    }                                                                                        \
  } while (0)

inline std::vector<std::string> chromiumArgs(const ScratchDir& dir, const std::string& profile) {
  return {chromiumBinary(),
          "--headless",
          "--disable-gpu",
          "--no-sandbox",
          "--no-first-run",
          "--no-default-browser-check",
          "--disable-extensions",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
          "--hide-scrollbars",
          "--user-data-dir=" + dir.file(profile)};
}

// The DOM of `url` after its scripts ran for `budget` of virtual time.
inline std::string dumpDom(const ScratchDir& dir, const std::string& url,
                           std::chrono::milliseconds budget = std::chrono::milliseconds(3000)) {
  std::vector<std::string> argv = chromiumArgs(dir, "chromium-dump");
  argv.push_back("--virtual-time-budget=" + std::to_string(budget.count()));
  argv.push_back("--dump-dom");
  argv.push_back(url);
  std::string out;
  int code = runToExit(argv, dir.file("chromium-dump.log"), std::chrono::seconds(40), &out);
  EXPECT_EQ(code, 0) << readFile(dir / "chromium-dump.log");
  return out;
}

// A PNG of `url` at width x height.
inline bool screenshot(const ScratchDir& dir, const std::string& url, const std::string& png,
                       int width, int height) {
  std::vector<std::string> argv = chromiumArgs(dir, "chromium-shot");
  argv.push_back("--virtual-time-budget=3000");
  argv.push_back("--window-size=" + std::to_string(width) + "," + std::to_string(height));
  argv.push_back("--screenshot=" + png);
  argv.push_back(url);
  return runToExit(argv, dir.file("chromium-shot.log"), std::chrono::seconds(40)) == 0 &&
         std::filesystem::exists(png);
}

// Occurrences of `needle` in `text`.
inline int countOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// One page in a running headless Chromium, evaluated over the DevTools protocol.
class Browser {
 public:
  Browser() = default;
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;
  ~Browser() { close(); }

  // Starts Chromium on `url` and connects to the page. The failure message carries the log.
  ::testing::AssertionResult open(const ScratchDir& dir, const std::string& url) {
    log_ = dir.file("chromium-cdp.log");
    std::vector<std::string> argv = chromiumArgs(dir, "chromium-cdp");
    argv.push_back("--remote-debugging-port=0");
    argv.push_back("--remote-allow-origins=*");
    argv.push_back("--window-size=1280,1000");
    argv.push_back(url);
    std::string err;
    if (!process_.start(argv, &err, log_)) {
      return ::testing::AssertionFailure() << "cannot start chromium: " << err;
    }
    // Chromium writes its DevTools port to <user-data-dir>/DevToolsActivePort.
    const auto port_file = dir / "chromium-cdp" / "DevToolsActivePort";
    int port = 0;
    auto found = waitUntil(
        [&] {
          std::string text = readFile(port_file);
          if (text.find('\n') == std::string::npos) return false;
          port = std::atoi(text.c_str());
          return port > 0;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50), "chromium's DevTools port");
    if (!found) return found << "\n" << readFile(log_);
    // The page target (the URL given on the command line).
    std::string ws_path;
    found = waitUntil(
        [&] {
          HttpResult r = httpGet(port, "/json/list");
          if (r.status != 200) return false;
          auto list = nlohmann::json::parse(r.body, nullptr, false);
          if (!list.is_array()) return false;
          for (const auto& t : list) {
            if (t.value("type", "") == "page" && t.contains("webSocketDebuggerUrl")) {
              std::string ws = t["webSocketDebuggerUrl"].get<std::string>();
              size_t slash = ws.find('/', std::string("ws://").size());
              if (slash == std::string::npos) return false;
              ws_path = ws.substr(slash);
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50), "chromium's page target");
    if (!found) return found << "\n" << readFile(log_);
    fd_ = connectTo(port);
    if (fd_ < 0) return ::testing::AssertionFailure() << "cannot connect to DevTools";
    const std::string handshake = "GET " + ws_path +
                                  " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
    if (!sendAll(fd_, handshake)) return ::testing::AssertionFailure() << "handshake send";
    std::string head;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (!readSome(head, deadline)) break;
    }
    size_t end = head.find("\r\n\r\n");
    if (end == std::string::npos || head.find(" 101 ") == std::string::npos) {
      return ::testing::AssertionFailure() << "no WebSocket upgrade: " << head;
    }
    buffer_ = head.substr(end + 4);
    return ::testing::AssertionSuccess();
  }

  // Evaluates `expression` in the page; its value as JSON (null when it threw or timed out).
  nlohmann::json evaluate(const std::string& expression,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (fd_ < 0) return nullptr;
    const int id = ++next_id_;
    nlohmann::json msg = {
        {"id", id},
        {"method", "Runtime.evaluate"},
        {"params", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}}};
    if (!sendFrame(msg.dump())) return nullptr;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::optional<std::string> text = readFrame(deadline);
      if (!text) return nullptr;
      auto reply = nlohmann::json::parse(*text, nullptr, false);
      if (!reply.is_object() || reply.value("id", -1) != id) continue;  // an event, or older
      if (!reply.contains("result") || reply["result"].contains("exceptionDetails")) {
        last_error_ = reply.dump();
        return nullptr;
      }
      const auto& r = reply["result"]["result"];
      return r.contains("value") ? r["value"] : nlohmann::json(nullptr);
    }
  }

  const std::string& lastError() const { return last_error_; }
  std::string log() const { return readFile(log_); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    process_.stop(std::chrono::milliseconds(2000));
  }

 private:
  bool readSome(std::string& into, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    into.append(buf, static_cast<size_t>(n));
    return true;
  }

  // One masked text frame (a client must mask).
  bool sendFrame(const std::string& payload) {
    std::string f;
    f.push_back(static_cast<char>(0x81));
    const uint64_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>((n >> 8) & 0xff));
      f.push_back(static_cast<char>(n & 0xff));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    for (unsigned char m : mask) f.push_back(static_cast<char>(m));
    for (size_t i = 0; i < payload.size(); ++i) {
      f.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i % 4]));
    }
    return sendAll(fd_, f);
  }

  // The next complete text message (continuation frames joined; control frames skipped).
  std::optional<std::string> readFrame(std::chrono::steady_clock::time_point deadline) {
    std::string message;
    while (true) {
      while (buffer_.size() < 2) {
        if (!readSome(buffer_, deadline)) return std::nullopt;
      }
      const auto b0 = static_cast<unsigned char>(buffer_[0]);
      const auto b1 = static_cast<unsigned char>(buffer_[1]);
      size_t header = 2;
      uint64_t len = b1 & 0x7f;
      if (len == 126) header = 4;
      if (len == 127) header = 10;
      if (b1 & 0x80) header += 4;  // a masked server frame (not expected)
      while (buffer_.size() < header) {
        if (!readSome(buffer_, deadline)) return std::nullopt;
      }
      if (len == 126) {
        len = (static_cast<uint64_t>(static_cast<unsigned char>(buffer_[2])) << 8) |
              static_cast<unsigned char>(buffer_[3]);
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(buffer_[2 + i]);
      }
      while (buffer_.size() < header + len) {
        if (!readSome(buffer_, deadline)) return std::nullopt;
      }
      std::string payload = buffer_.substr(header, len);
      buffer_.erase(0, header + len);
      const int opcode = b0 & 0x0f;
      if (opcode == 0x8) return std::nullopt;        // close
      if (opcode != 0x1 && opcode != 0x0) continue;  // ping/pong/binary
      message += payload;
      if (b0 & 0x80) return message;  // FIN
    }
  }

  Process process_;
  std::string log_;
  int fd_ = -1;
  int next_id_ = 0;
  std::string buffer_;
  std::string last_error_;
};

}  // namespace surge::testing
