// Fuzzes h2::ClientSession (libnghttp2 behind the upstream limits of net/h2/client_session.h) with
// the input as everything the server sends. Byte 0 picks the mode (bit 0: small limits, so the
// limit paths are reached; bit 1: consume response bytes as they arrive, else every other piece;
// bit 2: shutdown() midway; bit 3: a PING; bit 4: reset the first stream midway; bit 5: stream ids
// start 6 short of the last, so they run out), bytes 1..4 cut the wire into pieces; the rest is
// the server's bytes (an empty SETTINGS frame is prepended unless they start with a SETTINGS
// frame, so frames are parsed rather than the preface refused). Three requests are submitted
// before the first byte arrives (ids 1, 3, 5 unless bit 5: a GET, a POST whose body streams a
// piece at a time, a POST with a whole body), more while canOpenStream(); the client's output is
// taken after every piece so the sending paths run too. At the end connectionClosed().
// Properties: no crash or sanitizer report; exactly one on_close per submitted stream, nothing
// after it, no callback for a stream never submitted; open streams <= max_concurrent_streams;
// pending output <= max_pending_output; the bytes a stream delivered and the harness did not
// consume stay within its receive window (manual flow control holds).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "net/h2/client_session.h"

namespace {

using namespace surge::h2;

[[noreturn]] void fail(const char* what, const char* detail = "") {
  std::fprintf(stderr, "fuzz property violated: %s: %s\n", what, detail);
  std::abort();
}

struct Tracked {
  bool closed = false;
  bool body_open = false;  // the harness still streams its request body
  size_t delivered = 0;    // response DATA bytes seen
  size_t consumed = 0;     // handed back with consume()
};

std::vector<Header> request(const char* method, const char* path) {
  return {{":method", method}, {":scheme", "http"}, {":authority", "fuzz"}, {":path", path}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const uint8_t mode = data[0];
  ClientLimits limits;
  if (mode & 1) {
    limits.max_concurrent_streams = 3;
    limits.initial_window_size = 1024;
    limits.max_header_list_bytes = 256;
    limits.max_header_fields = 8;
    limits.max_continuations = 2;
    limits.max_pending_output = 256;
  }
  const bool consume_at_once = (mode & 2) != 0;
  // Before the server ACKs our SETTINGS, nghttp2 holds a stream to the default window.
  const size_t stream_window = std::max<size_t>(limits.initial_window_size, 65535);

  std::map<int32_t, Tracked> streams;
  ClientSession* session = nullptr;
  auto live = [&](int32_t id, const char* what) -> Tracked& {
    auto it = streams.find(id);
    if (it == streams.end()) fail(what, "callback for a stream never submitted");
    if (it->second.closed) fail(what, "callback after on_close");
    return it->second;
  };
  ClientSession::Callbacks cb;
  cb.on_headers = [&](int32_t id, std::vector<Header> headers, bool) {
    live(id, "on_headers");
    if (headers.empty()) fail("on_headers", "no :status");
  };
  cb.on_data = [&](int32_t id, std::string_view d, bool) {
    Tracked& t = live(id, "on_data");
    t.delivered += d.size();
    if (t.delivered - t.consumed > stream_window) fail("on_data", "past the stream window");
    if (consume_at_once) {
      session->consume(id, d.size());
      t.consumed += d.size();
    }
  };
  cb.on_trailers = [&](int32_t id, std::vector<Header>) { live(id, "on_trailers"); };
  cb.on_close = [&](int32_t id, uint32_t, bool) { live(id, "on_close").closed = true; };
  cb.on_goaway = [](int32_t, uint32_t) {};
  ClientSession client(limits, std::move(cb));
  session = &client;
  if (!client.start().isOk()) fail("start");
  if (mode & 8) client.ping();
  const int32_t first = (mode & 32) ? INT32_MAX - 6 : 1;
  if (first != 1 && !client.setNextStreamId(first).isOk()) fail("setNextStreamId");

  auto submit = [&](const char* method, const char* path, bool end) -> int32_t {
    auto id = client.submitRequest(request(method, path), end);
    if (!id.isOk()) return 0;
    if (streams.count(*id) != 0) fail("submitRequest", "stream id reused");
    streams[*id].body_open = !end;
    return *id;
  };
  submit("GET", "/a", true);
  submit("POST", "/b", false);
  if (int32_t id = submit("POST", "/c", false); id != 0) {
    (void)client.sendData(id, std::string(300, 'c'), true);
    streams[id].body_open = false;
  }
  std::string out;
  client.send(&out);

  std::string wire(reinterpret_cast<const char*>(data + 5), size - 5);
  const bool starts_with_settings = wire.size() >= 9 && wire[3] == '\x04' && wire[5] == 0 &&
                                    wire[6] == 0 && wire[7] == 0 && wire[8] == 0;
  if (!starts_with_settings) wire.insert(0, std::string("\0\0\0\x04\0\0\0\0\0", 9));
  size_t pos = 0;
  int cut = 1;
  int piece = 0;
  while (pos < wire.size() && client.alive()) {
    const size_t n = 1 + data[cut] % 97;
    cut = cut % 4 + 1;
    const bool ok = client.receive(std::string_view(wire).substr(pos, n)).isOk();
    pos += n;
    ++piece;
    for (auto& [id, t] : streams) {
      if (t.closed) continue;
      if (!consume_at_once && piece % 2 == 0 && t.delivered > t.consumed) {
        client.consume(id, t.delivered - t.consumed);
        t.consumed = t.delivered;
      }
      if (t.body_open) {
        const bool last = piece % 5 == 0;
        surge::Status s = client.sendData(id, std::string(40, 'b'), last);
        if (s.isOk() && last) t.body_open = false;
      }
    }
    if (piece == 3 && (mode & 16)) client.resetStream(first, kCancel);
    if (piece == 7 && (mode & 4)) client.shutdown();
    if (ok && streams.size() < 24 && client.canOpenStream()) submit("GET", "/more", true);
    if (client.openStreams() > limits.max_concurrent_streams) fail("openStreams");
    if (client.pendingOutputBytes() > limits.max_pending_output) fail("pendingOutputBytes");
    out.clear();
    client.send(&out);
    if (!ok) break;
  }
  client.connectionClosed();
  for (const auto& [id, t] : streams) {
    if (!t.closed) fail("connectionClosed", "a stream got no on_close");
  }
  if (client.openStreams() != 0 || client.alive()) fail("connectionClosed", "session still open");
  return 0;
}
