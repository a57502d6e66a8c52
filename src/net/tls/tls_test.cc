// net/tls over real loopback TCP connections, both ends non-blocking and driven by poll() as an
// epoll loop would: versions, ALPN, refused protocols and ciphers, client certificates, reload,
// load errors and hostile bytes. Certificates are made at test time (test_certs.h).
#include "net/tls/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "net/tls/test_certs.h"

namespace surge::tls {
namespace {

// A peer that closes first must not kill the test with SIGPIPE (the gateway ignores it too).
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

void setNonBlocking(int fd) { ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)); }

// A connected loopback TCP pair, both non-blocking: {client, server}.
struct TcpPair {
  int client = -1;
  int server = -1;
  TcpPair() {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::abort();
    }
    client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    server = accept(l, nullptr, nullptr);
    if (server < 0) std::abort();
    close(l);
    setNonBlocking(client);
    setNonBlocking(server);
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~TcpPair() {
    if (client >= 0) close(client);
    if (server >= 0) close(server);
  }
};

bool terminal(Io io) { return io == Io::kOk || io == Io::kError || io == Io::kEof; }

short eventsFor(Io io) {
  return io == Io::kWantWrite ? POLLOUT : io == Io::kWantRead ? POLLIN : 0;
}

struct HandshakeResult {
  Io server = Io::kWantRead;
  Io client = Io::kWantWrite;
};

// Drives both handshakes to an end (kOk or kError on each side) as an event loop would: call,
// then wait for the readiness asked for. When the server fails, the client is also given the
// chance to read the alert. Bounded at 5 s.
HandshakeResult drive(Conn& server, TcpPair& fds, Conn& client) {
  HandshakeResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!terminal(r.server)) r.server = server.handshake();
    if (!terminal(r.client)) r.client = client.handshake();
    if (terminal(r.server) && terminal(r.client)) break;
    // TLS 1.3: the client is done before the server has checked its certificate; one read on
    // the client side makes it see the server's alert, if any.
    if (r.client == Io::kOk && terminal(r.server)) break;
    pollfd p[2] = {{fds.server, eventsFor(r.server), 0}, {fds.client, eventsFor(r.client), 0}};
    poll(p, 2, 20);
  }
  return r;
}

// Sends data[already_sent..] from one side while the other reads, both non-blocking; returns
// what the reader got (stops at data.size() bytes, kEof/kError or 5 s).
std::string pump(Conn& from, Conn& to, const std::string& data, int from_fd, int to_fd,
                 size_t already_sent = 0) {
  std::string got;
  size_t sent = already_sent;
  char buf[16384];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < data.size() && std::chrono::steady_clock::now() < deadline) {
    Io wio = Io::kOk;
    while (sent < data.size()) {
      size_t n = from.write(data.data() + sent, data.size() - sent, &wio);
      if (n == 0) break;
      sent += n;
    }
    if (wio == Io::kError) {
      ADD_FAILURE() << "write: " << from.lastError();
      break;
    }
    Io rio = Io::kOk;
    for (;;) {
      size_t n = to.read(buf, sizeof buf, &rio);
      if (n == 0) break;
      got.append(buf, n);
    }
    if (rio == Io::kError || rio == Io::kEof) {
      ADD_FAILURE() << "read: " << ioName(rio) << " " << to.lastError();
      break;
    }
    pollfd p[2] = {{to_fd, POLLIN, 0}, {from_fd, sent < data.size() ? short(POLLOUT) : short(0), 0}};
    poll(p, 2, 20);
  }
  return got;
}

