// h2::ClientSession against real HTTP/2 servers in memory (bytes pumped between the two):
// surge's own h2::ServerSession, a raw libnghttp2 server session for what ServerSession never
// does (GOAWAY below the last stream, HPACK bombs), and hand-built frames for what no
// well-behaved server sends (1xx blocks, CONTINUATION floods, invalid frames).
#include "net/h2/client_session.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/h2/grpc_framing.h"
#include "net/h2/server_session.h"

namespace surge::h2 {
namespace {

// What the client's callbacks saw, per stream.
struct Seen {
  std::vector<Header> headers;
  int header_calls = 0;
  bool headers_end = false;
  std::string body;
  std::vector<std::pair<std::string, bool>> data_calls;  // (data, end_stream)
  std::vector<Header> trailers;
  int trailer_calls = 0;
  int closes = 0;
  uint32_t close_code = 0xffffffff;
  bool retryable = false;
};

struct ClientRecorder {
  std::map<int32_t, Seen> streams;
  std::vector<std::pair<int32_t, uint32_t>> goaways;
  bool consume_all = true;            // consume() every byte as it arrives
  ClientSession* session = nullptr;   // for consume_all
  ClientSession::Callbacks callbacks() {
    ClientSession::Callbacks cb;
    cb.on_headers = [this](int32_t id, std::vector<Header> h, bool end) {
      Seen& s = streams[id];
      s.headers = std::move(h);
      s.header_calls++;
      s.headers_end = end;
    };
    cb.on_data = [this](int32_t id, std::string_view d, bool end) {
      Seen& s = streams[id];
      s.body.append(d);
      s.data_calls.emplace_back(std::string(d), end);
      if (consume_all && session != nullptr) session->consume(id, d.size());
    };
    cb.on_trailers = [this](int32_t id, std::vector<Header> t) {
      Seen& s = streams[id];
      s.trailers = std::move(t);
      s.trailer_calls++;
    };
    cb.on_close = [this](int32_t id, uint32_t code, bool retryable) {
      Seen& s = streams[id];
      s.closes++;
      s.close_code = code;
      s.retryable = retryable;
    };
    cb.on_goaway = [this](int32_t last, uint32_t code) { goaways.emplace_back(last, code); };
    return cb;
  }
};

// A ServerSession that records requests and answers nothing by itself.
struct ServerRecorder {
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

std::vector<Header> post(const std::string& path) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":authority", "upstream"},
          {":path", path},
          {"content-type", "application/grpc"},
          {"te", "trailers"}};
}

std::vector<Header> get(const std::string& path) {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "upstream"}, {":path", path}};
}

std::string valueOf(const std::vector<Header>& hs, const std::string& name) {
  const std::string* v = findHeader(hs, name);
  return v == nullptr ? "<none>" : *v;
}

// Moves bytes both ways until neither side has anything to say. Returns the client's last
// receive() status.
Status pump(ClientSession& client, ServerSession& server) {
  Status status;
  for (int round = 0; round < 1000; ++round) {
    std::string c2s;
    client.send(&c2s);
    if (!c2s.empty()) (void)server.receive(c2s);
    std::string s2c;
    server.send(&s2c);
    if (!s2c.empty()) {
      Status st = client.receive(s2c);
      if (!st.isOk()) status = st;
    }
    if (c2s.empty() && s2c.empty()) break;
  }
  return status;
}

