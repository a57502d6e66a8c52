// h2::ServerSession against a real HTTP/2 peer: libnghttp2's client session, in memory (bytes
// pumped between the two), plus hand-built frames for what no well-behaved client sends
// (CONTINUATION floods, a bad preface).
#include "net/h2/server_session.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/h2/grpc_framing.h"

namespace surge::h2 {
namespace {

struct ClientStream {
  std::vector<Header> headers;  // response headers, then trailers
  std::string body;
  bool closed = false;
  uint32_t close_error = 0;
};

// A libnghttp2 client session in memory.
class TestClient {
 public:
  TestClient() {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* u) {
          static_cast<TestClient*>(u)->streams[f->hd.stream_id].headers.push_back(
              Header{std::string(reinterpret_cast<const char*>(n), nl),
                     std::string(reinterpret_cast<const char*>(v), vl)});
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
          static_cast<TestClient*>(u)->streams[id].body.append(reinterpret_cast<const char*>(d),
                                                               len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t err, void* u) {
          auto& s = static_cast<TestClient*>(u)->streams[id];
          s.closed = true;
          s.close_error = err;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* c = static_cast<TestClient*>(u);
          if (f->hd.type == NGHTTP2_GOAWAY) {
            c->goaways.push_back({f->goaway.last_stream_id, f->goaway.error_code});
          }
          return 0;
        });
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // The client checks a bound of the *uncompressed* block: let it send what HPACK compresses.
    nghttp2_option_set_max_send_header_block_length(opt, 4u << 20);
    nghttp2_session_client_new2(&session, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~TestClient() { nghttp2_session_del(session); }

  int32_t request(std::vector<Header> headers, std::string body = {}, bool end = true) {
    auto nv = nvOf(headers);
    bodies_.push_back(std::make_unique<Body>(Body{std::move(body), 0, end}));
    nghttp2_data_provider p{};
    p.source.ptr = bodies_.back().get();
    p.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<Body*>(src->ptr);
      size_t n = std::min(len, b->data.size() - b->off);
      std::memcpy(buf, b->data.data() + b->off, n);
      b->off += n;
      if (b->off == b->data.size()) {
        if (!b->end) return n == 0 ? ssize_t{NGHTTP2_ERR_DEFERRED} : static_cast<ssize_t>(n);
        *flags |= NGHTTP2_DATA_FLAG_EOF;
      }
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), &p, nullptr);
  }

  static std::vector<Header> post(const std::string& path, std::vector<Header> extra = {}) {
    std::vector<Header> h{{":method", "POST"},
                          {":scheme", "http"},
                          {":authority", "t"},
                          {":path", path},
                          {"content-type", "application/grpc"}};
    for (auto& e : extra) h.push_back(std::move(e));
    return h;
  }

  // Moves bytes both ways until neither side has anything to say. Returns false if the server
  // rejected input (its receive() failed).
  bool pump(ServerSession& server, std::string* raw_to_server = nullptr) {
    bool ok = true;
    for (int round = 0; round < 1000; ++round) {
      std::string c2s;
      if (raw_to_server != nullptr) {
        c2s.swap(*raw_to_server);
      } else {
        const uint8_t* data = nullptr;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
          c2s.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        }
      }
      if (!c2s.empty() && !server.receive(c2s).isOk()) ok = false;
      std::string s2c;
      server.send(&s2c);
      if (!s2c.empty()) {
        nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(s2c.data()),
                                 s2c.size());
      }
      if (c2s.empty() && s2c.empty()) break;
    }
    return ok;
  }

  nghttp2_session* session = nullptr;
  std::map<int32_t, ClientStream> streams;
  std::vector<std::pair<int32_t, uint32_t>> goaways;  // last stream id, error code

 private:
  struct Body {
    std::string data;
    size_t off = 0;
    bool end = true;
  };
  static std::vector<nghttp2_nv> nvOf(const std::vector<Header>& hs) {
    std::vector<nghttp2_nv> nv;
    for (const Header& h : hs) {
      nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
                    h.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv;
  }
  std::vector<std::unique_ptr<Body>> bodies_;
};