std::string readAllFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("surge_tls_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    auto pki = testing::makeTestPki(dir_);
    ASSERT_TRUE(pki.isOk()) << pki.status().toString();
    pki_ = *pki;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerTlsOptions serverOptions() const {
    ServerTlsOptions o;
    o.cert_file = pki_.server_cert;
    o.key_file = pki_.server_key;
    return o;
  }
  std::shared_ptr<ServerContext> server(const ServerTlsOptions& o) {
    auto ctx = ServerContext::load(o);
    EXPECT_TRUE(ctx.isOk()) << ctx.status().toString();
    return ctx.isOk() ? *ctx : nullptr;
  }
  std::shared_ptr<ServerContext> server() { return server(serverOptions()); }

  // A client trusting the test CA; alpn offered as given.
  ClientTlsOptions clientOptions(std::vector<std::string> alpn = {"h2", "http/1.1"}) const {
    ClientTlsOptions o;
    o.ca_file = pki_.ca_cert;
    o.alpn = std::move(alpn);
    return o;
  }
  std::shared_ptr<ClientContext> client(const ClientTlsOptions& o) {
    auto ctx = ClientContext::load(o);
    EXPECT_TRUE(ctx.isOk()) << ctx.status().toString();
    return ctx.isOk() ? *ctx : nullptr;
  }
  std::shared_ptr<ClientContext> client() { return client(clientOptions()); }

  std::string dir_;
  testing::TestPki pki_;
};

TEST_F(TlsTest, Tls13HandshakeAlpnH2AndDataBothWaysThenCloseNotify) {
  TcpPair fds;
  Conn s(server(), fds.server);
  Conn c(client(), fds.client, "127.0.0.1");
  EXPECT_FALSE(s.handshakeDone());
  auto r = drive(s, fds, c);
  ASSERT_EQ(r.server, Io::kOk) << s.lastError();
  ASSERT_EQ(r.client, Io::kOk) << c.lastError();
  EXPECT_TRUE(s.handshakeDone());
  EXPECT_EQ(s.version(), "TLSv1.3");
  EXPECT_EQ(c.version(), "TLSv1.3");
  EXPECT_EQ(s.alpn(), "h2");
  EXPECT_EQ(c.alpn(), "h2");
  EXPECT_EQ(s.peerSubject(), "");  // no client certificate requested
  EXPECT_NE(c.peerSubject().find("CN=surge-test-server"), std::string::npos) << c.peerSubject();

  std::string request(300000, '\0');
  for (size_t i = 0; i < request.size(); ++i) request[i] = static_cast<char>(i * 131 + 7);
  EXPECT_EQ(pump(c, s, request, fds.client, fds.server), request);
  std::string response = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
  EXPECT_EQ(pump(s, c, response, fds.server, fds.client), response);

  // close_notify → the other side reads kEof with no error.
  c.shutdown();
  char buf[64];
  Io io = Io::kOk;
  for (int i = 0; i < 250 && io != Io::kEof && io != Io::kError; ++i) {
    EXPECT_EQ(s.read(buf, sizeof buf, &io), 0u);
    if (io == Io::kWantRead) poll(nullptr, 0, 20);
  }
  EXPECT_EQ(io, Io::kEof) << s.lastError();
  EXPECT_EQ(s.lastError(), "");
}

TEST_F(TlsTest, Tls12HandshakeUsesAnEcdheAeadCipher) {
  TcpPair fds;
  auto cctx = client();
  SSL_CTX_set_max_proto_version(cctx->native(), TLS1_2_VERSION);
  Conn s(server(), fds.server);
  Conn c(cctx, fds.client, "localhost");
  auto r = drive(s, fds, c);
  ASSERT_EQ(r.server, Io::kOk) << s.lastError();
  ASSERT_EQ(r.client, Io::kOk) << c.lastError();
  EXPECT_EQ(s.version(), "TLSv1.2");
  EXPECT_EQ(s.cipher().substr(0, 6), "ECDHE-") << s.cipher();
  EXPECT_NE(s.cipher().find("GCM"), std::string_view::npos) << s.cipher();
  EXPECT_EQ(s.alpn(), "h2");
  std::string msg = "hello over 1.2";
  EXPECT_EQ(pump(s, c, msg, fds.server, fds.client), msg);
}

