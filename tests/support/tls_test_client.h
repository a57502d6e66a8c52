// Test support: a TLS client over one loopback connection (net/tls's Conn on a non-blocking
// socket, driven with poll), for the gateway's TLS tests: handshake with ALPN and an optional
// client certificate, send, read with a deadline, and an H2TestClient::Io over it.
// Thread-safety: none.
#pragma once

#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <string>

#include "net/tls/tls.h"
#include "support/h2_test_client.h"
#include "support/socket_client.h"

namespace surge::testing {

class TlsTestClient {
 public:
  // Connects to 127.0.0.1:port and completes the handshake; *error says why not.
  static std::unique_ptr<TlsTestClient> connect(
      int port, const tls::ClientTlsOptions& options, std::string* error,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto ctx = tls::ClientContext::load(options);
    if (!ctx.isOk()) {
      *error = ctx.status().message();
      return nullptr;
    }
    int fd = connectTo(port);
    if (fd < 0) {
      *error = "connect failed";
      return nullptr;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto c = std::unique_ptr<TlsTestClient>(new TlsTestClient());
    c->fd_ = fd;
    c->ctx_ = ctx.value();
    c->conn_ = std::make_unique<tls::Conn>(c->ctx_, fd, "127.0.0.1");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      tls::Io st = c->conn_->handshake();
      if (st == tls::Io::kOk) return c;
      if (st != tls::Io::kWantRead && st != tls::Io::kWantWrite) {
        *error = "handshake: " + std::string(tls::ioName(st)) + ": " + c->conn_->lastError();
        return nullptr;
      }
      if (!c->wait(st == tls::Io::kWantWrite ? POLLOUT : POLLIN, deadline)) {
        *error = "handshake timed out";
        return nullptr;
      }
    }
  }
  ~TlsTestClient() {
    conn_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  tls::Conn& conn() { return *conn_; }
  int fd() const { return fd_; }

  bool sendAll(std::string_view data, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!data.empty()) {
      tls::Io st = tls::Io::kOk;
      size_t n = conn_->write(data.data(), data.size(), &st);
      data.remove_prefix(n);
      if (n > 0) continue;
      if (st != tls::Io::kWantRead && st != tls::Io::kWantWrite) return false;
      if (!wait(st == tls::Io::kWantWrite ? POLLOUT : POLLIN, deadline)) return false;
    }
    return true;
  }
  // > 0 bytes, 0 EOF, -1 error, -2 nothing before the timeout.
  long read(char* buf, size_t n, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      tls::Io st = tls::Io::kOk;
      size_t r = conn_->read(buf, n, &st);
      if (r > 0) return static_cast<long>(r);
      if (st == tls::Io::kEof) return 0;
      if (st != tls::Io::kWantRead && st != tls::Io::kWantWrite) return -1;
      if (!wait(st == tls::Io::kWantWrite ? POLLOUT : POLLIN, deadline)) return -2;
    }
  }
  // Reads until `until` appears, the peer closes, or the timeout.
  std::string readFor(std::chrono::milliseconds timeout, std::string_view until = {}) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      long n = read(buf, sizeof buf, static_cast<int>(left.count()));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  // Byte I/O for an H2TestClient over this connection (the client must outlive it).
  H2TestClient::Io h2Io() {
    H2TestClient::Io io;
    io.write = [this](const char* p, size_t n) -> long {
      return sendAll(std::string_view(p, n)) ? static_cast<long>(n) : -1;
    };
    io.read = [this](char* p, size_t n, int timeout_ms) -> long { return read(p, n, timeout_ms); };
    return io;
  }

 private:
  TlsTestClient() = default;
  bool wait(short events, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  int fd_ = -1;
  std::shared_ptr<tls::ClientContext> ctx_;
  std::unique_ptr<tls::Conn> conn_;
};

}  // namespace surge::testing
