#include "autoscale/gateway_admin_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace surge::autoscale {
namespace {

using nlohmann::json;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int msLeft(TimePoint deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - SteadyClock::instance().now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd until the deadline: OK, DeadlineExceeded or Unavailable.
Status waitFd(int fd, short events, TimePoint deadline, const std::string& what) {
  for (;;) {
    int ms = msLeft(deadline);
    if (ms <= 0) return {StatusCode::kDeadlineExceeded, what + ": timed out"};
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return unavailable(what + ": poll: " + std::strerror(errno));
    if (r > 0) return Status::ok();
  }
}

StatusOr<sockaddr_in> resolve(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (::inet_pton(AF_INET, h.c_str(), &a.sin_addr) == 1) return a;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(h.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) return unavailable("cannot resolve '" + host + "': " + gai_strerror(rc));
  a.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  ::freeaddrinfo(res);
  return a;
}

// Parses a complete response in `raw` (read until the peer closed); false if incomplete.
bool parseResponse(const std::string& raw, bool eof, HttpReply* out, std::string* error) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::string head = raw.substr(0, head_end);
  if (head.compare(0, 5, "HTTP/") != 0) {
    *error = "malformed status line";
    return true;
  }
  size_t sp = head.find(' ');
  if (sp == std::string::npos || sp + 4 > head.size()) {
    *error = "malformed status line";
    return true;
  }
  out->status = std::atoi(head.c_str() + sp + 1);
  long content_length = -1;
  bool chunked = false;
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                                       : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") content_length = std::atol(value.c_str());
      if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) {
        chunked = true;
      }
    }
    pos = next;
  }
  std::string rest = raw.substr(head_end + 4);
  if (chunked) {
    std::string body;
    size_t p = 0;
    for (;;) {
      size_t eol = rest.find("\r\n", p);
      if (eol == std::string::npos) return eof ? (*error = "truncated chunked body", true) : false;
      long size = std::strtol(rest.substr(p, eol - p).c_str(), nullptr, 16);
      if (size < 0) {
        *error = "bad chunk size";
        return true;
      }
      if (size == 0) break;
      if (rest.size() < eol + 2 + static_cast<size_t>(size) + 2) {
        return eof ? (*error = "truncated chunked body", true) : false;
      }
      body.append(rest, eol + 2, static_cast<size_t>(size));
      p = eol + 2 + static_cast<size_t>(size) + 2;
    }
    out->body = std::move(body);
    return true;
  }
  if (content_length >= 0) {
    if (rest.size() < static_cast<size_t>(content_length)) {
      if (eof) *error = "truncated body";
      return eof;
    }
    out->body = rest.substr(0, static_cast<size_t>(content_length));
    return true;
  }
  if (out->status == 204 || out->status == 304 || out->status / 100 == 1) return true;
  if (!eof) return false;
  out->body = std::move(rest);
  return true;
}

}  // namespace

StatusOr<HttpReply> httpCall(const std::string& host, uint16_t port, const std::string& method,
                             const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& body, Duration timeout) {
  const std::string what = method + " http://" + host + ":" + std::to_string(port) + target;
  TimePoint deadline = SteadyClock::instance().now() + timeout;
  ASSIGN_OR_RETURN(sockaddr_in addr, resolve(host, port));
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return unavailable(what + ": socket: " + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return unavailable(what + ": connect: " + std::strerror(errno));
    RETURN_IF_ERROR(waitFd(fd.get(), POLLOUT, deadline, what + ": connect"));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return unavailable(what + ": connect: " + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host + ":" +
                    std::to_string(port) + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      RETURN_IF_ERROR(waitFd(fd.get(), POLLOUT, deadline, what + ": send"));
      continue;
    }
    return unavailable(what + ": send: " + std::strerror(errno));
  }

  std::string raw;
  HttpReply reply;
  std::string error;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > (64u << 20)) return unavailable(what + ": response over 64 MiB");
      if (parseResponse(raw, false, &reply, &error)) break;
      continue;
    }
    if (n == 0) {
      if (!parseResponse(raw, true, &reply, &error)) {
        error = raw.empty() ? "connection closed without a response" : "truncated response";
      }
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      RETURN_IF_ERROR(waitFd(fd.get(), POLLIN, deadline, what));
      continue;
    }
    return unavailable(what + ": recv: " + std::strerror(errno));
  }
  if (!error.empty()) return unavailable(what + ": " + error);
  return reply;
}