TEST_F(TlsTest, AlpnFollowsServerPreferenceAndNoOverlapIsNotAFailure) {
  struct Case {
    std::vector<std::string> server, client;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"h2", "http/1.1"}, {"http/1.1"}, "http/1.1"},
      {{"h2", "http/1.1"}, {"http/1.1", "h2"}, "h2"},  // server order wins
      {{"http/1.1", "h2"}, {"h2", "http/1.1"}, "http/1.1"},
      {{"h2", "http/1.1"}, {"spdy/3", "acme-tls/1"}, ""},  // none of ours: no ALPN, still OK
      {{"h2", "http/1.1"}, {}, ""},                        // client sends no ALPN at all
      {{}, {"h2"}, ""},                                    // server has no ALPN configured
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(::testing::PrintToString(k.client));
    ServerTlsOptions so = serverOptions();
    so.alpn = k.server;
    TcpPair fds;
    Conn s(server(so), fds.server);
    Conn c(client(clientOptions(k.client)), fds.client, "localhost");
    auto r = drive(s, fds, c);
    ASSERT_EQ(r.server, Io::kOk) << s.lastError();
    ASSERT_EQ(r.client, Io::kOk) << c.lastError();
    EXPECT_EQ(s.alpn(), k.want);
    EXPECT_EQ(c.alpn(), k.want);
  }
}

// A client that may offer the old protocols (security level 0, as an old client would).
std::shared_ptr<ClientContext> oldClient(std::shared_ptr<ClientContext> ctx, int min, int max,
                                         const char* ciphers) {
  SSL_CTX_set_security_level(ctx->native(), 0);
  SSL_CTX_set_min_proto_version(ctx->native(), min);
  SSL_CTX_set_max_proto_version(ctx->native(), max);
  if (ciphers != nullptr) {
    EXPECT_EQ(1, SSL_CTX_set_cipher_list(ctx->native(), ciphers));
  }
  return ctx;
}

TEST_F(TlsTest, Tls10And11AreRefused) {
  for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
    SCOPED_TRACE(v);
    TcpPair fds;
    Conn s(server(), fds.server);
    Conn c(oldClient(client(), v, v, "DEFAULT:@SECLEVEL=0"), fds.client, "localhost");
    auto r = drive(s, fds, c);
    EXPECT_EQ(r.server, Io::kError);
    EXPECT_NE(s.lastError().find("unsupported protocol"), std::string::npos) << s.lastError();
    EXPECT_EQ(r.client, Io::kError);
    EXPECT_FALSE(s.handshakeDone());
  }
}

TEST_F(TlsTest, MinVersion13RefusesTls12) {
  ServerTlsOptions so = serverOptions();
  so.min_version = "1.3";
  TcpPair fds;
  auto cctx = client();
  SSL_CTX_set_max_proto_version(cctx->native(), TLS1_2_VERSION);
  Conn s(server(so), fds.server);
  Conn c(cctx, fds.client, "localhost");
  auto r = drive(s, fds, c);
  EXPECT_EQ(r.server, Io::kError);
  EXPECT_NE(s.lastError().find("unsupported protocol"), std::string::npos) << s.lastError();
}

TEST_F(TlsTest, WeakCipherIsRefusedByDefaultAndAcceptedOnlyWhenConfigured) {
  // CBC + SHA-1 MAC with ECDHE: offered by OpenSSL's DEFAULT, not in ours (AEAD only).
  const char* weak = "ECDHE-ECDSA-AES128-SHA";
  {
    TcpPair fds;
    Conn s(server(), fds.server);
    Conn c(oldClient(client(), TLS1_2_VERSION, TLS1_2_VERSION, weak), fds.client, "localhost");
    auto r = drive(s, fds, c);
    EXPECT_EQ(r.server, Io::kError);
    EXPECT_NE(s.lastError().find("no shared cipher"), std::string::npos) << s.lastError();
    EXPECT_EQ(r.client, Io::kError);
  }
  {
    // The same client is served when the operator lists that cipher: the refusal above is our
    // default's doing, not the client's.
    ServerTlsOptions so = serverOptions();
    so.ciphers = weak;
    TcpPair fds;
    Conn s(server(so), fds.server);
    Conn c(oldClient(client(), TLS1_2_VERSION, TLS1_2_VERSION, weak), fds.client, "localhost");
    auto r = drive(s, fds, c);
    EXPECT_EQ(r.server, Io::kOk) << s.lastError();
    EXPECT_EQ(s.cipher(), weak);
  }
}

// mTLS: one handshake with the given client certificate (or none); returns the server Conn's
// result and keeps the Conns for inspection.
struct MtlsRun {
  std::unique_ptr<TcpPair> fds = std::make_unique<TcpPair>();
  std::unique_ptr<Conn> s, c;
  HandshakeResult r;
  Io client_read = Io::kOk;
};