// A server that records what it is told and answers nothing by itself.
struct Recorder {
  std::map<int32_t, std::vector<Header>> requests;
  std::map<int32_t, std::string> bodies;
  std::map<int32_t, bool> ended;
  std::map<int32_t, uint32_t> closed;
  ServerSession::Callbacks callbacks() {
    ServerSession::Callbacks cb;
    cb.on_request = [this](int32_t id, std::vector<Header> h, bool end) {
      requests[id] = std::move(h);
      ended[id] = end;
    };
    cb.on_data = [this](int32_t id, std::string_view d, bool end) {
      bodies[id].append(d);
      if (end) ended[id] = true;
    };
    cb.on_close = [this](int32_t id, uint32_t err) { closed[id] = err; };
    return cb;
  }
};

std::string valueOf(const std::vector<Header>& hs, const std::string& name) {
  const std::string* v = findHeader(hs, name);
  return v == nullptr ? "<none>" : *v;
}

TEST(H2ServerSession, UnaryRoundTripWithTrailers) {
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());
  TestClient client;
  int32_t id = client.request(TestClient::post("/inference.GRPCInferenceService/ServerLive"),
                              grpcFrame("ping"));
  ASSERT_GT(id, 0);
  ASSERT_TRUE(client.pump(server));
  ASSERT_EQ(rec.requests.count(id), 1u);
  EXPECT_EQ(valueOf(rec.requests[id], ":path"), "/inference.GRPCInferenceService/ServerLive");
  EXPECT_EQ(rec.requests[id][0].name, ":method");  // pseudo-headers first, in order
  EXPECT_TRUE(rec.ended[id]);
  EXPECT_EQ(rec.bodies[id], grpcFrame("ping"));
  ASSERT_TRUE(server.respond(id, grpcResponseHeaders(), grpcFrame("pong"),
                             grpcTrailers(GrpcCode::kOk))
                  .isOk());
  ASSERT_TRUE(client.pump(server));
  const ClientStream& s = client.streams[id];
  EXPECT_EQ(valueOf(s.headers, ":status"), "200");
  EXPECT_EQ(valueOf(s.headers, "grpc-status"), "0");  // the trailer
  EXPECT_EQ(s.body, grpcFrame("pong"));
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.close_error, 0u);
  EXPECT_EQ(rec.closed.count(id), 1u);
  EXPECT_EQ(server.openStreams(), 0u);
}

TEST(H2ServerSession, StreamingHeadersDataTrailers) {
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());
  TestClient client;
  int32_t id = client.request(TestClient::post("/s"), grpcFrame("a"));
  ASSERT_TRUE(client.pump(server));
  ASSERT_TRUE(server.sendHeaders(id, grpcResponseHeaders()).isOk());
  ASSERT_TRUE(server.sendData(id, grpcFrame("one"), false).isOk());
  ASSERT_TRUE(client.pump(server));
  EXPECT_EQ(client.streams[id].body, grpcFrame("one"));  // delivered before the end
  EXPECT_FALSE(client.streams[id].closed);
  ASSERT_TRUE(server.sendData(id, grpcFrame("two"), false).isOk());  // resumes the provider
  ASSERT_TRUE(server.sendTrailers(id, grpcTrailers(GrpcCode::kNotFound, "no model \"x\"")).isOk());
  ASSERT_TRUE(client.pump(server));
  const ClientStream& s = client.streams[id];
  EXPECT_EQ(s.body, grpcFrame("one") + grpcFrame("two"));
  EXPECT_EQ(valueOf(s.headers, "grpc-status"), "5");
  EXPECT_EQ(valueOf(s.headers, "grpc-message"), "no model \"x\"");
  EXPECT_TRUE(s.closed);
  EXPECT_FALSE(server.sendData(id, "late", true).isOk());  // the stream is gone
}

TEST(H2ServerSession, ConcurrentStreamsOverTheLimitAreRefused) {
  ServerLimits limits;
  limits.max_concurrent_streams = 2;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  TestClient client;
  // Sent before the client has seen the server's SETTINGS: it does not know the limit yet.
  int32_t a = client.request(TestClient::post("/a"), "", false);
  int32_t b = client.request(TestClient::post("/b"), "", false);
  int32_t c = client.request(TestClient::post("/c"), "", false);
  client.pump(server);
  EXPECT_EQ(rec.requests.count(a), 1u);
  EXPECT_EQ(rec.requests.count(b), 1u);
  EXPECT_EQ(rec.requests.count(c), 0u);  // never reached the application
  EXPECT_TRUE(client.streams[c].closed);
  EXPECT_NE(client.streams[c].close_error, 0u);
  EXPECT_TRUE(server.alive());  // the connection lives on
  EXPECT_EQ(server.openStreams(), 2u);  // no state kept for the refused stream
}

