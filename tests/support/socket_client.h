// Test support: blocking loopback socket helpers for unit and integration tests — connect, send,
// read with a deadline, a one-shot raw HTTP/1.1 exchange, and picking a free port. Header-only
// (in-process tests of net/, gateway/ and serving/ include it without linking anything).
// Thread-safety: free functions on file descriptors owned by the caller.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace surge::testing {

// Connects to 127.0.0.1:port (TCP_NODELAY); returns the descriptor, or -1.
inline int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Sends every byte; false on error (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
inline bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF, until `until` appears (when non-empty), or until the timeout.
inline std::string readFor(int fd, std::chrono::milliseconds timeout, std::string_view until = {}) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!until.empty() && out.find(until) != std::string::npos) break;
  }
  return out;
}

// Reads one complete response with a Content-Length body (or none) from fd.
inline std::string readResponse(int fd,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    size_t he = out.find("\r\n\r\n");
    if (he != std::string::npos) {
      size_t cl_pos = out.find("Content-Length: ");
      if (cl_pos == std::string::npos || cl_pos > he) cl_pos = out.find("content-length: ");
      size_t need = he + 4;
      if (cl_pos != std::string::npos && cl_pos < he) need += std::stoul(out.substr(cl_pos + 16));
      if (out.size() >= need) return out;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// The status code of a raw response ("HTTP/1.1 200 ..."), or -1.
inline int statusOf(std::string_view response) {
  if (response.size() < 12 || response.substr(0, 5) != "HTTP/") return -1;
  return std::stoi(std::string(response.substr(9, 3)));
}

// Everything after the head of a raw response.
inline std::string bodyOf(std::string_view response) {
  size_t he = response.find("\r\n\r\n");
  return he == std::string_view::npos ? std::string() : std::string(response.substr(he + 4));
}

// One request on a fresh connection ("Connection: close" added); returns the raw response.
inline std::string httpExchange(uint16_t port, std::string_view method, std::string_view target,
                                std::string_view body = {}, std::string_view extra_headers = {}) {
  int fd = connectTo(port);
  if (fd < 0) return {};
  std::string req = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + std::string(extra_headers);
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  sendAll(fd, req);
  std::string r = readFor(fd, std::chrono::seconds(5));
  ::close(fd);
  return r;
}

// A port on 127.0.0.1 that was free a moment ago (bound to 0, read, closed), or 0. Only for
// programs that cannot listen on port 0 and report the port (redis-server, prometheus); another
// process may take it meanwhile, so the caller retries on "address in use".
inline int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace surge::testing