class MtlsTest : public TlsTest {
 protected:
  MtlsRun run(bool require, const std::string& cert, const std::string& key, int max_version) {
    ServerTlsOptions so = serverOptions();
    so.client_ca_file = pki_.ca_cert;
    so.require_client_cert = require;
    ClientTlsOptions co = clientOptions();
    co.cert_file = cert;
    co.key_file = key;
    auto cctx = client(co);
    SSL_CTX_set_max_proto_version(cctx->native(), max_version);
    MtlsRun m;
    m.s = std::make_unique<Conn>(server(so), m.fds->server);
    m.c = std::make_unique<Conn>(cctx, m.fds->client, "localhost");
    m.r = drive(*m.s, *m.fds, *m.c);
    if (m.r.server == Io::kOk) {
      Io w;
      EXPECT_EQ(m.s->write("ok", 2, &w), 2u);
    }
    if (m.r.client == Io::kOk) {
      // TLS 1.3 clients finish first: a refused certificate shows up as the server's alert on
      // the next read, an accepted one as the server's "ok".
      char buf[16];
      for (int i = 0; i < 200; ++i) {
        if (m.c->read(buf, sizeof buf, &m.client_read) > 0 || m.client_read != Io::kWantRead) break;
        poll(nullptr, 0, 10);
      }
    }
    return m;
  }
};

TEST_F(MtlsTest, RequiredClientCertificate) {
  for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(v);
    {
      MtlsRun m = run(true, "", "", v);
      EXPECT_EQ(m.r.server, Io::kError);
      EXPECT_NE(m.s->lastError().find("peer did not return a certificate"), std::string::npos)
          << m.s->lastError();
      EXPECT_TRUE(m.r.client == Io::kError || m.client_read == Io::kError);
    }
    {
      MtlsRun m = run(true, pki_.other_cert, pki_.other_key, v);  // signed by an untrusted CA
      EXPECT_EQ(m.r.server, Io::kError);
      EXPECT_NE(m.s->lastError().find("certificate verify failed"), std::string::npos)
          << m.s->lastError();
      EXPECT_NE(m.s->lastError().find("unable to get local issuer certificate"),
                std::string::npos)
          << m.s->lastError();
      EXPECT_EQ(m.s->peerSubject(), "");
    }
    {
      MtlsRun m = run(true, pki_.client_cert, pki_.client_key, v);
      ASSERT_EQ(m.r.server, Io::kOk) << m.s->lastError();
      EXPECT_EQ(m.client_read, Io::kOk) << m.c->lastError();
      EXPECT_EQ(m.s->peerSubject(), "CN=surge-test-client,O=surge tests");
    }
  }
}

TEST_F(MtlsTest, ClientCertificateWithoutClientAuthUsageIsRefused) {
  // Signed by the trusted CA, but its extended key usage says server only (e.g. the server's
  // own certificate reused as a client's): refused, with the reason.
  MtlsRun m = run(true, pki_.server_cert, pki_.server_key, TLS1_3_VERSION);
  EXPECT_EQ(m.r.server, Io::kError);
  EXPECT_NE(m.s->lastError().find("unsuitable certificate purpose"), std::string::npos)
      << m.s->lastError();
}

TEST_F(MtlsTest, OptionalClientCertificate) {
  MtlsRun none = run(false, "", "", TLS1_3_VERSION);
  ASSERT_EQ(none.r.server, Io::kOk) << none.s->lastError();
  EXPECT_EQ(none.s->peerSubject(), "");
  MtlsRun good = run(false, pki_.client_cert, pki_.client_key, TLS1_3_VERSION);
  ASSERT_EQ(good.r.server, Io::kOk) << good.s->lastError();
  EXPECT_NE(good.s->peerSubject().find("CN=surge-test-client"), std::string::npos);
  // A certificate that is presented is verified even when not required.
  MtlsRun bad = run(false, pki_.other_cert, pki_.other_key, TLS1_3_VERSION);
  EXPECT_EQ(bad.r.server, Io::kError);
  EXPECT_NE(bad.s->lastError().find("certificate verify failed"), std::string::npos);
}

