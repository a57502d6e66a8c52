// `surge upstream`: a small demo/test HTTP upstream, the local replica of `make up` and the
// integration tests. Single-threaded on one io_context (net::HttpServer with an async handler):
//   GET  /v2/health/ready      200 {"status":"ready"} (503 after POST /admin/fail or --unhealthy)
//   POST /admin/fail|recover   flips readiness
//   GET  /delay/{ms}           answers after ms milliseconds without blocking other requests
//   GET  /status/{code}        answers with that status
//   GET  /sse?n=5&interval_ms=100   text/event-stream, one chunk per event, flushed each
//   GET  /hang                 never answers
//   POST (any other path)      {"upstream":N,"bytes":<body length>}
//   anything else              {"upstream":N}
// With --protocol h2 the listener speaks HTTP/2 with prior knowledge (h2c) instead, the upstream
// of the gateway's HTTP/2 tests and benchmarks (net::H2Server):
//   gRPC calls (content-type application/grpc…): the request's messages echoed back, response
//     header x-upstream: NAME, trailers grpc-status 0; request header x-delay-ms: N answers after
//     N ms; x-grpc-status: C answers a Trailers-Only status C instead (--unhealthy: 14
//     UNAVAILABLE to every call); path /hang never answers; /grpc.health.v1.Health/Check answers
//     SERVING (NOT_SERVING with --unhealthy)
//   anything else              {"upstream":N,"bytes":<body length>} (JSON, x-upstream: NAME)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"
#include "net/asio.h"
#include "net/h2/grpc_framing.h"
#include "net/h2/h2_server.h"
#include "net/http_server.h"
#include "net/http_util.h"

namespace surge::cli {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::Responder;

struct UpstreamState {
  std::string name = "upstream";
  bool healthy = true;
};

bool parseInt(std::string_view s, long* out) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::string nameBody(const UpstreamState& st) {
  return "{\"upstream\":\"" + net::jsonEscape(st.name) + "\"}";
}

void streamEvents(std::shared_ptr<Responder> r, long left, long sent, Duration interval) {
  if (r->closed()) return;
  r->writeChunk("id: " + std::to_string(sent) + "\ndata: {\"event\":" + std::to_string(sent) +
                "}\n\n");
  if (left <= 1) {
    r->endStream();
    return;
  }
  r->after(interval, [r, left, sent, interval] { streamEvents(r, left - 1, sent + 1, interval); });
}

void handle(UpstreamState& st, const HttpRequest& req, std::shared_ptr<Responder> r) {
  const std::string& p = req.path;
  if (p == "/v2/health/ready" || p == "/healthz") {
    r->send(st.healthy ? HttpResponse::json(200, "{\"status\":\"ready\"}")
                       : HttpResponse::jsonError(503, "not ready"));
    return;
  }
  if (req.method == "POST" && p == "/admin/fail") {
    st.healthy = false;
    r->send(HttpResponse::json(200, "{\"healthy\":false}"));
    return;
  }
  if (req.method == "POST" && p == "/admin/recover") {
    st.healthy = true;
    r->send(HttpResponse::json(200, "{\"healthy\":true}"));
    return;
  }
  if (p.rfind("/delay/", 0) == 0) {
    long ms;
    if (!parseInt(std::string_view(p).substr(7), &ms)) {
      r->send(HttpResponse::jsonError(400, "bad delay"));
      return;
    }
    std::string body = nameBody(st);
    r->after(std::chrono::milliseconds(ms),
             [r, body = std::move(body)] { r->send(HttpResponse::json(200, body)); });
    return;
  }
  if (p.rfind("/status/", 0) == 0) {
    long code;
    if (!parseInt(std::string_view(p).substr(8), &code) || code < 200 || code > 599) {
      r->send(HttpResponse::jsonError(400, "bad status"));
      return;
    }
    r->send(HttpResponse::json(static_cast<int>(code), nameBody(st)));
    return;
  }
  if (p == "/sse") {
    long n = 5, interval_ms = 100;
    if (auto v = req.queryParam("n")) parseInt(*v, &n);
    if (auto v = req.queryParam("interval_ms")) parseInt(*v, &interval_ms);
    r->startStream(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}});
    if (n <= 0) {
      r->endStream();
      return;
    }
    streamEvents(r, n, 0, std::chrono::milliseconds(interval_ms));
    return;
  }
  if (p == "/hang") return;  // the responder is dropped; the connection stays open
  if (req.method == "POST" || req.method == "PUT") {
    r->send(HttpResponse::json(200, "{\"upstream\":\"" + net::jsonEscape(st.name) +
                                        "\",\"bytes\":" + std::to_string(req.body.size()) + "}"));
    return;
  }
  r->send(HttpResponse::json(200, nameBody(st)));
}

// One HTTP/2 stream of the h2 mode.
class H2Handler final : public net::H2StreamHandler {
 public:
  H2Handler(net::asio::io_context& io, const UpstreamState& st, std::vector<h2::Header> headers,
            net::H2Responder r)
      : io_(io), st_(st), headers_(std::move(headers)), r_(std::move(r)) {}

  void onData(std::string_view data, bool end_stream) override {
    if (body_.size() + data.size() <= (4u << 20)) body_.append(data);
    if (end_stream) answer();
  }
  void onClose(uint32_t) override {
    if (timer_) timer_->cancel();
  }

