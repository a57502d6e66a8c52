// HeadParser and BodyDecoder on the proxy's hot path: a small GET head, an inference POST head
// with the usual dozen fields, a response head, the same head fed in two pieces, and body
// decoding (Content-Length, chunked). Bytes/s are per input byte.
// Run: build/src/net/http_parser_benchmark   (numbers in docs/design/http-edge-rules.md)
#include <benchmark/benchmark.h>

#include <string>

#include "net/http_parser.h"

namespace surge::net {
namespace {

const std::string kSmallGet =
    "GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n\r\n";

const std::string kInferPost =
    "POST /v2/models/resnet50/versions/1/infer HTTP/1.1\r\n"
    "Host: gateway.internal.example.com:8080\r\n"
    "User-Agent: python-requests/2.31.0\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Accept: application/json\r\n"
    "Connection: keep-alive\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 1532\r\n"
    "X-Session-Id: user-1234567890\r\n"
    "X-Request-Id: 4f9a1c2e7b3d4e5f8a9b0c1d2e3f4a5b\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0\r\n"
    "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 412\r\n"
    "Date: Sun, 06 Dec 2026 22:00:00 GMT\r\nServer: surge\r\nX-Request-Id: "
    "4f9a1c2e7b3d4e5f8a9b0c1d2e3f4a5b\r\n\r\n";

void runHead(benchmark::State& state, const std::string& msg, HeadParser::Kind kind) {
  HeadParser p(kind);
  for (auto _ : state) {
    p.reset();
    auto st = p.parse(msg.data(), msg.size());
    benchmark::DoNotOptimize(st);
    if (st != HeadParser::Status::kDone) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_RequestHeadSmallGet(benchmark::State& state) {
  runHead(state, kSmallGet, HeadParser::Kind::kRequest);
}
BENCHMARK(BM_RequestHeadSmallGet);

void BM_RequestHeadInferPost(benchmark::State& state) {
  runHead(state, kInferPost, HeadParser::Kind::kRequest);
}
BENCHMARK(BM_RequestHeadInferPost);

void BM_ResponseHead(benchmark::State& state) {
  runHead(state, kResponse, HeadParser::Kind::kResponse);
}
BENCHMARK(BM_ResponseHead);

// The head arrives in two reads: the first parse() stops at the split, the second resumes.
void BM_RequestHeadTwoReads(benchmark::State& state) {
  HeadParser p(HeadParser::Kind::kRequest);
  const std::string& msg = kInferPost;
  const size_t split = msg.size() / 2;
  for (auto _ : state) {
    p.reset();
    auto st = p.parse(msg.data(), split);
    benchmark::DoNotOptimize(st);
    st = p.parse(msg.data(), msg.size());
    benchmark::DoNotOptimize(st);
    if (st != HeadParser::Status::kDone) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RequestHeadTwoReads);

void BM_BodyContentLength(benchmark::State& state) {
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  BodyDecoder d;
  for (auto _ : state) {
    d.reset(BodyFraming::kContentLength, body.size());
    size_t n = d.consumeAll(body);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_BodyContentLength)->Arg(1532)->Arg(65536);

// A chunked body of chunks of range(0) bytes, 64 KiB of payload in all.
std::string chunkedBody(size_t chunk) {
  std::string s;
  char hex[32];
  for (size_t total = 0; total < 65536; total += chunk) {
    int n = std::snprintf(hex, sizeof hex, "%zx\r\n", chunk);
    s.append(hex, static_cast<size_t>(n));
    s.append(chunk, 'x');
    s.append("\r\n");
  }
  s.append("0\r\n\r\n");
  return s;
}

void BM_BodyChunkedDecode(benchmark::State& state) {
  const std::string body = chunkedBody(static_cast<size_t>(state.range(0)));
  BodyDecoder d;
  for (auto _ : state) {
    d.reset(BodyFraming::kChunked, 0);
    size_t n = d.consumeAll(body);
    benchmark::DoNotOptimize(n);
    if (!d.done()) state.SkipWithError("chunked decode failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_BodyChunkedDecode)->Arg(16)->Arg(1024)->Arg(16384);

// What the gateway does with a chunked request body: decode and re-emit canonical chunks into a
// reused buffer (no allocation once the buffer has grown).
void BM_BodyChunkedReframe(benchmark::State& state) {
  const std::string body = chunkedBody(static_cast<size_t>(state.range(0)));
  BodyDecoder d;
  std::string out;
  out.reserve(body.size() * 2);
  for (auto _ : state) {
    out.clear();
    d.reset(BodyFraming::kChunked, 0);
    size_t n = d.reframe(body, &out);
    benchmark::DoNotOptimize(n);
    if (!d.done()) state.SkipWithError("chunked reframe failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_BodyChunkedReframe)->Arg(16)->Arg(1024)->Arg(16384);

}  // namespace
}  // namespace surge::net