TEST_F(TlsTest, ClientVerifiesTheServerChainExpiryAndName) {
  struct Case {
    std::string cert, key, sni, error;  // error "" = success
  };
  const std::vector<Case> cases = {
      {pki_.server_cert, pki_.server_key, "localhost", ""},
      {pki_.server_cert, pki_.server_key, "127.0.0.1", ""},
      {pki_.server_cert, pki_.server_key, "example.com", "hostname mismatch"},
      {pki_.server_cert, pki_.server_key, "10.0.0.1", "IP address mismatch"},
      {pki_.expired_cert, pki_.expired_key, "localhost", "certificate has expired"},
      {pki_.other_cert, pki_.other_key, "localhost", "unable to get local issuer certificate"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.cert + " " + k.sni);
    ServerTlsOptions so = serverOptions();
    so.cert_file = k.cert;
    so.key_file = k.key;
    TcpPair fds;
    Conn s(server(so), fds.server);
    Conn c(client(), fds.client, k.sni);
    auto r = drive(s, fds, c);
    if (k.error.empty()) {
      EXPECT_EQ(r.client, Io::kOk) << c.lastError();
    } else {
      EXPECT_EQ(r.client, Io::kError);
      EXPECT_NE(c.lastError().find("certificate verify failed: " + k.error), std::string::npos)
          << c.lastError();
      EXPECT_EQ(r.server, Io::kError);  // the client's alert
    }
  }
  // Without verification the same untrusted server is accepted (and its subject not reported).
  ClientTlsOptions co = clientOptions();
  co.verify = false;
  ServerTlsOptions so = serverOptions();
  so.cert_file = pki_.other_cert;
  so.key_file = pki_.other_key;
  TcpPair fds;
  Conn s(server(so), fds.server);
  Conn c(client(co), fds.client, "");
  auto r = drive(s, fds, c);
  EXPECT_EQ(r.client, Io::kOk) << c.lastError();
  EXPECT_EQ(c.peerSubject(), "");
  // Verification with no name to check is refused before any byte is sent.
  TcpPair fds2;
  Conn c2(client(), fds2.client, "");
  EXPECT_EQ(c2.handshake(), Io::kError);
  EXPECT_NE(c2.lastError().find("sni"), std::string::npos);
}

TEST_F(TlsTest, ReloadSwapsCertificateForNewConnectionsOnly) {
  ServerContextHolder holder(serverOptions());
  EXPECT_EQ(holder.current(), nullptr);
  ASSERT_TRUE(holder.load().isOk());
  auto first = holder.current();
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first->certificateSummary().find("CN=surge-test-server"), std::string::npos)
      << first->certificateSummary();

  TcpPair old_fds;
  Conn old_s(holder.current(), old_fds.server);
  Conn old_c(client(), old_fds.client, "localhost");
  auto r = drive(old_s, old_fds, old_c);
  ASSERT_EQ(r.server, Io::kOk) << old_s.lastError();
  EXPECT_NE(old_c.peerSubject().find("CN=surge-test-server,"), std::string::npos);

  // New certificate and key in the same files.
  auto ca_pem_holder = testing::TestCa::create("surge test CA 2");
  ASSERT_TRUE(ca_pem_holder.isOk());
  testing::LeafSpec spec;
  spec.common_name = "surge-test-server-renewed";
  spec.dns = {"localhost"};
  auto renewed = ca_pem_holder->issue(spec);
  ASSERT_TRUE(renewed.isOk());
  ASSERT_TRUE(testing::writeFile(pki_.server_cert, renewed->cert).isOk());
  ASSERT_TRUE(testing::writeFile(pki_.server_key, renewed->key).isOk());
  ASSERT_TRUE(testing::writeFile(pki_.ca_cert, ca_pem_holder->pem().cert).isOk());
  Status st = holder.reload();
  ASSERT_TRUE(st.isOk()) << st.toString();
  EXPECT_NE(holder.current(), first);
  EXPECT_NE(holder.current()->certificateSummary().find("CN=surge-test-server-renewed"),
            std::string::npos);

  TcpPair new_fds;
  Conn new_s(holder.current(), new_fds.server);
  Conn new_c(client(), new_fds.client, "localhost");  // trusts the new CA only
  r = drive(new_s, new_fds, new_c);
  ASSERT_EQ(r.server, Io::kOk) << new_s.lastError();
  ASSERT_EQ(r.client, Io::kOk) << new_c.lastError();
  EXPECT_NE(new_c.peerSubject().find("CN=surge-test-server-renewed"), std::string::npos);

  // The connection made before the reload still works, both ways, on its old context.
  first.reset();
  EXPECT_EQ(pump(old_c, old_s, "still here", old_fds.client, old_fds.server), "still here");
  EXPECT_EQ(pump(old_s, old_c, "and back", old_fds.server, old_fds.client), "and back");
}