// A raw libnghttp2 server session: answers with whatever headers it is told (no limits of its
// own on what it sends), GOAWAYs with any last_stream_id.
class RawServer {
 public:
  RawServer() {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
            static_cast<RawServer*>(u)->requests.push_back(f->hd.stream_id);
          }
          return 0;
        });
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 4u << 20);  // bombs are its job
    nghttp2_session_server_new2(&session, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawServer() { nghttp2_session_del(session); }

  void respond(int32_t id, const std::vector<Header>& headers, std::string body) {
    std::vector<nghttp2_nv> nv;
    for (const Header& h : headers) {
      nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
                    h.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    bodies_.push_back(std::make_unique<Body>(Body{std::move(body), 0}));
    nghttp2_data_provider p{};
    p.source.ptr = bodies_.back().get();
    p.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<Body*>(src->ptr);
      size_t n = std::min(len, b->data.size() - b->off);
      std::memcpy(buf, b->data.data() + b->off, n);
      b->off += n;
      if (b->off == b->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    nghttp2_submit_response(session, id, nv.data(), nv.size(), &p);
  }

  Status pump(ClientSession& client) {
    Status status;
    for (int round = 0; round < 1000; ++round) {
      std::string c2s;
      client.send(&c2s);
      if (!c2s.empty()) {
        nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(c2s.data()),
                                 c2s.size());
      }
      std::string s2c;
      const uint8_t* data = nullptr;
      ssize_t n;
      while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
        s2c.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (!s2c.empty()) {
        Status st = client.receive(s2c);
        if (!st.isOk()) status = st;
      }
      if (c2s.empty() && s2c.empty()) break;
    }
    return status;
  }

  nghttp2_session* session = nullptr;
  std::vector<int32_t> requests;

 private:
  struct Body {
    std::string data;
    size_t off = 0;
  };
  std::vector<std::unique_ptr<Body>> bodies_;
};

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

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 3; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>(v);
    v >>= 8;
  }
  return s;
}

std::string settingsFrame(std::vector<std::pair<uint16_t, uint32_t>> entries) {
  std::string p;
  for (auto [id, value] : entries) {
    p.push_back(static_cast<char>(id >> 8));
    p.push_back(static_cast<char>(id));
    p += be32(value);
  }
  return frame(0x4, 0, 0, p);
}

std::string goawayFrame(uint32_t last, uint32_t code) {
  return frame(0x7, 0, 0, be32(last) + be32(code));
}

// A started client and the bytes it wrote (preface, SETTINGS, whatever was submitted).
std::string drain(ClientSession& client) {
  std::string out;
  client.send(&out);
  return out;
}

