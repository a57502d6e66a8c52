// Fuzzes gRPC's non-protobuf wire parts (net/h2/grpc_framing.h): the length-prefixed message
// reader (byte 0: the message size limit; bytes 1..4 cut the input into feeds), grpc-timeout and
// grpc-message percent-decoding. Properties: no message exceeds the limit; a clean stream of
// messages re-framed is byte-identical; encode(decode(x)) decodes back to decode(x).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/h2/grpc_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge::h2;
  if (size < 5) return 0;
  const size_t limit = static_cast<size_t>(data[0]) * 16;
  std::string_view in(reinterpret_cast<const char*>(data + 5), size - 5);
  GrpcMessageReader reader(limit);
  std::string reframed;
  size_t pos = 0;
  int cut = 1;
  bool failed = false;
  while (pos < in.size()) {
    size_t n = 1 + data[cut] % 64;
    cut = cut % 4 + 1;
    if (!reader.feed(in.substr(pos, n)).isOk()) {
      failed = true;
      break;
    }
    pos += n;
    while (auto m = reader.next()) {
      if (m->size() > limit) std::abort();
      appendGrpcFrame(&reframed, *m);
    }
  }
  if (!failed && !reader.partial() && reframed != in) std::abort();
  (void)parseGrpcTimeout(in.substr(0, 12));
  // An upstream's grpc-status value (the gateway and the health prober read it).
  (void)grpcStatusOf({{"grpc-status", std::string(in.substr(0, 12))}});
  std::string decoded = grpcPercentDecode(in);
  if (grpcPercentDecode(grpcPercentEncode(decoded)) != decoded) std::abort();
  return 0;
}