TEST_F(TlsTest, ReloadWithBrokenKeyKeepsTheOldContext) {
  ServerContextHolder holder(serverOptions());
  ASSERT_TRUE(holder.load().isOk());
  auto before = holder.current();

  ASSERT_TRUE(testing::writeFile(pki_.server_key, "-----BEGIN PRIVATE KEY-----\nnope\n").isOk());
  Status st = holder.reload();
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("tls: key file " + pki_.server_key + ": "), std::string::npos)
      << st.message();
  EXPECT_EQ(holder.current(), before);

  // A key of another certificate: named as a mismatch.
  ASSERT_TRUE(testing::writeFile(pki_.server_key, readAllFile(pki_.client_key)).isOk());
  st = holder.reload();
  EXPECT_EQ(st.message(), "tls: key file " + pki_.server_key +
                              ": does not match the certificate " + pki_.server_cert);
  EXPECT_EQ(holder.current(), before);

  // New connections are still served with the old context.
  TcpPair fds;
  Conn s(holder.current(), fds.server);
  Conn c(client(), fds.client, "localhost");
  auto r = drive(s, fds, c);
  EXPECT_EQ(r.server, Io::kOk) << s.lastError();
  EXPECT_EQ(r.client, Io::kOk) << c.lastError();
}

TEST_F(TlsTest, LoadErrorsNameTheFileAndTheReason) {
  auto err = [](const ServerTlsOptions& o) {
    auto ctx = ServerContext::load(o);
    return ctx.isOk() ? std::string("loaded") : ctx.status().message();
  };
  ServerTlsOptions o = serverOptions();
  o.cert_file = dir_ + "/missing.pem";
  EXPECT_EQ(err(o), "tls: certificate file " + dir_ + "/missing.pem: No such file or directory");

  o = serverOptions();
  const std::string garbage = dir_ + "/garbage.pem";
  ASSERT_TRUE(testing::writeFile(garbage, "hello, I am not a certificate\n").isOk());
  o.cert_file = garbage;
  EXPECT_EQ(err(o), "tls: certificate file " + garbage + ": no PEM certificate found");

  o = serverOptions();
  const std::string truncated = dir_ + "/truncated.pem";
  std::string pem = readAllFile(pki_.server_cert);
  ASSERT_TRUE(testing::writeFile(truncated, pem.substr(0, pem.size() / 2)).isOk());
  o.cert_file = truncated;
  EXPECT_NE(err(o).find("tls: certificate file " + truncated + ": "), std::string::npos);
  EXPECT_NE(err(o), "loaded");

  o = serverOptions();
  o.key_file = dir_ + "/nokey.pem";
  EXPECT_EQ(err(o), "tls: key file " + dir_ + "/nokey.pem: No such file or directory");

  o = serverOptions();
  o.key_file = pki_.server_cert;  // a certificate where the key should be
  EXPECT_EQ(err(o), "tls: key file " + pki_.server_cert + ": no PEM private key found");

  o = serverOptions();
  o.key_file = pki_.other_key;
  EXPECT_EQ(err(o), "tls: key file " + pki_.other_key + ": does not match the certificate " +
                        pki_.server_cert);

  {  // An encrypted key: refused, never a passphrase prompt.
    BIO* in = BIO_new_file(pki_.server_key.c_str(), "r");
    EVP_PKEY* k = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    ASSERT_NE(k, nullptr);
    const std::string enc = dir_ + "/encrypted.key";
    BIO* out = BIO_new_file(enc.c_str(), "w");
    char pass[] = "secret";
    ASSERT_EQ(1, PEM_write_bio_PrivateKey(out, k, EVP_aes_128_cbc(), nullptr, 0, nullptr, pass));
    BIO_free(out);
    EVP_PKEY_free(k);
    o = serverOptions();
    o.key_file = enc;
    EXPECT_EQ(err(o), "tls: key file " + enc + ": encrypted private keys are not supported");
  }

  o = serverOptions();
  o.client_ca_file = garbage;
  EXPECT_EQ(err(o), "tls: client CA file " + garbage + ": no PEM certificate found");

  o = serverOptions();
  o.require_client_cert = true;
  EXPECT_EQ(err(o), "tls: require_client_cert needs client_ca_file");

  o = serverOptions();
  o.min_version = "1.1";
  EXPECT_EQ(err(o), "tls: min_version \"1.1\": must be \"1.2\" or \"1.3\"");

  o = serverOptions();
  o.ciphers = "RC4-NOPE";
  EXPECT_NE(err(o).find("tls: ciphers \"RC4-NOPE\""), std::string::npos) << err(o);

  o = serverOptions();
  o.ciphersuites = "TLS_NOT_A_SUITE";
  EXPECT_NE(err(o).find("tls: ciphersuites \"TLS_NOT_A_SUITE\""), std::string::npos);

  o = serverOptions();
  o.alpn = {"h2", ""};
  EXPECT_EQ(err(o), "tls: alpn protocol \"\": must be 1 to 255 bytes");

  o = serverOptions();
  o.cert_file = pki_.expired_cert;
  o.key_file = pki_.expired_key;
  auto expired = ServerContext::load(o);  // loads (as nginx does) but says so
  ASSERT_TRUE(expired.isOk());
  EXPECT_NE((*expired)->certificateSummary().find("EXPIRED"), std::string::npos);
  EXPECT_EQ(server()->certificateSummary().find("EXPIRED"), std::string::npos);
}

