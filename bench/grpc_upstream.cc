// grpc_upstream: the gRPC upstream of the proxy benchmarks (bench/grpc_proxy_bench.sh). An h2c
// server (HTTP/2 with prior knowledge, what a plaintext gRPC client and a gRPC proxy speak) on
// libnghttp2 and one epoll loop, one thread. Every request stream carrying exactly one gRPC
// message (framing checked) is answered with :status 200, content-type application/grpc, one
// fixed small message and trailers grpc-status 0; anything else gets a Trailers-Only
// grpc-status 3. The proxy under test carries a real gRPC exchange while the upstream costs as
// little as possible: four of them share the load generator's CPU.
//
// Self-contained on purpose (libnghttp2 and libc only): the harness compiles it in a second when
// the surge build has no copy (`c++ -O2 -std=c++17 grpc_upstream.cc -lnghttp2`); CMake target
// `grpc_upstream` otherwise.
//
//   grpc_upstream --listen 127.0.0.1:PORT [--reply-bytes N] [--delay-us N]
//
// --reply-bytes: size of the reply message's payload (default 16). --delay-us: answer that long
// after the request ended (default 0 = at once; a timer wheel of one timerfd, answers in order).
// Prints "grpc_upstream listening on port N" once it accepts; SIGUSR1 prints "answered N" (calls
// answered with grpc-status 0 so far: the harness checks that what the client counted as
// successes reached an upstream, and how evenly the proxy spread them); SIGTERM/SIGINT stop it.
// A benchmark tool, not a product: no limits beyond nghttp2's defaults, no TLS.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

uint64_t g_answered = 0;
std::string g_reply;  // the reply message, length-prefixed
long g_delay_us = 0;

struct Conn;

struct Stream {
  uint8_t prefix[5] = {};
  uint64_t bytes = 0;  // request DATA bytes
};

// A call waiting for --delay-us.
struct Pending {
  uint64_t due_ns;
  Conn* conn;
  uint64_t conn_gen;
  int32_t stream;
};

struct Conn {
  int fd = -1;
  uint64_t gen = 0;
  nghttp2_session* session = nullptr;
  std::string out;  // bytes nghttp2 produced, not yet written
  size_t out_off = 0;
  bool want_out = false;  // EPOLLOUT registered
  bool dead = false;
};

int g_epoll = -1;
std::deque<Pending> g_pending;
int g_timer = -1;
uint64_t g_gen = 0;
std::unordered_map<uint64_t, Conn*> g_conns;  // gen -> live connection (for delayed answers)
std::vector<Conn*> g_closed;  // freed after the epoll batch (later events may still name them)

uint64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

nghttp2_nv nv(const char* name, const char* value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name),
                    strlen(value), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

ssize_t readReply(nghttp2_session* session, int32_t stream, uint8_t* buf, size_t length,
                  uint32_t* flags, nghttp2_data_source*, void*) {
  size_t n = g_reply.size();
  if (n > length) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // replies fit one frame
  memcpy(buf, g_reply.data(), n);
  *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  nghttp2_nv trailer[] = {nv("grpc-status", "0")};
  if (nghttp2_submit_trailer(session, stream, trailer, 1) != 0) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return static_cast<ssize_t>(n);
}

void answerOk(nghttp2_session* session, int32_t stream) {
  nghttp2_nv headers[] = {nv(":status", "200"), nv("content-type", "application/grpc")};
  nghttp2_data_provider prd{};
  prd.read_callback = readReply;
  if (nghttp2_submit_response(session, stream, headers, 2, &prd) == 0) ++g_answered;
}

void answerBad(nghttp2_session* session, int32_t stream) {
  nghttp2_nv headers[] = {nv(":status", "200"), nv("content-type", "application/grpc"),
                          nv("grpc-status", "3"),
                          nv("grpc-message", "a unary call carries exactly one message")};
  nghttp2_submit_response(session, stream, headers, 4, nullptr);
}