TEST(H2ServerSession, OversizedHeaderListIsRefusedAndTheConnectionServesOthers) {
  ServerLimits limits;
  limits.max_header_list_bytes = 1024;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  TestClient client;
  int32_t big = client.request(TestClient::post("/big", {{"x-big", std::string(2000, 'v')}}));
  int32_t ok = client.request(TestClient::post("/ok"));
  client.pump(server);
  EXPECT_EQ(rec.requests.count(big), 0u);
  EXPECT_TRUE(client.streams[big].closed);
  EXPECT_EQ(client.streams[big].close_error, static_cast<uint32_t>(kEnhanceYourCalm));
  ASSERT_EQ(rec.requests.count(ok), 1u);
  ASSERT_TRUE(server.respond(ok, {{":status", "200"}}, "fine").isOk());
  client.pump(server);
  EXPECT_EQ(client.streams[ok].body, "fine");
  EXPECT_EQ(server.stats().streams_refused, 1u);
}

TEST(H2ServerSession, HpackBombStopsAtTheHeaderListLimit) {
  // One 2 KB value enters the HPACK dynamic table; the client's encoder then sends 200 copies as
  // one-byte references: 400 KB decoded from ~2 KB on the wire.
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());  // 64 KiB header lists
  TestClient client;
  std::vector<Header> extra;
  // 2,000 bytes: small enough for the encoder to index it (under ¾ of the 4 KiB table).
  for (int i = 0; i < 200; ++i) extra.push_back({"x-bomb", std::string(2000, 'b')});
  int32_t id = client.request(TestClient::post("/bomb", extra));
  client.pump(server);
  EXPECT_EQ(rec.requests.count(id), 0u);
  EXPECT_EQ(client.streams[id].close_error, static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_EQ(server.openStreams(), 0u);
  EXPECT_TRUE(server.alive());
}

TEST(H2ServerSession, RepeatedAbuseEndsTheSessionWithGoaway) {
  ServerLimits limits;
  limits.max_header_fields = 4;
  limits.max_abuses = 3;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  TestClient client;
  for (int i = 0; i < 5; ++i) {
    client.request(TestClient::post("/x", {{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  }
  client.pump(server);
  ASSERT_FALSE(client.goaways.empty());
  EXPECT_EQ(client.goaways.back().second, static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_FALSE(server.alive());
  EXPECT_NE(server.stats().goaway_reason.find("too many refused streams"), std::string::npos);
}

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload);

TEST(H2ServerSession, RapidResetEndsTheSession) {
  // CVE-2023-44487: open a stream and reset it at once, over and over (raw frames: a well-behaved
  // client library drops a request it resets before sending it).
  ServerLimits limits;
  limits.reset_burst = 20;
  limits.reset_rate_per_s = 1;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  std::string in = NGHTTP2_CLIENT_MAGIC;
  in += frame(0x4, 0, 0, "");                                    // SETTINGS
  for (uint32_t id = 1; id < 400; id += 2) {
    in += frame(0x1, 0x4 /* END_HEADERS */, id, "\x82\x86\x84");  // GET http /
    in += frame(0x3, 0, id, std::string("\x00\x00\x00\x08", 4));  // RST_STREAM(CANCEL)
  }
  (void)server.receive(in);
  std::string out;
  server.send(&out);
  EXPECT_GE(server.stats().goaways_sent, 1u);
  EXPECT_LT(rec.requests.size(), 200u);  // stopped well before the 200th stream
  EXPECT_GE(server.stats().streams_reset_by_peer, 20u);
}

// Raw frames: 9-byte header + payload.
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  const size_t n = payload.size();
  f.push_back(static_cast<char>(n >> 16));
  f.push_back(static_cast<char>(n >> 8));
  f.push_back(static_cast<char>(n));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>(stream >> 24));
  f.push_back(static_cast<char>(stream >> 16));
  f.push_back(static_cast<char>(stream >> 8));
  f.push_back(static_cast<char>(stream));
  return f + payload;
}

TEST(H2ServerSession, ContinuationFloodEndsTheSession) {
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());
  std::string in = NGHTTP2_CLIENT_MAGIC;
  in += frame(0x4, 0, 0, "");  // SETTINGS
  // ":method: GET" (static index 2), then literal fields spread over endless CONTINUATIONs.
  in += frame(0x1, 0 /* no END_HEADERS */, 1, "\x82");
  const std::string field("\x00\x01" "a" "\x01" "b", 5);
  for (int i = 0; i < 100; ++i) in += frame(0x9, 0, 1, field);
  Status s = server.receive(in);
  EXPECT_FALSE(s.isOk());
  std::string out;
  server.send(&out);
  EXPECT_FALSE(server.alive());
  EXPECT_TRUE(rec.requests.empty());
  EXPECT_GE(server.stats().goaways_sent, 1u);
}

TEST(H2ServerSession, BadPrefaceIsAProtocolError) {
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());
  Status s = server.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(s.isOk());
  std::string out;
  server.send(&out);
  EXPECT_FALSE(server.alive());
}

