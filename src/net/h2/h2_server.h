// H2Server: an HTTP/2 server (h2c, prior knowledge — what gRPC clients speak on an insecure
// channel) on an Asio io_context: one h2::ServerSession per connection (net/h2/server_session.h:
// nghttp2 plus an edge's limits), reads fed to it, its output written back. Each request stream
// gets a handler from the factory; the handler answers through an H2Responder, from any thread
// (the answer is dispatched to the connection's io_context).
// Shutdown: stop() stops accepting and starts every connection's graceful shutdown (two-step
// GOAWAY: streams in flight finish, new ones are refused); closeAll() drops what is left.
// Threading: run the io_context from ONE thread (a connection's session and its handlers are
// serialized by that); several servers on several io_contexts share a port with reuse_port.
// Lifetime: stop()/closeAll() or destroy the server before the io_context.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/h2/server_session.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace surge::net {

class H2Connection;

// Answers one stream. Thread-safe: every call is dispatched to the connection's io_context (run
// inline when already on it). Calls after the stream or connection is gone are dropped.
class H2Responder {
 public:
  H2Responder() = default;
  H2Responder(std::weak_ptr<H2Connection> conn, int32_t stream)
      : conn_(std::move(conn)), stream_(stream) {}

  void respond(std::vector<h2::Header> headers, std::string body,
               std::vector<h2::Header> trailers = {}) const;
  void sendHeaders(std::vector<h2::Header> headers) const;
  void sendData(std::string data, bool end_stream) const;
  void sendTrailers(std::vector<h2::Header> trailers) const;
  void reset(uint32_t error_code) const;
  int32_t stream() const { return stream_; }

 private:
  std::weak_ptr<H2Connection> conn_;
  int32_t stream_ = 0;
};

// One request stream's handler: body bytes as they arrive, then the end (or a reset/close).
// Called on the connection's io_context.
class H2StreamHandler {
 public:
  virtual ~H2StreamHandler() = default;
  virtual void onData(std::string_view data, bool end_stream) = 0;
  // The stream is gone (answered, reset by the peer, refused by a limit, or the connection
  // closed): the responder is dead from now on. error_code 0 = completed normally.
  virtual void onClose(uint32_t error_code) = 0;
};

// Creates the handler of a new request stream (on the io_context). nullptr → the stream is
// reset with REFUSED_STREAM.
using H2StreamFactory = std::function<std::unique_ptr<H2StreamHandler>(
    std::vector<h2::Header> headers, H2Responder responder)>;

struct H2ServerOptions {
  h2::ServerLimits limits;
  bool reuse_port = false;
  // A connection whose queued output has made no progress for this long (a peer that stopped
  // reading, or never opens its window) is closed.
  Duration write_stall_timeout = std::chrono::seconds(60);
};

class H2Server {
 public:
  H2Server(boost::asio::io_context& io, H2StreamFactory factory, H2ServerOptions options = {});
  ~H2Server();
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  // Binds "host:port" (port 0 = any) and accepts.
  Status listen(const std::string& address);
  uint16_t port() const;
  // Stops accepting; every connection starts its graceful shutdown and closes once its streams
  // are done. Thread-safe.
  void stop();
  // Closes every connection at once. Thread-safe.
  void closeAll();
  size_t connectionCount() const;
  size_t activeStreams() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace surge::net
