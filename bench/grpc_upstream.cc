// grpc_upstream: the gRPC upstream of the proxy benchmarks (bench/grpc_proxy_bench.sh). An h2c
// server on surge's own HTTP/2 server (net/H2Server, one thread, one io_context) that answers
// every unary call on any path with one fixed small message: :status 200, content-type
// application/grpc, the message, trailers grpc-status 0. The request's messages are read
// (framing checked) and dropped, so the proxy under test carries a real gRPC exchange while the
// upstream costs as little as possible: four of them share the load generator's CPU.
//
//   grpc_upstream --listen 127.0.0.1:PORT [--reply-bytes N] [--delay-us N]
//
// --reply-bytes: size of the reply message's payload (default 16). --delay-us: answer that long
// after the request ended (a timer, not a sleep; default 0 = at once). Prints "grpc_upstream
// listening on port N" once it accepts; SIGUSR1 prints "answered N" (calls answered with
// grpc-status 0 so far: the harness checks that what the client counted as successes reached an
// upstream, and how evenly the proxy spread them); SIGTERM/SIGINT stop it.
// A benchmark tool, not a product: no admin, no metrics, no limits beyond the H2 session's.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.h"
#include "net/h2/grpc_framing.h"
#include "net/h2/h2_server.h"

namespace {

using surge::h2::GrpcCode;

uint64_t g_answered = 0;  // calls answered OK (the io_context's one thread only)

struct Reply {
  std::vector<surge::h2::Header> headers = surge::h2::grpcResponseHeaders();
  std::string body;  // one length-prefixed message
  std::vector<surge::h2::Header> trailers = surge::h2::grpcTrailers(GrpcCode::kOk);
};

class Call final : public surge::net::H2StreamHandler {
 public:
  Call(const Reply& reply, surge::net::H2Responder r, surge::net::asio::io_context& io,
       long delay_us)
      : reply_(reply), r_(std::move(r)), io_(io), delay_us_(delay_us), reader_(1 << 20) {}

  void onData(std::string_view data, bool end) override {
    if (failed_) return;
    if (!data.empty()) {
      surge::Status s = reader_.feed(data);
      if (!s.isOk()) {
        failed_ = true;
        r_.respond(surge::h2::grpcTrailersOnly(reader_.errorCode(), s.message()), {});
        return;
      }
      while (reader_.next()) ++messages_;
    }
    if (!end) return;
    if (messages_ != 1 || reader_.partial()) {
      r_.respond(surge::h2::grpcTrailersOnly(GrpcCode::kInvalidArgument,
                                             "a unary call carries exactly one message"),
                 {});
      return;
    }
    ++g_answered;
    if (delay_us_ <= 0) {
      r_.respond(reply_.headers, reply_.body, reply_.trailers);
      return;
    }
    auto timer = std::make_shared<surge::net::asio::steady_timer>(
        io_, std::chrono::microseconds(delay_us_));
    timer->async_wait([timer, r = r_, &reply = reply_](const boost::system::error_code& ec) {
      if (!ec) r.respond(reply.headers, reply.body, reply.trailers);
    });
  }
  void onClose(uint32_t) override {}

 private:
  const Reply& reply_;
  surge::net::H2Responder r_;
  surge::net::asio::io_context& io_;
  long delay_us_;
  surge::h2::GrpcMessageReader reader_;
  int messages_ = 0;
  bool failed_ = false;
};

int usage(const char* why) {
  std::fprintf(stderr,
               "grpc_upstream: %s\nusage: grpc_upstream --listen HOST:PORT [--reply-bytes N] "
               "[--delay-us N]\n",
               why);
  return 2;
}

bool parseNumber(const char* s, long max, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  long reply_bytes = 16;
  long delay_us = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + std::string(a)).c_str());
    if (a == "--listen") {
      listen = argv[++i];
    } else if (a == "--reply-bytes") {
      if (!parseNumber(argv[++i], 1 << 20, &reply_bytes)) return usage("bad --reply-bytes");
    } else if (a == "--delay-us") {
      if (!parseNumber(argv[++i], 10'000'000, &delay_us)) return usage("bad --delay-us");
    } else {
      return usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (listen.empty()) return usage("--listen is required");

  Reply reply;
  // A protobuf-looking payload: field 1 (bytes) of reply_bytes - 2 'x' (any bytes do for a
  // proxy; this keeps it a valid message of a one-field schema for short replies).
  std::string payload;
  if (reply_bytes >= 2 && reply_bytes - 2 < 128) {
    payload.push_back(0x0a);
    payload.push_back(static_cast<char>(reply_bytes - 2));
    payload.append(static_cast<size_t>(reply_bytes - 2), 'x');
  } else {
    payload.assign(static_cast<size_t>(reply_bytes), 'x');
  }
  reply.body = surge::h2::grpcFrame(payload);

  surge::net::asio::io_context io{1};
  surge::net::H2ServerOptions options;
  options.limits.max_concurrent_streams = 1024;
  surge::net::H2Server server(
      io,
      [&](std::vector<surge::h2::Header>, surge::net::H2Responder r)
          -> std::unique_ptr<surge::net::H2StreamHandler> {
        return std::make_unique<Call>(reply, std::move(r), io, delay_us);
      },
      options);
  surge::Status s = server.listen(listen);
  if (!s.isOk()) {
    std::fprintf(stderr, "grpc_upstream: listen %s: %s\n", listen.c_str(), s.message().c_str());
    return 1;
  }
  surge::net::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    server.closeAll();
    io.stop();
  });
  surge::net::asio::signal_set usr1(io, SIGUSR1);
  std::function<void()> arm = [&] {
    usr1.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::printf("answered %llu\n", static_cast<unsigned long long>(g_answered));
      std::fflush(stdout);
      arm();
    });
  };
  arm();
  std::printf("grpc_upstream listening on port %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  io.run();
  return 0;
}
