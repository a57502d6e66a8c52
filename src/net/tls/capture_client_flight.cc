// Writes real client flights, as OpenSSL's client sends them, into a directory: the seed corpus of
// fuzz/tls_server_handshake_fuzz.cc (fuzz/corpus/tls_server_handshake/). A client Conn and a
// server Conn handshake through a relay that records what the client sends.
// Usage: build/src/net/tls/capture_client_flight DIR   (target not built by default)
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "net/tls/test_certs.h"
#include "net/tls/tls.h"

namespace {

using surge::tls::Conn;
using surge::tls::Io;

void die(const std::string& why) {
  std::fprintf(stderr, "capture_client_flight: %s\n", why.c_str());
  std::exit(1);
}

// Moves what is readable on from to to; returns the bytes moved.
std::string relay(int from, int to) {
  std::string moved;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    moved.append(buf, static_cast<size_t>(n));
    if (send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) die("relay send");
  }
  return moved;
}

// Handshakes client and server through a relay; returns the client's bytes: only its first
// flight when first_only, else all it sent until its handshake ended.
std::string capture(std::shared_ptr<surge::tls::ClientContext> cctx, const std::string& sni,
                    std::shared_ptr<surge::tls::ServerContext> sctx, bool first_only) {
  int a[2], b[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, b) != 0) {
    die("socketpair");
  }
  for (int fd : {a[0], a[1], b[0], b[1]}) fcntl(fd, F_SETFL, O_NONBLOCK);
  std::string sent;
  {
    Conn client(cctx, a[0], sni);
    Conn server(sctx, b[1]);
    Io ci = Io::kWantWrite, si = Io::kWantRead;
    for (int i = 0; i < 1000; ++i) {
      if (ci != Io::kOk && ci != Io::kError) ci = client.handshake();
      sent += relay(a[1], b[0]);
      if (first_only && !sent.empty()) break;
      if (si != Io::kOk && si != Io::kError) si = server.handshake();
      relay(b[0], a[1]);
      if ((ci == Io::kOk || ci == Io::kError) && (si == Io::kOk || si == Io::kError)) break;
      poll(nullptr, 0, 1);
    }
    if (!first_only && (ci != Io::kOk || si != Io::kOk)) {
      die("handshake failed: client " + client.lastError() + ", server " + server.lastError());
    }
  }
  for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: capture_client_flight DIR");
  const std::string out = argv[1];
  char tmpl[] = "/tmp/surge_tls_capture_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) die("mkdtemp");
  auto pki = surge::tls::testing::makeTestPki(tmpl);
  if (!pki.isOk()) die(pki.status().toString());

  surge::tls::ServerTlsOptions so;
  so.cert_file = pki->server_cert;
  so.key_file = pki->server_key;
  so.client_ca_file = pki->ca_cert;
  auto sctx = surge::tls::ServerContext::load(so);
  if (!sctx.isOk()) die(sctx.status().toString());

  auto client = [&](std::vector<std::string> alpn, bool with_cert, int max_version) {
    surge::tls::ClientTlsOptions co;
    co.ca_file = pki->ca_cert;
    co.alpn = std::move(alpn);
    if (with_cert) {
      co.cert_file = pki->client_cert;
      co.key_file = pki->client_key;
    }
    auto c = surge::tls::ClientContext::load(co);
    if (!c.isOk()) die(c.status().toString());
    if (max_version != 0) SSL_CTX_set_max_proto_version((*c)->native(), max_version);
    return *c;
  };
  auto write = [&](const std::string& name, const std::string& bytes) {
    if (bytes.empty()) die(name + ": nothing captured");
    auto st = surge::tls::testing::writeFile(out + "/" + name, bytes);
    if (!st.isOk()) die(st.toString());
    std::printf("%s: %zu bytes\n", name.c_str(), bytes.size());
  };

  write("tls13_client_hello_h2",
        capture(client({"h2", "http/1.1"}, false, 0), "localhost", *sctx, true));
  write("tls13_client_hello_http11_ip",
        capture(client({"http/1.1"}, false, 0), "127.0.0.1", *sctx, true));
  write("tls12_client_hello",
        capture(client({"h2", "http/1.1"}, false, TLS1_2_VERSION), "localhost", *sctx, true));
  // TLS 1.2 with a client certificate: ClientHello, then Certificate, ClientKeyExchange,
  // CertificateVerify, ChangeCipherSpec, Finished — the certificate reaches the server's parser.
  write("tls12_mtls_client_flights",
        capture(client({"h2"}, true, TLS1_2_VERSION), "localhost", *sctx, false));
  {
    auto old = client({}, false, TLS1_VERSION);
    SSL_CTX_set_security_level(old->native(), 0);
    SSL_CTX_set_min_proto_version(old->native(), TLS1_VERSION);
    SSL_CTX_set_cipher_list(old->native(), "DEFAULT:@SECLEVEL=0");
    write("tls10_client_hello", capture(old, "localhost", *sctx, true));
  }
  write("http_request", "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\n\r\n");
  std::filesystem::remove_all(tmpl);
  return 0;
}
