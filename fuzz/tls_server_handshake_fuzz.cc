// Fuzzes the server side of net/tls (tls::Conn over OpenSSL, docs/design/tls.md): the input is a
// client's whole first flight — a ClientHello, and with TLS 1.2 whatever the client sends blindly
// after it (Certificate, ClientKeyExchange, CertificateVerify, Finished) — written into one end
// of a socketpair whose other end a server Conn handshakes on, non-blocking, as the gateway's
// listener would. The context requests a client certificate and accepts any chain (a CA made at
// start-up could never match a committed input), so a client Certificate is parsed and the
// handshake goes on to CertificateVerify. The corpus starts from flights
// captured from OpenSSL's own client (src/net/tls/capture_client_flight.cc).
// OpenSSL is Debian's library, not built with coverage instrumentation, so libFuzzer would see
// only surge's wrapper; the harness feeds it OpenSSL's handshake states and error reasons as
// extra features (libFuzzer's extra counters), so inputs that reach new states are kept.
// Properties: no crash or sanitizer report; the handshake ends (the input's end is an EOF) in
// kError with a non-empty reason, or kOk; nothing after an error returns anything but kError.
#include <fcntl.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "net/tls/test_certs.h"
#include "net/tls/tls.h"

namespace {

std::shared_ptr<surge::tls::ServerContext> g_ctx;

// libFuzzer reads this section as extra coverage, cleared before each input (ignored by the
// replay build).
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t g_features[4096];

void feature(size_t v) {
  uint8_t& c = g_features[v % sizeof g_features];
  if (c < 255) ++c;
}

void die(const std::string& why) {
  std::fprintf(stderr, "tls_server_handshake_fuzz: %s\n", why.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/surge_tls_fuzz_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) die("mkdtemp failed");
  const std::string dir = tmpl;
  auto pki = surge::tls::testing::makeTestPki(dir);
  if (!pki.isOk()) die(pki.status().toString());
  surge::tls::ServerTlsOptions o;
  o.cert_file = pki->server_cert;
  o.key_file = pki->server_key;
  o.client_ca_file = pki->ca_cert;  // request (not require) a client certificate
  auto ctx = surge::tls::ServerContext::load(o);
  if (!ctx.isOk()) die(ctx.status().toString());
  g_ctx = *ctx;
  SSL_CTX_set_verify(g_ctx->native(), SSL_VERIFY_PEER,
                     [](int, X509_STORE_CTX*) { return 1; });  // any chain: see above
  for (const char* f : {"ca.pem", "server.pem", "server.key", "client.pem", "client.key",
                        "expired.pem", "expired.key", "other-ca.pem", "other.pem", "other.key"}) {
    unlink((dir + "/" + f).c_str());
  }
  rmdir(dir.c_str());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using surge::tls::Io;
  if (size > 65536) return 0;  // within a socketpair's buffer: one write, then EOF
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair failed");
  const int client = sv[0];
  const int server = sv[1];
  fcntl(client, F_SETFL, O_NONBLOCK);
  fcntl(server, F_SETFL, O_NONBLOCK);
  size_t off = 0;
  while (off < size) {
    ssize_t n = send(client, data + off, size - off, MSG_NOSIGNAL);
    if (n <= 0) die("socketpair buffer too small for the input");
    off += static_cast<size_t>(n);
  }
  shutdown(client, SHUT_WR);  // the flight is all there is

  {
    surge::tls::Conn conn(g_ctx, server);
    Io io = Io::kWantRead;
    char sink[16384];
    size_t prev_state = 0;
    for (int i = 0; i < 1000 && (io == Io::kWantRead || io == Io::kWantWrite); ++i) {
      io = conn.handshake();
      const size_t state = static_cast<size_t>(SSL_get_state(conn.native()));
      feature(prev_state * 7919 + state);  // each transition between handshake states
      prev_state = state;
      while (recv(client, sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }  // the server's flight: drained so it never blocks on a full buffer
    }
    if (io == Io::kWantRead || io == Io::kWantWrite) die("handshake did not end at EOF");
    if (io == Io::kError && conn.lastError().empty()) die("kError without a reason");
    feature(std::hash<std::string>()(conn.lastError()) * 31 +
            static_cast<size_t>(SSL_get_state(conn.native())));
    if (io == Io::kOk) {
      char buf[4096];
      for (int i = 0; i < 1000; ++i) {
        if (conn.read(buf, sizeof buf, &io) == 0 && io != Io::kOk) break;
      }
    } else {
      char buf[16];
      if (conn.read(buf, sizeof buf, &io) != 0 || io != Io::kError) die("read after an error");
      if (conn.write("x", 1, &io) != 0 || io != Io::kError) die("write after an error");
    }
    conn.shutdown();
  }
  close(client);
  close(server);
  return 0;
}
