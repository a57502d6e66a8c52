// Fuzzes the Prometheus HTTP API answer parser (/api/v1/query bodies a KEDA trigger reads),
// with the status codes Prometheus answers.
#include <cstdint>
#include <string_view>

#include "autoscale/sources/prometheus_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr int kStatus[] = {200, 400, 422, 503, 502};
  int status = kStatus[data[0] % 5];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)surge::autoscale::parsePrometheusResponse(body, status);
  return 0;
}