TEST(H2ClientSession, GrpcLikeCallWithBodyAndTrailers) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  auto id = client.submitRequest(post("/inference.GRPCInferenceService/ModelInfer"), false);
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  ASSERT_TRUE(client.sendData(*id, grpcFrame("req"), false).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.bodies[*id], grpcFrame("req"));
  EXPECT_FALSE(srv.ended[*id]);  // the body goes on
  ASSERT_TRUE(client.sendData(*id, grpcFrame("more"), true).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_EQ(srv.requests.count(*id), 1u);
  EXPECT_EQ(valueOf(srv.requests[*id], ":path"), "/inference.GRPCInferenceService/ModelInfer");
  EXPECT_EQ(srv.bodies[*id], grpcFrame("req") + grpcFrame("more"));
  EXPECT_TRUE(srv.ended[*id]);
  ASSERT_TRUE(server.respond(*id, grpcResponseHeaders(), grpcFrame("resp"),
                             grpcTrailers(GrpcCode::kNotFound, "no model"))
                  .isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  const Seen& s = rec.streams[*id];
  EXPECT_EQ(s.header_calls, 1);
  EXPECT_EQ(valueOf(s.headers, ":status"), "200");
  EXPECT_EQ(s.headers.front().name, ":status");
  EXPECT_FALSE(s.headers_end);
  EXPECT_EQ(s.body, grpcFrame("resp"));
  ASSERT_FALSE(s.data_calls.empty());
  EXPECT_FALSE(s.data_calls.back().second);  // the trailers end the stream, not the DATA
  EXPECT_EQ(s.trailer_calls, 1);
  EXPECT_EQ(valueOf(s.trailers, "grpc-status"), "5");
  EXPECT_EQ(valueOf(s.trailers, "grpc-message"), "no model");
  EXPECT_EQ(s.closes, 1);
  EXPECT_EQ(s.close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(s.retryable);
  EXPECT_EQ(client.openStreams(), 0u);
  EXPECT_TRUE(client.alive());
  EXPECT_TRUE(client.canOpenStream());
}

TEST(H2ClientSession, EndStreamRidesOnTheLastDataOrHeaders) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t whole = *client.submitRequest(get("/whole"), true);
  int32_t streamed = *client.submitRequest(get("/streamed"), true);
  int32_t empty = *client.submitRequest(get("/empty"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_EQ(srv.requests.size(), 3u);
  ASSERT_TRUE(server.respond(whole, {{":status", "200"}}, "body").isOk());
  ASSERT_TRUE(server.sendHeaders(streamed, {{":status", "200"}}).isOk());
  ASSERT_TRUE(server.sendData(streamed, "x", false).isOk());
  ASSERT_TRUE(server.respond(empty, {{":status", "204"}}, "").isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_TRUE(server.sendData(streamed, "", true).isOk());  // an empty DATA with END_STREAM
  ASSERT_TRUE(pump(client, server).isOk());

  using Calls = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(rec.streams[whole].data_calls, (Calls{{"body", true}}));
  EXPECT_FALSE(rec.streams[whole].headers_end);
  EXPECT_EQ(rec.streams[streamed].data_calls, (Calls{{"x", false}, {"", true}}));
  EXPECT_TRUE(rec.streams[empty].headers_end);  // headers only
  EXPECT_TRUE(rec.streams[empty].data_calls.empty());
  for (int32_t id : {whole, streamed, empty}) {
    EXPECT_EQ(rec.streams[id].closes, 1) << id;
    EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kNoError)) << id;
  }
}

TEST(H2ClientSession, ManyConcurrentStreams) {
  ServerLimits slimits;
  slimits.max_concurrent_streams = 1000;
  ServerRecorder srv;
  ServerSession server(slimits, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(pump(client, server).isOk());  // the server's SETTINGS (1000 streams) arrive
  std::vector<int32_t> ids;
  for (int i = 0; i < 300; ++i) {
    auto id = client.submitRequest(post("/m"), false);
    ASSERT_TRUE(id.isOk()) << i << ": " << id.status().toString();
    ASSERT_TRUE(client.sendData(*id, "request " + std::to_string(i), true).isOk());
    ids.push_back(*id);
  }
  EXPECT_EQ(client.openStreams(), 300u);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_EQ(srv.requests.size(), 300u);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(srv.bodies[ids[i]], "request " + std::to_string(i));
    ASSERT_TRUE(server.respond(ids[i], {{":status", "200"}}, "response " + std::to_string(i),
                               {{"x-trailer", std::to_string(i)}})
                    .isOk());
  }
  ASSERT_TRUE(pump(client, server).isOk());
  for (size_t i = 0; i < ids.size(); ++i) {
    const Seen& s = rec.streams[ids[i]];
    EXPECT_EQ(s.body, "response " + std::to_string(i));
    EXPECT_EQ(valueOf(s.trailers, "x-trailer"), std::to_string(i));
    EXPECT_EQ(s.closes, 1);
    EXPECT_EQ(s.close_code, static_cast<uint32_t>(kNoError));
  }
  EXPECT_EQ(client.openStreams(), 0u);
  EXPECT_EQ(client.stats().streams_submitted, 300u);
}

TEST(H2ClientSession, RespectsThePeersMaxConcurrentStreams) {
  ServerLimits slimits;
  slimits.max_concurrent_streams = 3;
  ServerRecorder srv;
  ServerSession server(slimits, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  std::vector<int32_t> ids;
  while (client.canOpenStream()) {
    ids.push_back(*client.submitRequest(get("/x"), true));
    ASSERT_LE(ids.size(), 10u);
  }
  EXPECT_EQ(ids.size(), 3u);
  auto extra = client.submitRequest(get("/x"), true);
  EXPECT_EQ(extra.status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.requests.size(), 3u);
  ASSERT_TRUE(server.respond(ids[0], {{":status", "200"}}, "").isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[ids[0]].closes, 1);
  EXPECT_TRUE(client.canOpenStream());  // a slot is free again
  EXPECT_EQ(client.openStreams(), 2u);
  for (const auto& [id, s] : rec.streams) EXPECT_NE(s.close_code, uint32_t{kRefusedStream});
}

TEST(H2ClientSession, AssumesAHundredStreamsUntilThePeersSettings) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());  // 128 streams
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int opened = 0;
  while (client.canOpenStream() && opened < 1000) {
    ASSERT_TRUE(client.submitRequest(get("/x"), false).isOk());
    ++opened;
  }
  EXPECT_EQ(opened, 100);  // RFC 9113's recommended minimum, until the server says more
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.requests.size(), 100u);
  while (client.canOpenStream() && opened < 1000) {
    ASSERT_TRUE(client.submitRequest(get("/x"), false).isOk());
    ++opened;
  }
  EXPECT_EQ(opened, 128);
}