TEST(H2ServerSession, RequestBodyOverTheLimitResetsTheStream) {
  ServerLimits limits;
  limits.max_request_body = 1000;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  TestClient client;
  int32_t id = client.request(TestClient::post("/big"), std::string(5000, 'z'));
  client.pump(server);
  ASSERT_EQ(rec.requests.count(id), 1u);
  EXPECT_LE(rec.bodies[id].size(), 1000u);
  EXPECT_TRUE(client.streams[id].closed);
  EXPECT_EQ(client.streams[id].close_error, static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_EQ(rec.closed[id], static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_TRUE(server.alive());
}

TEST(H2ServerSession, GracefulShutdownFinishesInFlightAndRefusesNew) {
  Recorder rec;
  ServerSession server(ServerLimits{}, rec.callbacks());
  TestClient client;
  int32_t inflight = client.request(TestClient::post("/slow"));
  client.pump(server);
  ASSERT_EQ(rec.requests.count(inflight), 1u);
  server.shutdown();
  client.pump(server);  // notice + PING → ACK → final GOAWAY naming the last stream
  ASSERT_GE(client.goaways.size(), 2u);
  EXPECT_EQ(client.goaways.front().first, (1u << 31) - 1);
  EXPECT_EQ(client.goaways.back().first, inflight);
  EXPECT_EQ(client.goaways.back().second, 0u);
  // A new request is not accepted any more: the client refuses to open it after a GOAWAY.
  int32_t late = client.request(TestClient::post("/late"));
  client.pump(server);
  EXPECT_EQ(rec.requests.count(late > 0 ? late : 999), 0u);
  // The in-flight stream still completes, then the session is over.
  EXPECT_TRUE(server.alive());
  ASSERT_TRUE(server.respond(inflight, {{":status", "200"}}, "done").isOk());
  client.pump(server);
  EXPECT_EQ(client.streams[inflight].body, "done");
  EXPECT_FALSE(server.alive());
}

TEST(H2ServerSession, ZeroWindowPeerPinsAtMostThePendingOutputLimit) {
  ServerLimits limits;
  limits.max_pending_output = 100'000;
  Recorder rec;
  ServerSession server(limits, rec.callbacks());
  TestClient client;
  nghttp2_settings_entry zero{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0};
  nghttp2_submit_settings(client.session, NGHTTP2_FLAG_NONE, &zero, 1);
  int32_t a = client.request(TestClient::post("/a"));
  int32_t b = client.request(TestClient::post("/b"));
  client.pump(server);
  ASSERT_TRUE(server.respond(a, {{":status", "200"}}, std::string(80'000, 'x')).isOk());
  client.pump(server);
  EXPECT_EQ(client.streams[a].body.size(), 0u);  // the peer's window is closed
  EXPECT_EQ(server.pendingOutputBytes(), 80'000u);
  Status s = server.respond(b, {{":status", "200"}}, std::string(80'000, 'y'));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  server.resetStream(b, kInternalError);
  client.pump(server);
  EXPECT_TRUE(client.streams[b].closed);
}

}  // namespace
}  // namespace surge::h2
