// net/tls costs, both ends in one thread over a socketpair: a full handshake (client + server
// CPU together; TLS 1.3 and 1.2, ECDSA P-256 certificate, X25519), a 16 KiB application write
// read back by the peer (bytes/s), and ServerContext::load (what a reload costs).
// Run: build/src/net/tls/tls_benchmark
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "net/tls/test_certs.h"
#include "net/tls/tls.h"

namespace surge::tls {
namespace {

struct Fixture {
  testing::TestPki pki;
  std::shared_ptr<ServerContext> server;
  std::shared_ptr<ClientContext> client13, client12;
  Fixture() {
    char tmpl[] = "/tmp/surge_tls_bench_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    pki = *testing::makeTestPki(tmpl);
    ServerTlsOptions so;
    so.cert_file = pki.server_cert;
    so.key_file = pki.server_key;
    server = *ServerContext::load(so);
    ClientTlsOptions co;
    co.ca_file = pki.ca_cert;
    co.alpn = {"h2", "http/1.1"};
    client13 = *ClientContext::load(co);
    client12 = *ClientContext::load(co);
    SSL_CTX_set_max_proto_version(client12->native(), TLS1_2_VERSION);
    // Full handshakes only: no session resumption.
    SSL_CTX_set_session_cache_mode(client13->native(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_cache_mode(client12->native(), SSL_SESS_CACHE_OFF);
  }
  ~Fixture() { std::filesystem::remove_all(pki.dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

struct Pair {
  int fds[2];
  Pair() {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
  }
  ~Pair() {
    close(fds[0]);
    close(fds[1]);
  }
};

bool handshake(Conn& s, Conn& c) {
  Io si = Io::kWantRead, ci = Io::kWantWrite;
  for (int i = 0; i < 100 && (si != Io::kOk || ci != Io::kOk); ++i) {
    if (ci != Io::kOk) ci = c.handshake();
    if (si != Io::kOk) si = s.handshake();
    if (si == Io::kError || ci == Io::kError) return false;
  }
  return si == Io::kOk && ci == Io::kOk;
}

void BM_FullHandshake(benchmark::State& state, bool tls13) {
  Fixture& f = fixture();
  for (auto _ : state) {
    Pair p;
    Conn s(f.server, p.fds[0]);
    Conn c(tls13 ? f.client13 : f.client12, p.fds[1], "localhost");
    if (!handshake(s, c)) state.SkipWithError("handshake failed");
  }
}
BENCHMARK_CAPTURE(BM_FullHandshake, tls13, true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FullHandshake, tls12, false)->Unit(benchmark::kMicrosecond);

void BM_Transfer16K(benchmark::State& state) {
  Fixture& f = fixture();
  Pair p;
  Conn s(f.server, p.fds[0]);
  Conn c(f.client13, p.fds[1], "localhost");
  if (!handshake(s, c)) state.SkipWithError("handshake failed");
  std::string chunk(16384, 'x');
  char buf[16384];
  for (auto _ : state) {
    Io io;
    size_t sent = 0, got = 0;
    while (sent < chunk.size()) sent += s.write(chunk.data() + sent, chunk.size() - sent, &io);
    while (got < chunk.size()) {
      size_t n = c.read(buf, sizeof buf, &io);
      if (n == 0 && io != Io::kWantRead) state.SkipWithError("read failed");
      got += n;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 16384);
}
BENCHMARK(BM_Transfer16K);

void BM_ContextLoad(benchmark::State& state) {
  Fixture& f = fixture();
  ServerTlsOptions so;
  so.cert_file = f.pki.server_cert;
  so.key_file = f.pki.server_key;
  so.client_ca_file = f.pki.ca_cert;
  for (auto _ : state) {
    auto ctx = ServerContext::load(so);
    if (!ctx.isOk()) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_ContextLoad)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace surge::tls
