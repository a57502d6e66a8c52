// The gateway's per-request policies on the hot path: writing the upstream request head (client
// id passed through, or generated), writing the client response head, and extracting the
// consistent-hash key from a header, a cookie or the query. Each runs on a head parsed once, into
// a reused string, as in the proxy's session. Items/s are heads per second.
// Run: build/src/gateway/gateway_benchmark   (numbers in docs/design/gateway.md, "Policies")
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "common/random.h"
#include "gateway/hash_key.h"
#include "gateway/head_rewrite.h"
#include "net/http_parser.h"

namespace surge::gateway {
namespace {

using net::HeadParser;

// The inference request of net/http_parser_benchmark.cc (a dozen fields, with an X-Request-Id).
const std::string kInferPost =
    "POST /v2/models/resnet50/versions/1/infer?session=user-1234567890 HTTP/1.1\r\n"
    "Host: gateway.internal.example.com:8080\r\n"
    "User-Agent: python-requests/2.31.0\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Accept: application/json\r\n"
    "Connection: keep-alive\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 1532\r\n"
    "Cookie: theme=dark; lang=en; sid=user-1234567890\r\n"
    "X-Session-Id: user-1234567890\r\n"
    "X-Request-Id: 4f9a1c2e7b3d4e5f8a9b0c1d2e3f4a5b\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0\r\n"
    "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "\r\n";

// The proxy benchmark's request: a small GET without an id (the gateway generates one).
const std::string kSmallGet =
    "GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench\r\n"
    "Accept: */*\r\n\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 412\r\n"
    "Date: Sun, 06 Dec 2026 22:00:00 GMT\r\nServer: surge\r\nConnection: keep-alive\r\n"
    "X-Request-Id: 4f9a1c2e7b3d4e5f8a9b0c1d2e3f4a5b\r\n\r\n";

std::unique_ptr<HeadParser> parsed(const std::string& head, HeadParser::Kind kind) {
  auto p = std::make_unique<HeadParser>(kind, net::ParseLimits{.require_host = true});
  if (p->parse(head.data(), head.size()) != HeadParser::Status::kDone) std::abort();
  return p;
}

void runUpstreamHead(benchmark::State& state, const std::string& head) {
  auto p = parsed(head, HeadParser::Kind::kRequest);
  Random random(1);
  std::string out;
  out.reserve(2048);
  for (auto _ : state) {
    writeUpstreamHead(*p, "192.0.2.10", random, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_UpstreamHeadInferPost(benchmark::State& state) { runUpstreamHead(state, kInferPost); }
BENCHMARK(BM_UpstreamHeadInferPost);

void BM_UpstreamHeadSmallGetNewId(benchmark::State& state) { runUpstreamHead(state, kSmallGet); }
BENCHMARK(BM_UpstreamHeadSmallGetNewId);

void BM_ClientResponseHead(benchmark::State& state) {
  auto p = parsed(kResponse, HeadParser::Kind::kResponse);
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    ClientResponseHead h = writeClientResponseHead(*p, 1, true, out);
    benchmark::DoNotOptimize(h);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ClientResponseHead);

void runHashKey(benchmark::State& state, HashKeySource source) {
  auto p = parsed(kInferPost, HeadParser::Kind::kRequest);
  for (auto _ : state) {
    auto k = hashKey(source, *p);
    benchmark::DoNotOptimize(k);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_HashKeyHeader(benchmark::State& state) {
  runHashKey(state, {HashKeySource::Kind::kHeader, "X-Session-Id"});
}
BENCHMARK(BM_HashKeyHeader);

void BM_HashKeyCookie(benchmark::State& state) {
  runHashKey(state, {HashKeySource::Kind::kCookie, "sid"});
}
BENCHMARK(BM_HashKeyCookie);

void BM_HashKeyQuery(benchmark::State& state) {
  runHashKey(state, {HashKeySource::Kind::kQuery, "session"});
}
BENCHMARK(BM_HashKeyQuery);

}  // namespace
}  // namespace surge::gateway