void armTimer() {
  if (g_pending.empty()) return;
  uint64_t due = g_pending.front().due_ns;
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(due / 1'000'000'000u);
  its.it_value.tv_nsec = static_cast<long>(due % 1'000'000'000u);
  timerfd_settime(g_timer, TFD_TIMER_ABSTIME, &its, nullptr);
}

void callEnded(Conn* c, int32_t stream, const Stream* st) {
  uint32_t len = (uint32_t{st->prefix[1]} << 24) | (uint32_t{st->prefix[2]} << 16) |
                 (uint32_t{st->prefix[3]} << 8) | uint32_t{st->prefix[4]};
  if (st->bytes < 5 || st->prefix[0] != 0 || st->bytes != 5 + uint64_t{len}) {
    answerBad(c->session, stream);
    return;
  }
  if (g_delay_us <= 0) {
    answerOk(c->session, stream);
    return;
  }
  bool was_empty = g_pending.empty();
  g_pending.push_back({nowNs() + static_cast<uint64_t>(g_delay_us) * 1000u, c, c->gen, stream});
  if (was_empty) armTimer();
}

int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, new Stream());
  }
  return 0;
}

int onDataChunk(nghttp2_session* session, uint8_t, int32_t stream, const uint8_t* data,
                size_t len, void*) {
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream));
  if (st == nullptr) return 0;
  for (size_t i = 0; i < len && st->bytes + i < 5; ++i) st->prefix[st->bytes + i] = data[i];
  st->bytes += len;
  return 0;
}

int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    auto* st = static_cast<Stream*>(
        nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (st != nullptr) callEnded(static_cast<Conn*>(user), frame->hd.stream_id, st);
  }
  return 0;
}

int onStreamClose(nghttp2_session* session, int32_t stream, uint32_t, void*) {
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream));
  if (st != nullptr) {
    nghttp2_session_set_stream_user_data(session, stream, nullptr);
    delete st;
  }
  return 0;
}

void closeConn(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  g_conns.erase(c->gen);
  nghttp2_session_del(c->session);  // closes the streams: their Stream objects are freed
  c->session = nullptr;
  g_closed.push_back(c);
}

// Writes what nghttp2 has to send; registers EPOLLOUT while the socket is full. False: closed.
bool flush(Conn* c) {
  for (;;) {
    if (c->out_off == c->out.size()) {
      c->out.clear();
      c->out_off = 0;
      while (c->out.size() < (256u << 10)) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) return false;
        if (n == 0) break;
        c->out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (c->out.empty()) break;
    }
    ssize_t w = write(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    c->out_off += static_cast<size_t>(w);
  }
  bool pending = c->out_off < c->out.size();
  if (pending != c->want_out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (pending ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = pending;
  }
  return nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session) ||
         pending;
}

void onReadable(Conn* c) {
  uint8_t buf[64 << 10];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0) {
      closeConn(c);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      closeConn(c);
      return;
    }
    if (nghttp2_session_mem_recv(c->session, buf, static_cast<size_t>(n)) < 0) {
      closeConn(c);
      return;
    }
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  if (!flush(c)) closeConn(c);
}

void accept_all(int lfd, nghttp2_session_callbacks* cbs) {
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Conn();
    c->fd = fd;
    c->gen = ++g_gen;
    nghttp2_session_server_new(&c->session, cbs, c);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1024},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 8 << 20);
    g_conns[c->gen] = c;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
    if (!flush(c)) closeConn(c);
  }
}

void onTimer() {
  uint64_t expirations;
  if (read(g_timer, &expirations, sizeof expirations) < 0) {
    // nothing: re-check the queue below
  }
  uint64_t now = nowNs();
  std::unordered_map<Conn*, bool> touched;
  while (!g_pending.empty() && g_pending.front().due_ns <= now) {
    Pending p = g_pending.front();
    g_pending.pop_front();
    auto it = g_conns.find(p.conn_gen);
    if (it == g_conns.end()) continue;  // the connection is gone
    answerOk(it->second->session, p.stream);
    touched[it->second] = true;
  }
  for (auto& [c, _] : touched) {
    if (!flush(c)) closeConn(c);
  }
  armTimer();
}