TEST(H2ClientSession, OwnStreamCapBelowThePeers) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());  // 128 streams
  ClientLimits limits;
  limits.max_concurrent_streams = 2;
  ClientRecorder rec;
  ClientSession client(limits, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(client.submitRequest(get("/a"), true).isOk());
  ASSERT_TRUE(client.submitRequest(get("/b"), true).isOk());
  EXPECT_FALSE(client.canOpenStream());
  EXPECT_EQ(client.submitRequest(get("/c"), true).status().code(), StatusCode::kUnavailable);
}

TEST(H2ClientSession, RefusedStreamIsRetryable) {
  ServerLimits slimits;
  slimits.max_concurrent_streams = 1;
  ServerRecorder srv;
  ServerSession server(slimits, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  // Submitted before the server's SETTINGS arrive: the client assumes 100 streams.
  int32_t a = *client.submitRequest(get("/a"), true);
  int32_t b = *client.submitRequest(get("/b"), true);
  int32_t c = *client.submitRequest(get("/c"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.requests.count(a), 1u);
  for (int32_t id : {b, c}) {  // RST_STREAM(REFUSED_STREAM) from nghttp2's server
    EXPECT_EQ(srv.requests.count(id), 0u);
    EXPECT_EQ(rec.streams[id].closes, 1);
    EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kRefusedStream));
    EXPECT_TRUE(rec.streams[id].retryable);
  }
  EXPECT_EQ(rec.streams[a].closes, 0);
  // The application refuses too; a CANCEL after processing is not retryable.
  server.resetStream(a, kRefusedStream);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_TRUE(rec.streams[a].retryable);
  int32_t d = *client.submitRequest(get("/d"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_EQ(srv.requests.count(d), 1u);
  server.resetStream(d, kCancel);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[d].close_code, static_cast<uint32_t>(kCancel));
  EXPECT_FALSE(rec.streams[d].retryable);
  EXPECT_EQ(client.stats().streams_retryable, 3u);
  EXPECT_TRUE(client.alive());
}

TEST(H2ClientSession, GoawayMakesStreamsAboveLastStreamIdRetryable) {
  RawServer server;
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t a = *client.submitRequest(get("/a"), true);
  int32_t b = *client.submitRequest(get("/b"), true);
  int32_t c = *client.submitRequest(get("/c"), true);
  ASSERT_TRUE(server.pump(client).isOk());
  ASSERT_EQ(server.requests.size(), 3u);
  // The server processed only the first: GOAWAY(last_stream_id = a), then a's response.
  nghttp2_submit_goaway(server.session, NGHTTP2_FLAG_NONE, a, NGHTTP2_NO_ERROR, nullptr, 0);
  server.respond(a, {{":status", "200"}}, "done");
  ASSERT_TRUE(server.pump(client).isOk());
  ASSERT_EQ(rec.goaways.size(), 1u);
  EXPECT_EQ(rec.goaways[0].first, a);
  EXPECT_EQ(rec.goaways[0].second, 0u);
  for (int32_t id : {b, c}) {
    EXPECT_EQ(rec.streams[id].closes, 1);
    EXPECT_TRUE(rec.streams[id].retryable) << id;
  }
  EXPECT_EQ(rec.streams[a].body, "done");
  EXPECT_EQ(rec.streams[a].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(rec.streams[a].retryable);
  EXPECT_FALSE(client.canOpenStream());
  EXPECT_EQ(client.submitRequest(get("/d"), true).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(client.alive());  // GOAWAY and no stream left
}

TEST(H2ClientSession, GoawayClosesRequestsQueuedBehindThePeerLimitAtOnce) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t a = *client.submitRequest(get("/a"), true);
  int32_t b = *client.submitRequest(get("/b"), true);
  int32_t c = *client.submitRequest(get("/c"), true);
  // The server's SETTINGS (1 stream) arrive before the requests leave: two stay queued.
  ASSERT_TRUE(client.receive(settingsFrame({{0x3, 1}})).isOk());
  std::string out = drain(client);
  EXPECT_EQ(client.openStreams(), 3u);
  ASSERT_TRUE(client.receive(goawayFrame(static_cast<uint32_t>(a), 0)).isOk());
  for (int32_t id : {b, c}) {
    EXPECT_EQ(rec.streams[id].closes, 1) << id;
    EXPECT_TRUE(rec.streams[id].retryable) << id;
  }
  EXPECT_EQ(rec.streams[a].closes, 0);  // sent and within last_stream_id: it still finishes
  EXPECT_EQ(client.openStreams(), 1u);
  drain(client);
  EXPECT_EQ(rec.streams[b].closes, 1);  // nothing fires twice
  EXPECT_EQ(rec.streams[c].closes, 1);
}

TEST(H2ClientSession, ServerGracefulShutdownLetsTheStreamInFlightFinish) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/slow"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  server.shutdown();
  ASSERT_TRUE(pump(client, server).isOk());  // notice, PING, ACK, final GOAWAY
  ASSERT_EQ(rec.goaways.size(), 2u);
  EXPECT_EQ(rec.goaways[0].first, INT32_MAX);
  EXPECT_EQ(rec.goaways[1].first, id);
  EXPECT_FALSE(client.canOpenStream());
  EXPECT_TRUE(client.alive());
  EXPECT_EQ(rec.streams[id].closes, 0);
  ASSERT_TRUE(server.respond(id, {{":status", "200"}}, "late but whole").isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body, "late but whole");
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(client.alive());
}

TEST(H2ClientSession, ClientShutdownFinishesOpenStreams) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/x"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  client.shutdown();
  EXPECT_FALSE(client.canOpenStream());
  EXPECT_EQ(client.submitRequest(get("/y"), true).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_TRUE(client.alive());
  ASSERT_TRUE(server.respond(id, {{":status", "200"}}, "ok").isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body, "ok");
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(client.alive());
}

TEST(H2ClientSession, StreamIdExhaustionShutsTheSessionDown) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(client.setNextStreamId(INT32_MAX - 2).isOk());
  int32_t a = *client.submitRequest(get("/a"), true);
  EXPECT_EQ(a, INT32_MAX - 2);
  EXPECT_TRUE(client.canOpenStream());
  int32_t b = *client.submitRequest(get("/b"), true);
  EXPECT_EQ(b, INT32_MAX);  // the last one
  EXPECT_FALSE(client.canOpenStream());
  EXPECT_EQ(client.submitRequest(get("/c"), true).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_TRUE(client.alive());  // both streams are in flight
  for (int32_t id : {a, b}) ASSERT_TRUE(server.respond(id, {{":status", "200"}}, "ok").isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[a].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_EQ(rec.streams[b].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(client.alive());  // the GOAWAY went out and nothing is left: a new connection
  EXPECT_TRUE(client.stats().error.empty());
  EXPECT_FALSE(client.setNextStreamId(1).isOk());  // only before the first request
}

TEST(H2ClientSession, HpackBombClosesTheStreamAndSparesTheOthers) {
  // One 2,000-byte value enters the HPACK table; 200 one-byte references to it decode to 400 KB.
  RawServer server;
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());  // 64 KiB header lists
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t bomb = *client.submitRequest(get("/bomb"), true);
  int32_t fine = *client.submitRequest(get("/fine"), true);
  ASSERT_TRUE(server.pump(client).isOk());
  std::vector<Header> headers{{":status", "200"}};
  for (int i = 0; i < 200; ++i) headers.push_back({"x-bomb", std::string(2000, 'b')});
  server.respond(bomb, headers, "never seen");
  server.respond(fine, {{":status", "200"}}, "fine");
  ASSERT_TRUE(server.pump(client).isOk());
  EXPECT_EQ(rec.streams[bomb].header_calls, 0);
  EXPECT_TRUE(rec.streams[bomb].data_calls.empty());
  EXPECT_EQ(rec.streams[bomb].closes, 1);
  EXPECT_EQ(rec.streams[bomb].close_code, static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_FALSE(rec.streams[bomb].retryable);
  EXPECT_EQ(rec.streams[fine].body, "fine");
  EXPECT_EQ(rec.streams[fine].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_EQ(client.stats().header_lists_refused, 1u);
  EXPECT_TRUE(client.alive());
}

TEST(H2ClientSession, TrailersOverTheFieldLimitCloseTheStream) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientLimits limits;
  limits.max_header_fields = 6;
  ClientRecorder rec;
  ClientSession client(limits, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/t"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  std::vector<Header> trailers;
  for (int i = 0; i < 10; ++i) trailers.push_back({"x-t" + std::to_string(i), "v"});
  ASSERT_TRUE(server.respond(id, {{":status", "200"}}, "body", trailers).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].header_calls, 1);  // the headers were within the limit
  EXPECT_EQ(rec.streams[id].trailer_calls, 0);
  EXPECT_EQ(rec.streams[id].closes, 1);
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kEnhanceYourCalm));
  EXPECT_FALSE(rec.streams[id].retryable);
}

TEST(H2ClientSession, InformationalBlocksAreSkipped) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/"), true);
  drain(client);
  std::string in = settingsFrame({});
  in += frame(0x1, 0x4 /* END_HEADERS */, 1, std::string("\x08\x03" "100", 5));  // :status 100
  in += frame(0x1, 0x4, 1,  // :status 103, link: </x>
               std::string("\x08\x03" "103" "\x40\x04" "link" "\x04" "</x>", 16));
  in += frame(0x1, 0x4 | 0x1 /* END_STREAM */, 1, "\x88");                      // :status 200
  ASSERT_TRUE(client.receive(in).isOk());
  const Seen& s = rec.streams[id];
  EXPECT_EQ(s.header_calls, 1);
  EXPECT_EQ(valueOf(s.headers, ":status"), "200");
  EXPECT_EQ(valueOf(s.headers, "link"), "<none>");
  EXPECT_TRUE(s.headers_end);
  EXPECT_EQ(s.close_code, static_cast<uint32_t>(kNoError));
}

