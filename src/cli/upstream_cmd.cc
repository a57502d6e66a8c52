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
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"
#include "net/asio.h"
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

const CommandSpec& spec() {
  static const CommandSpec spec{
      .path = "upstream",
      .synopsis = {"[--listen HOST:PORT] [--name NAME] [--unhealthy]"},
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
