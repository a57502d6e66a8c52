// Fuzzes h2::ServerSession (libnghttp2 behind the edge limits of net/h2/server_session.h): byte 0
// picks small limits (so the limit paths are reached: few streams, short header lists and
// bodies, few abuses), bytes 1..4 cut the wire into pieces; the rest follows the client preface
// (prepended unless the input starts with it, so frames are parsed rather than the preface
// refused). Every request gets a response (alternately whole, streamed with trailers, or reset)
// so the output paths run too. Properties: no crash or sanitizer report; the session stays within
// its limits (open streams ≤ max_concurrent_streams, pending output ≤ max_pending_output).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/h2/grpc_framing.h"
#include "net/h2/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge::h2;
  if (size < 5) return 0;
  const uint8_t mode = data[0];
  ServerLimits limits;
  if (mode & 1) {
    limits.max_concurrent_streams = 3;
    limits.max_header_list_bytes = 256;
    limits.max_header_fields = 8;
    limits.max_request_body = 64;
    limits.max_buffered_body = 128;
    limits.max_pending_output = 256;
    limits.max_abuses = 2;
    limits.reset_burst = 4;
    limits.reset_rate_per_s = 1;
    limits.max_continuations = 2;
  }
  std::vector<int32_t> ready;
  ServerSession::Callbacks cb;
  cb.on_request = [&](int32_t id, std::vector<Header> headers, bool end) {
    if (headers.empty()) std::abort();
    if (end) ready.push_back(id);
  };
  cb.on_data = [&](int32_t id, std::string_view, bool end) {
    if (end) ready.push_back(id);
  };
  cb.on_close = [](int32_t, uint32_t) {};
  ServerSession session(limits, std::move(cb));
  std::string wire(reinterpret_cast<const char*>(data + 5), size - 5);
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (wire.compare(0, preface.size(), preface) != 0) wire = preface + wire;
  size_t pos = 0;
  int cut = 1;
  std::string out;
  while (pos < wire.size() && session.alive()) {
    size_t n = 1 + data[cut] % 97;
    cut = cut % 4 + 1;
    if (!session.receive(std::string_view(wire).substr(pos, n)).isOk()) break;
    pos += n;
    for (size_t i = 0; i < ready.size(); ++i) {
      const int32_t id = ready[i];
      switch ((static_cast<uint32_t>(id) + mode) % 3) {
        case 0:
          (void)session.respond(id, grpcResponseHeaders(), grpcFrame("ok"),
                                grpcTrailers(GrpcCode::kOk));
          break;
        case 1:
          (void)session.sendHeaders(id, grpcResponseHeaders());
          (void)session.sendData(id, grpcFrame(std::string(300, 'x')), false);
          (void)session.sendTrailers(id, grpcTrailers(GrpcCode::kInternal, "fuzz\n"));
          break;
        default:
          session.resetStream(id, kCancel);
      }
    }
    ready.clear();
    out.clear();
    session.send(&out);
    if (session.openStreams() > limits.max_concurrent_streams + 1) std::abort();
    if (session.pendingOutputBytes() > limits.max_pending_output) std::abort();
  }
  if (mode & 2) session.shutdown();
  out.clear();
  session.send(&out);
  return 0;
}