TEST_F(TlsTest, CertificateChainFileServesIntermediates) {
  // Leaf + intermediate in one file; the client trusts only the root.
  auto root = testing::TestCa::create("surge root");
  ASSERT_TRUE(root.isOk());
  // An intermediate is a CA leaf; TestCa cannot be signed by another, so serve leaf + root as
  // the chain and check the extra certificate is sent (the client sees two certificates).
  testing::LeafSpec spec;
  spec.dns = {"localhost"};
  auto leaf = root->issue(spec);
  ASSERT_TRUE(leaf.isOk());
  const std::string chain = dir_ + "/chain.pem";
  const std::string key = dir_ + "/chain.key";
  const std::string root_file = dir_ + "/root.pem";
  ASSERT_TRUE(testing::writeFile(chain, leaf->cert + root->pem().cert).isOk());
  ASSERT_TRUE(testing::writeFile(key, leaf->key).isOk());
  ASSERT_TRUE(testing::writeFile(root_file, root->pem().cert).isOk());
  ServerTlsOptions so = serverOptions();
  so.cert_file = chain;
  so.key_file = key;
  ClientTlsOptions co = clientOptions();
  co.ca_file = root_file;
  TcpPair fds;
  Conn s(server(so), fds.server);
  Conn c(client(co), fds.client, "localhost");
  auto r = drive(s, fds, c);
  ASSERT_EQ(r.client, Io::kOk) << c.lastError();
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(c.native());
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sk_X509_num(sent), 2);
}

