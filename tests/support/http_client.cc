#include "http_client.h"

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
  std::string raw = readFor(fd, timeout);
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
