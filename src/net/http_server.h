// HttpServer: a buffered HTTP/1.1 server for control-plane handlers (admin API, demo upstream,
// model server). Reads a whole request (head + body, within limits), calls the handler, writes the
// response; keep-alive and pipelining (answers in order), Expect: 100-continue, idle and header
// timeouts (408), JSON 4xx errors for malformed input (400/413/431/505) followed by a lingering
// close. The proxy data path does not use this class: it streams (gateway/proxy.h).
// Handlers: a synchronous Handler (http_message.h) returns the response; an AsyncHandler gets a
// Responder to answer later (timers, batching) or to stream a chunked response (SSE).
// Threading: everything runs on the io_context passed in (run it from one thread, or several:
// each connection's handlers are serialized only when run by one thread). Responder methods may be
// called from any thread (they are dispatched to the io_context).
// Lifetime: stop() or destroy the server before the io_context; connections still open then are
// closed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "net/http_message.h"
#include "net/http_parser.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace surge::net {

struct HttpServerOptions {
  ParseLimits limits;                                  // 64 KiB heads, 64 MiB bodies
  Duration idle_timeout = std::chrono::seconds(60);    // between requests
  Duration header_timeout = std::chrono::seconds(10);  // from the first byte of a head to its end
  bool reuse_port = false;                             // SO_REUSEPORT on the listener
};

// Answers one request, once. send() completes it; or startStream() + writeChunk()* + endStream().
class Responder {
 public:
  virtual ~Responder() = default;
  // Sends a complete response (Content-Length added).
  virtual void send(HttpResponse response) = 0;
  // Starts a chunked response (Transfer-Encoding: chunked); each writeChunk is flushed at once.
  virtual void startStream(int status, Headers headers) = 0;
  virtual void writeChunk(std::string data) = 0;
  virtual void endStream() = 0;
  // True once the client has gone away (later writes are dropped).
  virtual bool closed() const = 0;
  // Runs fn on the server's io_context after `delay` (pacing without blocking the loop). fn is
  // dropped if the server stops first.
  virtual void after(Duration delay, std::function<void()> fn) = 0;
};

using AsyncHandler =
    std::function<void(const HttpRequest& request, std::shared_ptr<Responder> responder)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Handler handler, HttpServerOptions options = {});
  HttpServer(boost::asio::io_context& io, AsyncHandler handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "host:port" (port 0 = any) and starts accepting. Call before or while the io_context
  // runs (from its thread, or before it runs).
  Status listen(const std::string& address);
  // The bound port (after listen).
  uint16_t port() const;
  // Stops accepting; idle connections close at once, busy ones after their response. Thread-safe.
  void stop();
  // Open connections (approximate when read from another thread).
  size_t connectionCount() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace surge::net
