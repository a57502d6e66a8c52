// The access log's cost on a worker per request: formatting one entry (text, JSON) into the
// reused line buffer, and formatting + pushing it into the worker's ring (drained by a consumer
// as the writer thread would, outside the timed loop's critical path). Items/s are entries.
// Run: build/src/gateway/access_log_benchmark   (numbers in docs/benchmarks.md, "Access log")
#include <benchmark/benchmark.h>

#include <string>

#include "gateway/access_log.h"

namespace surge::gateway {
namespace {

AccessLogEntry typical() {
  AccessLogEntry e;
  e.start_unix_ms = 1796632175123;
  e.client = "10.12.34.56";
  e.method = "POST";
  e.path = "/v2/models/resnet50/versions/1/infer?session=user-1234567890";
  e.status = 200;
  e.upstream = "10.0.3.17:8000";
  e.request_bytes = 1843;
  e.response_bytes = 912;
  e.duration_us = 12345;
  e.upstream_us = 11873;
  e.request_id = "5b1e0c7f3a9d4e2b8c6f1a0d9e8b7c6a";
  return e;
}

void BM_Format(benchmark::State& state, AccessLogFormat f) {
  AccessLogEntry e = typical();
  AccessLogClock clock;
  std::string line;
  line.reserve(1024);
  for (auto _ : state) {
    line.clear();
    e.start_unix_ms += 1;  // a new millisecond each time: the cached second is reused
    formatAccessLogLine(e, f, clock, line);
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes/line"] = static_cast<double>(line.size());
}
BENCHMARK_CAPTURE(BM_Format, text, AccessLogFormat::kText);
BENCHMARK_CAPTURE(BM_Format, json, AccessLogFormat::kJson);

void BM_FormatAndPush(benchmark::State& state) {
  AccessLogEntry e = typical();
  AccessLogClock clock;
  AccessLogRing ring(1 << 20);
  std::string line;
  line.reserve(1024);
  for (auto _ : state) {
    line.clear();
    formatAccessLogLine(e, AccessLogFormat::kJson, clock, line);
    if (!ring.push(line)) {  // full: drain, as the writer would (rare: once per ~3000 entries)
      std::string_view seg[2];
      ring.consume(ring.peek(seg));
      ring.push(line);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FormatAndPush);

}  // namespace
}  // namespace surge::gateway