int usage(const char* why) {
  std::fprintf(stderr,
               "grpc_upstream: %s\nusage: grpc_upstream --listen HOST:PORT [--reply-bytes N] "
               "[--delay-us N]\n",
               why);
  return 2;
}

bool parseNumber(const char* s, long max, long* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen_addr;
  long reply_bytes = 16;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    if (a == "--listen") {
      listen_addr = argv[++i];
    } else if (a == "--reply-bytes") {
      if (!parseNumber(argv[++i], 16000, &reply_bytes)) return usage("bad --reply-bytes (0..16000)");
    } else if (a == "--delay-us") {
      if (!parseNumber(argv[++i], 10'000'000, &g_delay_us)) return usage("bad --delay-us");
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  size_t colon = listen_addr.rfind(':');
  long port = 0;
  if (colon == std::string::npos || !parseNumber(listen_addr.c_str() + colon + 1, 65535, &port)) {
    return usage("--listen HOST:PORT is required (an IPv4 address)");
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, listen_addr.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    return usage("--listen needs an IPv4 address, e.g. 127.0.0.1:50051");
  }

  // The reply: protobuf field 1 (bytes) of reply_bytes - 2 'x' for short replies, else raw bytes.
  std::string payload;
  if (reply_bytes >= 2 && reply_bytes - 2 < 128) {
    payload.push_back(0x0a);
    payload.push_back(static_cast<char>(reply_bytes - 2));
    payload.append(static_cast<size_t>(reply_bytes - 2), 'x');
  } else {
    payload.assign(static_cast<size_t>(reply_bytes), 'x');
  }
  uint32_t n = static_cast<uint32_t>(payload.size());
  g_reply.push_back('\0');
  g_reply.push_back(static_cast<char>(n >> 24));
  g_reply.push_back(static_cast<char>(n >> 16));
  g_reply.push_back(static_cast<char>(n >> 8));
  g_reply.push_back(static_cast<char>(n));
  g_reply += payload;

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(lfd, 1024) != 0) {
    std::fprintf(stderr, "grpc_upstream: listen %s: %s\n", listen_addr.c_str(), strerror(errno));
    return 1;
  }
  socklen_t sl = sizeof sa;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &sl);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGUSR1);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  g_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);

  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);

  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  // Tags for the non-connection descriptors (connections carry their Conn*).
  static int kListen, kSignal, kTimer;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &kListen;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &kSignal;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, sfd, &ev);
  ev.data.ptr = &kTimer;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_timer, &ev);

  std::printf("grpc_upstream listening on port %u\n", static_cast<unsigned>(ntohs(sa.sin_port)));
  std::fflush(stdout);

  epoll_event events[256];
  for (;;) {
    int k = epoll_wait(g_epoll, events, 256, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < k; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &kListen) {
        accept_all(lfd, cbs);
      } else if (tag == &kSignal) {
        signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
          if (si.ssi_signo == SIGUSR1) {
            std::printf("answered %llu\n", static_cast<unsigned long long>(g_answered));
            std::fflush(stdout);
          } else {
            return 0;
          }
        }
      } else if (tag == &kTimer) {
        onTimer();
      } else {
        auto* c = static_cast<Conn*>(tag);
        const uint32_t e = events[i].events;
        if (!c->dead && (e & EPOLLIN)) onReadable(c);
        if (!c->dead && (e & EPOLLOUT) && !flush(c)) closeConn(c);
        if (!c->dead && (e & (EPOLLERR | EPOLLHUP))) closeConn(c);
      }
    }
    for (Conn* c : g_closed) delete c;
    g_closed.clear();
  }
  return 0;
}
