#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace surge::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string dechunk(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (n == 0) break;
    out.append(raw, eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

}  // namespace

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string readAll(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

HttpResult httpRequest(int port, const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& body, std::chrono::milliseconds timeout) {
  HttpResult r;
  auto t0 = std::chrono::steady_clock::now();
  int fd = connectTo(port);
  if (fd < 0) {
    r.error = "connect failed";
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_cl = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (lower(k) == "content-length" || lower(k) == "transfer-encoding") has_cl = true;
  }
  if (!body.empty() && !has_cl) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (body.empty() && !has_cl && (method == "POST" || method == "PUT" || method == "PATCH")) {
    req += "Content-Length: 0\r\n";
  }
  req += "\r\n" + body;
  if (!sendAll(fd, req)) {
    close(fd);
    r.error = "send failed";
    return r;
  }
  std::string raw = readAll(fd, timeout);
  close(fd);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    r.error = raw.empty() ? "no response" : "incomplete response head";
    return r;
  }
  std::string head = raw.substr(0, head_end);
  size_t sp = head.find(' ');
  if (sp == std::string::npos) {
    r.error = "bad status line";
    return r;
  }
  r.status = std::atoi(head.c_str() + sp + 1);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, (next == std::string::npos ? head.size() : next) - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      r.headers[lower(line.substr(0, colon))] = v;
    }
    pos = next;
  }
  std::string rest = raw.substr(head_end + 4);
  auto te = r.headers.find("transfer-encoding");
  r.body = (te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos)
               ? dechunk(rest)
               : rest;
  return r;
}

}  // namespace surge::testing
