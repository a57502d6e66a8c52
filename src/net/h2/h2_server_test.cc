// H2Server over real loopback TCP with libnghttp2's client session as the peer: several streams on
// one connection, answers from another thread, the graceful stop with a stream in flight, a peer
// that sends garbage (the server lives on).
#include "net/h2/h2_server.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "net/asio.h"
#include "net/h2/grpc_framing.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::net {
namespace {

using namespace std::chrono_literals;

// Echoes the request body reversed, with a trailer; "/slow" answers only when told (held).
struct EchoServer {
  asio::io_context io{1};
  std::unique_ptr<H2Server> server;
  std::thread thread;
  std::mutex mu;
  std::vector<H2Responder> held;
  std::atomic<int> closed{0};

  struct Handler : H2StreamHandler {
    EchoServer* s;
    H2Responder r;
    std::string path, body;
    void onData(std::string_view d, bool end) override {
      body.append(d);
      if (!end) return;
      if (path == "/slow") {
        std::lock_guard<std::mutex> lock(s->mu);
        s->held.push_back(r);
        return;
      }
      if (path == "/thread") {
        H2Responder copy = r;
        std::string b(body.rbegin(), body.rend());
        std::thread([copy, b] {
          std::this_thread::sleep_for(5ms);
          copy.respond({{":status", "200"}}, b, {{"x-done", "yes"}});
        }).detach();
        return;
      }
      r.respond({{":status", "200"}}, std::string(body.rbegin(), body.rend()), {{"x-done", "yes"}});
    }
    void onClose(uint32_t) override { s->closed++; }
  };

  EchoServer() {
    server = std::make_unique<H2Server>(
        io, [this](std::vector<h2::Header> headers, H2Responder r) {
          auto h = std::make_unique<Handler>();
          h->s = this;
          h->r = r;
          if (const std::string* p = h2::findHeader(headers, ":path")) h->path = *p;
          return h;
        });
    EXPECT_TRUE(server->listen("127.0.0.1:0").isOk());
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~EchoServer() {
    server->closeAll();
    std::this_thread::sleep_for(20ms);
    io.stop();
    thread.join();
    server.reset();
  }
};

// A blocking nghttp2 client over a loopback socket.
struct Client {
  int fd = -1;
  nghttp2_session* session = nullptr;
  struct Stream {
    std::vector<h2::Header> headers;
    std::string body;
    bool closed = false;
    uint32_t error = 0;
  };
  std::map<int32_t, Stream> streams;
  std::vector<std::pair<int32_t, uint32_t>> goaways;
  std::vector<std::unique_ptr<std::string>> bodies;

  explicit Client(uint16_t port) {
    fd = surge::testing::connectTo(port);
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* u) {
          static_cast<Client*>(u)->streams[f->hd.stream_id].headers.push_back(
              {std::string(reinterpret_cast<const char*>(n), nl),
               std::string(reinterpret_cast<const char*>(v), vl)});
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
          static_cast<Client*>(u)->streams[id].body.append(reinterpret_cast<const char*>(d), len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t err, void* u) {
          auto& s = static_cast<Client*>(u)->streams[id];
          s.closed = true;
          s.error = err;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          if (f->hd.type == NGHTTP2_GOAWAY) {
            static_cast<Client*>(u)->goaways.push_back(
                {f->goaway.last_stream_id, f->goaway.error_code});
          }
          return 0;
        });
    nghttp2_session_client_new(&session, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() {
    nghttp2_session_del(session);
    if (fd >= 0) ::close(fd);
  }

  int32_t post(const std::string& path, const std::string& body) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", "POST"}, {":scheme", "http"}, {":authority", "t"}, {":path", path}};
    std::vector<nghttp2_nv> nv;
    for (auto& [k, v] : h) {
      nv.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                    k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    bodies.push_back(std::make_unique<std::string>(body));
    nghttp2_data_provider p{};
    p.source.ptr = bodies.back().get();
    p.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* b = static_cast<std::string*>(src->ptr);
      size_t n = std::min(len, b->size());
      std::memcpy(buf, b->data(), n);
      b->erase(0, n);
      if (b->empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), &p, nullptr);
  }

  // Exchanges bytes until `done` or the timeout; false on timeout. eof set when the server closed.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                bool* eof = nullptr) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      const uint8_t* data = nullptr;
      ssize_t n;
      while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
        if (!surge::testing::sendAll(fd, std::string(reinterpret_cast<const char*>(data), n))) {
          break;
        }
      }
      if (done()) return true;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char buf[65536];
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
          if (eof != nullptr) *eof = true;
          return done();
        }
        nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(buf),
                                 static_cast<size_t>(r));
      }
    }
    return done();
  }
};

std::string headerOf(const std::vector<h2::Header>& hs, const std::string& name) {
  const std::string* v = h2::findHeader(hs, name);
  return v == nullptr ? "" : *v;
}

TEST(H2Server, StreamsOnOneConnectionAndAnswersFromAnotherThread) {
  EchoServer s;
  Client c(s.server->port());
  int32_t a = c.post("/echo", "abc");
  int32_t b = c.post("/thread", "hello");
  int32_t big = c.post("/echo", std::string(300'000, 'z'));  // beyond the initial windows
  ASSERT_TRUE(c.runUntil(
      [&] { return c.streams[a].closed && c.streams[b].closed && c.streams[big].closed; }, 5s));
  EXPECT_EQ(c.streams[a].body, "cba");
  EXPECT_EQ(headerOf(c.streams[a].headers, ":status"), "200");
  EXPECT_EQ(headerOf(c.streams[a].headers, "x-done"), "yes");
  EXPECT_EQ(c.streams[b].body, "olleh");
  EXPECT_EQ(c.streams[big].body, std::string(300'000, 'z'));
  EXPECT_EQ(c.streams[a].error, 0u);
  EXPECT_EQ(s.server->connectionCount(), 1u);
}

TEST(H2Server, StopLetsTheStreamInFlightFinish) {
  EchoServer s;
  Client c(s.server->port());
  int32_t slow = c.post("/slow", "x");
  ASSERT_TRUE(c.runUntil(
      [&] {
        std::lock_guard<std::mutex> lock(s.mu);
        return !s.held.empty();
      },
      5s));
  s.server->stop();
  ASSERT_TRUE(c.runUntil([&] { return c.goaways.size() >= 2; }, 5s));  // notice, then final
  EXPECT_EQ(c.goaways.back().first, slow);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.held.front().respond({{":status", "200"}}, "late but whole");
  }
  bool eof = false;
  ASSERT_TRUE(c.runUntil([&] { return c.streams[slow].closed && eof; }, 5s, &eof));
  EXPECT_EQ(c.streams[slow].body, "late but whole");
  EXPECT_TRUE(surge::testing::waitUntil([&] { return s.server->connectionCount() == 0; }, 5s,
                                        10ms, "connection closed"));
}

TEST(H2Server, GarbageClosesThatConnectionOnly) {
  EchoServer s;
  int bad = surge::testing::connectTo(s.server->port());
  ASSERT_GE(bad, 0);
  ASSERT_TRUE(surge::testing::sendAll(bad, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The server answers with its SETTINGS and a GOAWAY, then closes.
  std::string got = surge::testing::readFor(bad, 2s, "");
  EXPECT_FALSE(got.empty());
  ::close(bad);
  Client c(s.server->port());
  int32_t a = c.post("/echo", "ok");
  ASSERT_TRUE(c.runUntil([&] { return c.streams[a].closed; }, 5s));
  EXPECT_EQ(c.streams[a].body, "ko");
}

}  // namespace
}  // namespace surge::net