TEST(H2ClientSession, ManualConsumeHoldsTheStreamWindow) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientLimits limits;
  limits.initial_window_size = 16384;
  ClientRecorder rec;
  rec.consume_all = false;
  ClientSession client(limits, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/big"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  const std::string body(100'000, 'z');
  ASSERT_TRUE(server.respond(id, {{":status", "200"}}, body).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body.size(), 16384u);  // exactly the window, then the server waits
  EXPECT_GT(server.pendingOutputBytes(), 0u);
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body.size(), 16384u);  // still nothing without consume()
  size_t consumed = 0;
  for (int i = 0; i < 100 && rec.streams[id].closes == 0; ++i) {
    const size_t have = rec.streams[id].body.size();
    client.consume(id, have - consumed);
    consumed = have;
    ASSERT_TRUE(pump(client, server).isOk());
    EXPECT_LE(rec.streams[id].body.size(), consumed + 16384);  // never beyond the window
  }
  EXPECT_EQ(rec.streams[id].body, body);
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kNoError));
}

TEST(H2ClientSession, ConnectionWindowBoundsAllStreamsTogether) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientLimits limits;
  limits.connection_window_size = 100'000;
  ClientRecorder rec;
  rec.consume_all = false;
  ClientSession client(limits, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  std::vector<int32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(*client.submitRequest(get("/b"), true));
  ASSERT_TRUE(pump(client, server).isOk());
  for (int32_t id : ids) {
    ASSERT_TRUE(server.respond(id, {{":status", "200"}}, std::string(80'000, 'c')).isOk());
  }
  ASSERT_TRUE(pump(client, server).isOk());
  auto total = [&] {
    size_t n = 0;
    for (int32_t id : ids) n += rec.streams[id].body.size();
    return n;
  };
  EXPECT_EQ(total(), 100'000u);
  for (int i = 0; i < 100 && total() < 240'000; ++i) {
    for (int32_t id : ids) client.consume(id, SIZE_MAX);  // capped at what was delivered
    ASSERT_TRUE(pump(client, server).isOk());
  }
  EXPECT_EQ(total(), 240'000u);
  for (int32_t id : ids) EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kNoError));
}

TEST(H2ClientSession, UnconsumedBytesOfAClosedStreamReturnToTheConnection) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientLimits limits;
  limits.connection_window_size = 100'000;
  ClientRecorder rec;
  rec.consume_all = false;
  ClientSession client(limits, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t a = *client.submitRequest(get("/a"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_TRUE(server.respond(a, {{":status", "200"}}, std::string(60'000, 'a')).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_EQ(rec.streams[a].closes, 1);  // complete, never consumed
  client.consume(a, 60'000);            // too late: ignored
  int32_t b = *client.submitRequest(get("/b"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_TRUE(server.respond(b, {{":status", "200"}}, std::string(90'000, 'b')).isOk());
  size_t consumed = 0;
  for (int i = 0; i < 100 && rec.streams[b].closes == 0; ++i) {
    ASSERT_TRUE(pump(client, server).isOk());
    client.consume(b, rec.streams[b].body.size() - consumed);
    consumed = rec.streams[b].body.size();
  }
  // Without a's bytes credited back at its close, b would stall at 40,000 bytes.
  EXPECT_EQ(rec.streams[b].body.size(), 90'000u);
  EXPECT_EQ(rec.streams[b].close_code, static_cast<uint32_t>(kNoError));
}

TEST(H2ClientSession, PendingOutputIsCapped) {
  ServerLimits slimits;
  slimits.initial_window_size = 0;  // the upstream never lets a request body through
  ServerRecorder srv;
  ServerSession server(slimits, srv.callbacks());
  ClientLimits limits;
  limits.max_pending_output = 100'000;
  ClientRecorder rec;
  ClientSession client(limits, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  int32_t a = *client.submitRequest(post("/a"), false);
  int32_t b = *client.submitRequest(post("/b"), false);
  ASSERT_TRUE(client.sendData(a, std::string(80'000, 'x'), false).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.bodies[a].size(), 0u);
  EXPECT_EQ(client.pendingOutputBytes(), 80'000u);
  Status s = client.sendData(b, std::string(30'000, 'y'), true);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(client.pendingOutputBytes(), 80'000u);  // nothing of it was queued
  client.resetStream(a, kCancel);
  EXPECT_EQ(client.pendingOutputBytes(), 0u);
  EXPECT_TRUE(client.sendData(b, std::string(30'000, 'y'), true).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(srv.closed.count(a), 1u);
  EXPECT_EQ(client.sendData(a, "late", true).code(), StatusCode::kNotFound);
}

TEST(H2ClientSession, PingIsAnswered) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_FALSE(client.pingOutstanding());
  EXPECT_FALSE(client.pingAcked());
  client.ping();
  EXPECT_TRUE(client.pingOutstanding());
  std::string out = drain(client);
  // An ACK with other opaque bytes is not the answer.
  ASSERT_TRUE(client.receive(settingsFrame({}) + frame(0x6, 0x1, 0, std::string(8, 'q'))).isOk());
  EXPECT_TRUE(client.pingOutstanding());
  ASSERT_TRUE(server.receive(out).isOk());
  std::string back;
  server.send(&back);
  ASSERT_TRUE(client.receive(back).isOk());
  EXPECT_FALSE(client.pingOutstanding());
  EXPECT_TRUE(client.pingAcked());
}

TEST(H2ClientSession, InvalidFrameEndsTheSessionAndClosesEveryStream) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t sent = *client.submitRequest(get("/sent"), true);
  drain(client);
  int32_t unsent = *client.submitRequest(get("/unsent"), true);
  // DATA on stream 0 is a connection error (RFC 9113 §6.1).
  Status s = client.receive(settingsFrame({}) + frame(0x0, 0, 0, "xx"));
  EXPECT_FALSE(s.isOk());
  EXPECT_FALSE(client.alive());
  EXPECT_FALSE(client.stats().error.empty());
  EXPECT_EQ(rec.streams[sent].closes, 1);
  EXPECT_FALSE(rec.streams[sent].retryable);
  EXPECT_EQ(rec.streams[unsent].closes, 1);
  EXPECT_TRUE(rec.streams[unsent].retryable);
  EXPECT_EQ(client.openStreams(), 0u);
  std::string out = drain(client);
  ASSERT_GE(out.size(), 9u);
  EXPECT_EQ(out[3], '\x07');  // a GOAWAY goes out
  EXPECT_FALSE(client.receive(settingsFrame({})).isOk());
  EXPECT_EQ(rec.streams[sent].closes, 1);
}

TEST(H2ClientSession, ContinuationFloodEndsTheSession) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/"), true);
  drain(client);
  std::string in = settingsFrame({});
  in += frame(0x1, 0 /* no END_HEADERS */, 1, "\x88");
  const std::string field("\x00\x01" "a" "\x01" "b", 5);
  for (int i = 0; i < 100; ++i) in += frame(0x9, 0, 1, field);
  EXPECT_FALSE(client.receive(in).isOk());
  EXPECT_FALSE(client.alive());
  EXPECT_EQ(rec.streams[id].header_calls, 0);
  EXPECT_EQ(rec.streams[id].closes, 1);
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kEnhanceYourCalm));
}

TEST(H2ClientSession, ConnectionClosedClosesEachStreamOnce) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t a = *client.submitRequest(get("/a"), true);
  int32_t b = *client.submitRequest(post("/b"), false);
  drain(client);
  int32_t c = *client.submitRequest(get("/c"), true);
  client.connectionClosed();
  for (int32_t id : {a, b, c}) {
    EXPECT_EQ(rec.streams[id].closes, 1) << id;
    EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kCancel)) << id;
  }
  EXPECT_FALSE(rec.streams[a].retryable);
  EXPECT_FALSE(rec.streams[b].retryable);
  EXPECT_TRUE(rec.streams[c].retryable);  // its HEADERS never left
  EXPECT_FALSE(client.alive());
  EXPECT_FALSE(client.wantsWrite());
  EXPECT_EQ(client.submitRequest(get("/d"), true).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client.sendData(b, "x", true).code(), StatusCode::kNotFound);
  EXPECT_FALSE(client.receive(settingsFrame({})).isOk());
  EXPECT_EQ(drain(client), "");
  client.connectionClosed();
  EXPECT_EQ(rec.streams[a].closes, 1);
}

TEST(H2ClientSession, ResetByTheCallerStopsDelivery) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  rec.session = &client;
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/stream"), true);
  int32_t other = *client.submitRequest(get("/other"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  ASSERT_TRUE(server.sendHeaders(id, {{":status", "200"}}).isOk());
  ASSERT_TRUE(server.sendData(id, "first", false).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body, "first");
  ASSERT_TRUE(server.sendData(id, "second", false).isOk());
  std::string s2c;
  server.send(&s2c);  // in flight when the client resets
  client.resetStream(id, kCancel);
  ASSERT_TRUE(client.receive(s2c).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].body, "first");
  EXPECT_EQ(rec.streams[id].closes, 1);
  EXPECT_EQ(rec.streams[id].close_code, static_cast<uint32_t>(kCancel));
  EXPECT_EQ(srv.closed[id], static_cast<uint32_t>(kCancel));
  // The connection is unharmed: the other stream completes and its window flows.
  ASSERT_TRUE(server.respond(other, {{":status", "200"}}, std::string(3u << 20, 'o')).isOk());
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[other].body.size(), 3u << 20);
  EXPECT_EQ(rec.streams[other].close_code, static_cast<uint32_t>(kNoError));
}

TEST(H2ClientSession, ResetBeforeTheResponseEndedIsNotASuccess) {
  ServerRecorder srv;
  ServerSession server(ServerLimits{}, srv.callbacks());
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  ASSERT_TRUE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/x"), true);
  ASSERT_TRUE(pump(client, server).isOk());
  server.resetStream(id, kNoError);  // RST_STREAM(NO_ERROR) with no response at all
  ASSERT_TRUE(pump(client, server).isOk());
  EXPECT_EQ(rec.streams[id].closes, 1);
  EXPECT_NE(rec.streams[id].close_code, static_cast<uint32_t>(kNoError));
  EXPECT_FALSE(rec.streams[id].retryable);
}

TEST(H2ClientSession, CallsOutOfOrderFailCleanly) {
  ClientRecorder rec;
  ClientSession client(ClientLimits{}, rec.callbacks());
  EXPECT_EQ(client.submitRequest(get("/"), true).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_FALSE(client.canOpenStream());
  ASSERT_TRUE(client.start().isOk());
  EXPECT_FALSE(client.start().isOk());
  int32_t id = *client.submitRequest(get("/"), true);
  EXPECT_EQ(client.sendData(id, "x", true).code(), StatusCode::kFailedPrecondition);  // no body
  EXPECT_EQ(client.sendData(99, "x", true).code(), StatusCode::kNotFound);
  client.consume(99, 10);
  client.resetStream(99, kCancel);
  std::string out = drain(client);
  EXPECT_EQ(out.substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}

}  // namespace
}  // namespace surge::h2