StatusOr<std::pair<std::string, uint16_t>> parseHttpUrl(const std::string& url) {
  static const std::string kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return invalidArgument("expected an http:// URL, found '" + url + "'");
  }
  std::string rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return invalidArgument("the URL '" + url + "' must not have a path");
  }
  size_t colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (host.empty()) return invalidArgument("the URL '" + url + "' has no host");
  if (colon == std::string::npos) return std::make_pair(host, uint16_t{80});
  std::string port_text = rest.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 1 || port > 65535) {
    return invalidArgument("the URL '" + url + "' has a bad port '" + port_text + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

StatusOr<GatewayAdminClient> GatewayAdminClient::create(const std::string& admin_url,
                                                        const std::string& token,
                                                        Duration timeout) {
  ASSIGN_OR_RETURN(auto hp, parseHttpUrl(admin_url));
  GatewayAdminClient c;
  c.url_ = admin_url;
  c.host_ = hp.first;
  c.port_ = hp.second;
  c.token_ = token;
  c.timeout_ = timeout;
  return c;
}

StatusOr<HttpReply> GatewayAdminClient::call(const std::string& method, const std::string& target,
                                             const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return httpCall(host_, port_, method, target, headers, body, timeout_);
}

Status GatewayAdminClient::expect(const StatusOr<HttpReply>& reply, std::initializer_list<int> ok,
                                  const std::string& what) const {
  if (!reply.isOk()) return {reply.status().code(), "gateway admin " + what + ": " +
                                                        reply.status().message()};
  for (int s : ok) {
    if (reply->status == s) return Status::ok();
  }
  std::string msg = reply->body;
  json j = json::parse(reply->body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
    msg = j["error"].get<std::string>();
  }
  std::string text = "gateway admin " + what + ": HTTP " + std::to_string(reply->status) + ": " +
                     msg;
  switch (reply->status) {
    case 400:
      return invalidArgument(text);
    case 401:
    case 403:
      return failedPrecondition(text + " (check the gateway token)");
    case 404:
      return notFound(text);
    case 409:
      return alreadyExists(text);
    default:
      return unavailable(text);
  }
}

Status GatewayAdminClient::addBackend(const std::string& address, int32_t weight,
                                      const std::string& zone) {
  json j = {{"address", address}, {"weight", weight}};
  if (!zone.empty()) j["zone"] = zone;
  auto r = call("POST", "/backends", j.dump());
  return expect(r, {201, 409}, "add " + address);
}

StatusOr<bool> GatewayAdminClient::drainBackend(const std::string& address) {
  auto r = call("DELETE", "/backends/" + address + "?drain=true", "");
  RETURN_IF_ERROR(expect(r, {200, 202}, "drain " + address));
  return r->status == 200;
}

Status GatewayAdminClient::removeBackend(const std::string& address) {
  auto r = call("DELETE", "/backends/" + address, "");
  return expect(r, {200}, "remove " + address);
}

Status GatewayAdminClient::setWeight(const std::string& address, int32_t weight) {
  auto r = call("PATCH", "/backends/" + address, json({{"weight", weight}}).dump());
  return expect(r, {200}, "set weight of " + address);
}

namespace {

BackendState backendFromJson(const json& j) {
  BackendState b;
  b.address = j.value("address", "");
  b.weight = j.value("weight", 0);
  b.health = j.value("health", "");
  b.draining = j.value("draining", false);
  b.in_flight = j.value("in_flight", int64_t{0});
  b.requests = j.value("requests", int64_t{0});
  return b;
}

}  // namespace

StatusOr<std::optional<BackendState>> GatewayAdminClient::getBackend(const std::string& address) {
  auto r = call("GET", "/backends/" + address, "");
  if (r.isOk() && r->status == 404) return std::optional<BackendState>();
  RETURN_IF_ERROR(expect(r, {200}, "get " + address));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return unavailable("gateway admin get " + address + ": response is not a JSON object");
  }
  try {
    return std::optional<BackendState>(backendFromJson(j));
  } catch (const json::exception& e) {
    return unavailable("gateway admin get " + address + ": " + e.what());
  }
}

StatusOr<std::vector<BackendState>> GatewayAdminClient::listBackends() {
  auto r = call("GET", "/backends", "");
  RETURN_IF_ERROR(expect(r, {200}, "list"));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("backends") ||
      !j["backends"].is_array()) {
    return unavailable("gateway admin list: response has no 'backends' array");
  }
  std::vector<BackendState> out;
  try {
    for (const auto& b : j["backends"]) out.push_back(backendFromJson(b));
  } catch (const json::exception& e) {
    return unavailable(std::string("gateway admin list: ") + e.what());
  }
  return out;
}

}  // namespace surge::autoscale