 private:
  void answer() {
    const std::string* path = h2::findHeader(headers_, ":path");
    if (path != nullptr && *path == "/hang") return;
    long delay_ms = 0;
    if (const std::string* d = h2::findHeader(headers_, "x-delay-ms")) parseInt(*d, &delay_ms);
    if (delay_ms <= 0) {
      send();
      return;
    }
    timer_ = std::make_shared<net::asio::steady_timer>(io_);
    timer_->expires_after(std::chrono::milliseconds(delay_ms));
    auto r = r_;
    auto resp = build();
    timer_->async_wait([r, resp](boost::system::error_code ec) {
      if (ec) return;
      r.respond(resp.headers, resp.body, resp.trailers);
    });
  }
  struct Answer {
    std::vector<h2::Header> headers;
    std::string body;
    std::vector<h2::Header> trailers;
  };
  Answer build() const {
    Answer a;
    const std::string* path = h2::findHeader(headers_, ":path");
    if (h2::isGrpcRequest(headers_) && path != nullptr && *path == "/grpc.health.v1.Health/Check") {
      // grpc.health.v1: HealthCheckResponse{status: SERVING (1) or NOT_SERVING (2)}.
      a.headers = h2::grpcResponseHeaders();
      a.headers.push_back({"x-upstream", st_.name});
      a.body = h2::grpcFrame(st_.healthy ? std::string("\x08\x01", 2) : std::string("\x08\x02", 2));
      a.trailers = h2::grpcTrailers(h2::GrpcCode::kOk);
      return a;
    }
    if (h2::isGrpcRequest(headers_)) {
      long code = st_.healthy ? 0 : static_cast<long>(h2::GrpcCode::kUnavailable);
      if (const std::string* c = h2::findHeader(headers_, "x-grpc-status")) parseInt(*c, &code);
      if (code != 0) {
        a.headers = h2::grpcTrailersOnly(static_cast<h2::GrpcCode>(code), "requested status");
        a.headers.push_back({"x-upstream", st_.name});
        return a;
      }
      a.headers = h2::grpcResponseHeaders();
      a.headers.push_back({"x-upstream", st_.name});
      a.body = body_;  // the request's length-prefixed messages, echoed
      a.trailers = h2::grpcTrailers(h2::GrpcCode::kOk);
      return a;
    }
    a.body = "{\"upstream\":\"" + net::jsonEscape(st_.name) +
             "\",\"bytes\":" + std::to_string(body_.size()) + "}";
    a.headers = {{":status", "200"},
                 {"content-type", "application/json"},
                 {"content-length", std::to_string(a.body.size())},
                 {"x-upstream", st_.name}};
    return a;
  }
  void send() {
    Answer a = build();
    r_.respond(std::move(a.headers), std::move(a.body), std::move(a.trailers));
  }

  net::asio::io_context& io_;
  const UpstreamState& st_;
  std::vector<h2::Header> headers_;
  net::H2Responder r_;
  std::string body_;
  std::shared_ptr<net::asio::steady_timer> timer_;
};

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "upstream",
      .synopsis = {"[--listen HOST:PORT] [--name NAME] [--unhealthy] [--protocol http1|h2]"},
      .description = "A demo/test HTTP upstream. Prints 'listening on HOST:PORT' when ready.\n",
      .flags =
          {
              {.name = "--listen",
               .value_name = "HOST:PORT",
               .help = "address to listen on (port 0 = any)",
               .default_value = "127.0.0.1:8001"},
              {.name = "--name",
               .value_name = "NAME",
               .help = "name in every answer",
               .default_value = "upstream"},
              {.name = "--protocol",
               .value_name = "PROTO",
               .help = "http1, or h2: HTTP/2 with prior knowledge (gRPC echo; see the source)",
               .default_value = "http1",
               .choices = {"http1", "h2"}},
              {.name = "--unhealthy",
               .help = "start with /v2/health/ready answering 503",
               .type = FlagType::kBool},
              {.name = "--log-level",
               .value_name = "LEVEL",
               .help = "log threshold",
               .default_value = "info",
               .choices = {"debug", "info", "warn", "error"}},
              logFormatFlag(),
          },
  };
  return spec;
}

}  // namespace

int runUpstream(const std::vector<std::string>& argv) {
  int exit_code = 0;
  auto args = parseOrExit(spec(), argv, &exit_code);
  if (!args) return exit_code;
  if (args->has("--log-level")) setLogLevelByName(args->str("--log-level"));
  const std::string listen = args->str("--listen");
  if (Status s = checkHostPort("--listen", listen, true); !s.isOk()) {
    return usageError(spec(), s.message());
  }
  UpstreamState st;
  st.name = args->str("--name");
  st.healthy = !args->boolean("--unhealthy");

  net::asio::io_context io(1);
  if (args->str("--protocol") == "h2") {
    net::H2Server h2(io, [&io, &st](std::vector<h2::Header> headers, net::H2Responder r) {
      return std::make_unique<H2Handler>(io, st, std::move(headers), std::move(r));
    });
    if (Status hs = h2.listen(listen); !hs.isOk()) {
      std::fprintf(stderr, "surge upstream: %s\n", hs.toString().c_str());
      return 1;
    }
    net::asio::signal_set sigs(io, SIGINT, SIGTERM);
    sigs.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      h2.stop();
      h2.closeAll();
      io.stop();
    });
    std::string host = listen.substr(0, listen.rfind(':'));
    std::printf("listening on %s:%u (h2c)\n", host.c_str(), h2.port());
    std::fflush(stdout);
    io.run();
    return 0;
  }
  net::HttpServer server(io, [&st](const HttpRequest& req, std::shared_ptr<Responder> r) {
    handle(st, req, std::move(r));
  });
  Status s = server.listen(listen);
  if (!s.isOk()) {
    std::fprintf(stderr, "surge upstream: %s\n", s.toString().c_str());
    return 1;
  }
  net::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) io.stop();
  });
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%u\n", host.c_str(), server.port());
  std::fflush(stdout);
  io.run();
  return 0;
}

}  // namespace surge::cli
