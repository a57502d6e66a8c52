#include "autoscale/sources/http_fetch.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "net/http_parser.h"

namespace surge::autoscale {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

std::string formatDuration(Duration d) {
  double s = toSeconds(d);
  char buf[32];
  if (s >= 1 && s == static_cast<double>(static_cast<int64_t>(s))) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%gms", s * 1e3);
  }
  return buf;
}

int msLeft(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Connects to the first address that accepts within the deadline; returns the error otherwise.
Status connectTo(const HttpUrl& url, SteadyTime deadline, Fd& out, const std::string& what) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return unavailable(what + ": cannot resolve '" + url.host + "': " + ::gai_strerror(rc));
  }
  std::string last = "no address";
  bool timed_out = false;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    out.reset(fd);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return Status::ok();
    }
    if (errno != EINPROGRESS) {
      last = std::strerror(errno);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, msLeft(deadline));
    if (n == 0) {
      timed_out = true;
      last = "timed out";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
      ::freeaddrinfo(res);
      return Status::ok();
    }
    last = std::strerror(err);
  }
  ::freeaddrinfo(res);
  out.reset(-1);
  if (timed_out) return Status(StatusCode::kDeadlineExceeded, what + ": connect: " + last);
  return unavailable(what + ": connect: " + last);
}

}  // namespace

StatusOr<HttpUrl> parseHttpUrl(std::string_view url) {
  std::string_view rest = url;
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string_view scheme = rest.substr(0, scheme_end);
    if (!net::equalsIgnoreCase(scheme, "http")) {
      return invalidArgument("unsupported URL scheme '" + std::string(scheme) + "' in '" +
                             std::string(url) + "' (only http:// is supported)");
    }
    rest.remove_prefix(scheme_end + 3);
  }
  HttpUrl out;
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target[0] == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return invalidArgument("malformed URL '" + std::string(url) + "': user info is not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalidArgument("malformed URL '" + std::string(url) + "': unterminated '['");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return invalidArgument("malformed URL '" + std::string(url) + "': junk after ']'");
      }
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    return invalidArgument("malformed URL '" + std::string(url) + "': no host");
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return invalidArgument("malformed URL '" + std::string(url) + "': bad port '" +
                             std::string(port_text) + "'");
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

StatusOr<HttpFetchResult> httpGet(std::string_view url_text, const HttpFetchOptions& options) {
  ASSIGN_OR_RETURN(HttpUrl url, parseHttpUrl(url_text));
  const std::string what = "GET " + std::string(url_text);
  Fd fd;
  RETURN_IF_ERROR(
      connectTo(url, std::chrono::steady_clock::now() + options.connect_timeout, fd, what));

  std::string host_header =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 80) host_header += ":" + std::to_string(url.port);
  std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + host_header +
                        "\r\nUser-Agent: surge-autoscaler\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n";
  const SteadyTime deadline = std::chrono::steady_clock::now() + options.read_timeout;
  auto timeout = [&] {
    return Status(StatusCode::kDeadlineExceeded,
                  what + ": no response within " + formatDuration(options.read_timeout));
  };
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, msLeft(deadline)) <= 0) return timeout();
      continue;
    }
    return unavailable(what + ": send: " + std::strerror(errno));
  }

  net::HeadParser head(net::HeadParser::Kind::kResponse);
  net::BodyDecoder body;
  HttpFetchResult result;
  std::string buf;
  size_t body_pos = 0;  // start of undecoded body bytes in buf, once the head is done
  bool head_done = false;
  bool eof = false;
  char chunk[16384];
  while (true) {
    if (!head_done) {
      auto st = head.parse(buf.data(), buf.size());
      if (st == net::HeadParser::Status::kError) {
        return unavailable(what + ": malformed response (" +
                           std::string(net::describeError(head.error())) + ")");
      }
      if (st == net::HeadParser::Status::kDone) {
        if (head.status() >= 100 && head.status() < 200) {  // 1xx: skip it, read the next head
          buf.erase(0, head.headSize());
          head.reset();
          continue;
        }
        head_done = true;
        result.status = head.status();
        if (const auto* ct = head.find("content-type")) result.content_type = ct->value;
        body.reset(head.framing(), head.contentLength(), options.max_body_bytes);
        body_pos = head.headSize();
      }
    }
    if (head_done) {
      while (body_pos < buf.size() && !body.done() && !body.failed()) {
        auto step = body.step(std::string_view(buf).substr(body_pos));
        result.body.append(step.data);
        body_pos += step.consumed;
        if (step.consumed == 0) break;
      }
      if (body_pos == buf.size()) {
        buf.clear();
        body_pos = 0;
      }
      if (eof && !body.done()) body.onEof();
      if (body.failed()) {
        return unavailable(what + ": malformed response body (" +
                           std::string(net::describeError(body.error())) + ")");
      }
      if (body.done()) return result;
    }
    if (eof) return unavailable(what + ": connection closed before a complete response");
    pollfd p{fd.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, msLeft(deadline));
    if (pr == 0) return timeout();
    if (pr < 0 && errno != EINTR) return unavailable(what + ": poll: " + std::strerror(errno));
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return unavailable(what + ": recv: " + std::strerror(errno));
    }
  }
}

std::string queryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace surge::autoscale
