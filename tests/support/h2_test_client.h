// Test support: a blocking HTTP/2 client over one loopback connection (h2c with prior knowledge,
// or over a TLS connection the caller set up), built on h2::ClientSession: submit many streams,
// then run() until they are all closed or a deadline passes. For the gateway's HTTP/2 tests.
// Thread-safety: none.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/h2/client_session.h"

namespace surge::testing {

struct H2Result {
  bool closed = false;
  uint32_t error_code = 0;  // RST code (0: completed)
  std::vector<h2::Header> headers;
  std::string body;
  std::vector<h2::Header> trailers;
  std::chrono::steady_clock::time_point done_at{};

  const std::string* header(const std::string& name) const;
  const std::string* trailer(const std::string& name) const;
  // grpc-status from the trailers, or from the headers of a Trailers-Only answer; -1 if none.
  int grpcStatus() const;
  int status() const;
};

class H2TestClient {
 public:
  // Byte I/O of the connection: defaults to the socket (send/recv); a TLS test supplies its own.
  struct Io {
    std::function<long(const char*, size_t)> write;           // bytes written or -1
    std::function<long(char*, size_t, int timeout_ms)> read;  // bytes, 0 EOF, -1 error, -2 timeout
  };
  explicit H2TestClient(int port);  // connects to 127.0.0.1:port
  H2TestClient(int fd, Io io);      // over an established connection (takes ownership of fd)
  ~H2TestClient();

  bool connected() const { return fd_ >= 0; }
  // A stream; returns its id (or -1). A gRPC request: method POST, content-type application/grpc,
  // te: trailers; `body` is sent as is (frame it with h2::grpcFrame).
  int32_t submit(const std::string& method, const std::string& path, std::string body,
                 std::vector<h2::Header> extra = {});
  int32_t submitGrpc(const std::string& path, const std::string& message,
                     std::vector<h2::Header> extra = {});
  // Exchanges bytes until every submitted stream is closed, the connection ends, or `timeout`.
  // True when all streams closed.
  bool run(std::chrono::milliseconds timeout);
  // Sends raw bytes on the connection (abuse tests).
  bool sendRaw(const std::string& bytes);
  // Writes what the session has queued (frames go out now, not at the next run()).
  bool pump() { return flush(); }
  const std::map<int32_t, H2Result>& results() const { return results_; }
  const H2Result& result(int32_t stream) { return results_[stream]; }
  bool goawayReceived() const { return goaway_; }
  uint32_t goawayCode() const { return goaway_code_; }
  bool eof() const { return eof_; }
  h2::ClientSession& session() { return *cs_; }

 private:
  void init();
  bool flush();

  int fd_ = -1;
  Io io_;
  std::unique_ptr<h2::ClientSession> cs_;
  std::map<int32_t, H2Result> results_;
  size_t open_ = 0;
  bool goaway_ = false;
  uint32_t goaway_code_ = 0;
  bool eof_ = false;
};

}  // namespace surge::testing