TEST_F(TlsTest, PlainHttpAndGarbageAreErrorsNotCrashes) {
  const std::vector<std::string> inputs = {
      "GET / HTTP/1.1\r\nHost: example\r\n\r\n",
      "POST /v2/models/mlp/infer HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
      std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10),  // a ClientHello too short
      std::string(4096, '\xff'),
      std::string("\x16\x03\x01\xff\xff", 5) + std::string(70000, 'A'),  // record too long
  };
  for (const auto& in : inputs) {
    SCOPED_TRACE(in.substr(0, 20));
    TcpPair fds;
    Conn s(server(), fds.server);
    ASSERT_EQ(::send(fds.client, in.data(), in.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(in.size()));
    ::shutdown(fds.client, SHUT_WR);
    Io io = Io::kWantRead;
    for (int i = 0; i < 250 && io == Io::kWantRead; ++i) {
      io = s.handshake();
      if (io == Io::kWantRead) poll(nullptr, 0, 10);
    }
    EXPECT_EQ(io, Io::kError);
    EXPECT_FALSE(s.lastError().empty());
    if (in.rfind("GET ", 0) == 0 || in.rfind("POST ", 0) == 0) {
      EXPECT_NE(s.lastError().find("plain HTTP"), std::string::npos) << s.lastError();
    }
    // Everything after an error answers kError and nothing else; shutdown() is a no-op.
    char buf[8];
    EXPECT_EQ(s.read(buf, sizeof buf, &io), 0u);
    EXPECT_EQ(io, Io::kError);
    EXPECT_EQ(s.write("x", 1, &io), 0u);
    EXPECT_EQ(io, Io::kError);
    s.shutdown();
  }
  // A peer that connects and closes at once.
  TcpPair fds;
  Conn s(server(), fds.server);
  ::close(fds.client);
  fds.client = -1;
  Io io = Io::kWantRead;
  for (int i = 0; i < 250 && io == Io::kWantRead; ++i) {
    io = s.handshake();
    if (io == Io::kWantRead) poll(nullptr, 0, 10);
  }
  EXPECT_EQ(io, Io::kError);
  EXPECT_EQ(s.lastError(), "peer closed the connection during the handshake");
}

TEST_F(TlsTest, ConnWithoutAContextIsAnErrorNotACrash) {
  TcpPair fds;
  Conn s(std::shared_ptr<ServerContext>(), fds.server);  // e.g. a holder before load()
  EXPECT_EQ(s.handshake(), Io::kError);
  EXPECT_EQ(s.lastError(), "no TLS context loaded");
  Io io;
  char buf[4];
  EXPECT_EQ(s.read(buf, sizeof buf, &io), 0u);
  EXPECT_EQ(io, Io::kError);
  EXPECT_EQ(s.alpn(), "");
  EXPECT_EQ(s.pending(), 0u);
  s.shutdown();
}

TEST_F(TlsTest, PendingBytesAreReadableWithoutANewEvent) {
  TcpPair fds;
  Conn s(server(), fds.server);
  Conn c(client(), fds.client, "localhost");
  auto r = drive(s, fds, c);
  ASSERT_EQ(r.server, Io::kOk);
  const std::string msg(1000, 'p');
  Io io;
  ASSERT_EQ(c.write(msg.data(), msg.size(), &io), msg.size());
  char buf[100];
  size_t n = 0;
  for (int i = 0; i < 250 && n == 0; ++i) {
    n = s.read(buf, sizeof buf, &io);
    if (n == 0) poll(nullptr, 0, 10);
  }
  ASSERT_EQ(n, sizeof buf);
  // The rest of the record is decrypted and held by OpenSSL: the socket has nothing left to
  // announce, so an edge-triggered loop must drain it on the strength of pending().
  EXPECT_EQ(s.pending(), msg.size() - sizeof buf);
  pollfd p{fds.server, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  size_t total = n;
  while ((n = s.read(buf, sizeof buf, &io)) > 0) total += n;
  EXPECT_EQ(total, msg.size());
  EXPECT_EQ(io, Io::kWantRead);
  EXPECT_EQ(s.pending(), 0u);
}

TEST_F(TlsTest, PartialWritesAndWantWriteUnderBackpressure) {
  TcpPair fds;
  Conn s(server(), fds.server);
  Conn c(client(), fds.client, "localhost");
  auto r = drive(s, fds, c);
  ASSERT_EQ(r.server, Io::kOk);
  std::string big(16 << 20, '\0');  // more than loopback's socket buffers hold
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7) ^ (i >> 9));
  // Without a reader the server's writes stop at kWantWrite with part of the data taken.
  size_t sent = 0;
  Io io = Io::kOk;
  for (;;) {
    size_t n = s.write(big.data() + sent, big.size() - sent, &io);
    if (n == 0) break;
    sent += n;
  }
  EXPECT_EQ(io, Io::kWantWrite);
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, big.size());
  // Resuming from another buffer holding the same bytes (ACCEPT_MOVING_WRITE_BUFFER) completes.
  const std::string copy = big;
  std::string got = pump(s, c, copy, fds.server, fds.client, sent);
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big);
}

}  // namespace
}  // namespace surge::tls
