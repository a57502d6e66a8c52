#include "support/h2_test_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/h2/grpc_framing.h"
#include "support/socket_client.h"

namespace surge::testing {

const std::string* H2Result::header(const std::string& name) const {
  return h2::findHeader(headers, name);
}
const std::string* H2Result::trailer(const std::string& name) const {
  return h2::findHeader(trailers, name);
}
int H2Result::grpcStatus() const {
  const std::string* v = trailer("grpc-status");
  if (v == nullptr) v = header("grpc-status");
  return v == nullptr ? -1 : std::atoi(v->c_str());
}
int H2Result::status() const {
  const std::string* v = header(":status");
  return v == nullptr ? 0 : std::atoi(v->c_str());
}

H2TestClient::H2TestClient(int port) {
  fd_ = connectTo(port);
  int fd = fd_;
  io_.write = [fd](const char* p, size_t n) -> long {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    return r < 0 ? -1 : static_cast<long>(r);
  };
  io_.read = [fd](char* p, size_t n, int timeout_ms) -> long {
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, timeout_ms);
    if (pr == 0) return -2;
    if (pr < 0) return errno == EINTR ? -2 : -1;
    ssize_t r = ::recv(fd, p, n, 0);
    return r < 0 ? -1 : static_cast<long>(r);
  };
  init();
}

H2TestClient::H2TestClient(int fd, Io io) : fd_(fd), io_(std::move(io)) { init(); }

H2TestClient::~H2TestClient() {
  if (cs_) cs_->connectionClosed();
  if (fd_ >= 0) ::close(fd_);
}

void H2TestClient::init() {
  h2::ClientSession::Callbacks cb;
  cb.on_headers = [this](int32_t s, std::vector<h2::Header> h, bool) {
    results_[s].headers = std::move(h);
  };
  cb.on_data = [this](int32_t s, std::string_view d, bool) {
    results_[s].body.append(d);
    cs_->consume(s, d.size());
  };
  cb.on_trailers = [this](int32_t s, std::vector<h2::Header> t) {
    results_[s].trailers = std::move(t);
  };
  cb.on_close = [this](int32_t s, uint32_t code, bool) {
    auto& r = results_[s];
    r.closed = true;
    r.error_code = code;
    r.done_at = std::chrono::steady_clock::now();
    if (open_ > 0) --open_;
  };
  cb.on_goaway = [this](int32_t, uint32_t code) {
    goaway_ = true;
    goaway_code_ = code;
  };
  h2::ClientLimits limits;
  cs_ = std::make_unique<h2::ClientSession>(limits, std::move(cb));
  (void)cs_->start();
}

int32_t H2TestClient::submit(const std::string& method, const std::string& path, std::string body,
                             std::vector<h2::Header> extra) {
  std::vector<h2::Header> hs = {
      {":method", method}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}};
  for (auto& h : extra) hs.push_back(std::move(h));
  bool end = body.empty();
  auto id = cs_->submitRequest(hs, end);
  if (!id.isOk()) return -1;
  if (!end) {
    if (!cs_->sendData(id.value(), std::move(body), true).isOk()) return -1;
  }
  results_[id.value()];
  ++open_;
  return id.value();
}

int32_t H2TestClient::submitGrpc(const std::string& path, const std::string& message,
                                 std::vector<h2::Header> extra) {
  std::vector<h2::Header> hs = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  for (auto& h : extra) hs.push_back(std::move(h));
  return submit("POST", path, h2::grpcFrame(message), std::move(hs));
}

bool H2TestClient::flush() {
  std::string out;
  while (cs_->wantsWrite()) {
    out.clear();
    cs_->send(&out, 1 << 20);
    if (out.empty()) break;
    size_t off = 0;
    while (off < out.size()) {
      long n = io_.write(out.data() + off, out.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
  }
  return true;
}

bool H2TestClient::sendRaw(const std::string& bytes) {
  if (!flush()) return false;
  size_t off = 0;
  while (off < bytes.size()) {
    long n = io_.write(bytes.data() + off, bytes.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool H2TestClient::run(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  while (true) {
    if (!flush()) {
      cs_->connectionClosed();
      eof_ = true;
      return open_ == 0;
    }
    if (open_ == 0 || eof_) return open_ == 0;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    long n = io_.read(buf, sizeof buf, static_cast<int>(std::min<long>(left.count(), 100)));
    if (n == -2) continue;
    if (n <= 0) {
      eof_ = true;
      cs_->connectionClosed();
      return open_ == 0;
    }
    if (!cs_->receive(std::string_view(buf, static_cast<size_t>(n))).isOk()) {
      flush();
      eof_ = true;
      return open_ == 0;
    }
  }
}

}  // namespace surge::testing
