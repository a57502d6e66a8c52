// net/tls over OpenSSL 3: contexts loaded from PEM files with errors naming the file, and Conn,
// the non-blocking handshake/read/write state machine over a socket fd (docs/design/tls.md).
#include "net/tls/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <mutex>
#include <utility>

namespace surge::tls {

// Mozilla's "intermediate" TLS 1.2 list without the DHE suites (finite-field DH costs the server
// far more than ECDHE and adds nothing for today's clients): forward secrecy and AEAD only.
const char* const kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

const char* ioName(Io io) {
  switch (io) {
    case Io::kOk:
      return "ok";
    case Io::kWantRead:
      return "want-read";
    case Io::kWantWrite:
      return "want-write";
    case Io::kEof:
      return "eof";
    case Io::kError:
      return "error";
  }
  return "?";
}

namespace {

constexpr size_t kMaxPemFileBytes = 16 << 20;  // a CA bundle is ~200 KiB; more is not a PEM file

// The reason of OpenSSL's earliest queued error (the root cause; later ones are the callers'
// "failed" wrappers), with its extra data; empties the thread's queue.
std::string drainErrors() {
  std::string first;
  const char* data = nullptr;
  int flags = 0;
  unsigned long e;
  while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    if (!first.empty()) continue;
    const char* reason = ERR_reason_error_string(e);
    if (reason != nullptr) {
      first = reason;
    } else if (ERR_SYSTEM_ERROR(e)) {
      first = std::strerror(ERR_GET_REASON(e));
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      first = buf;
    }
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      first += std::string(" (") + data + ")";
    }
  }
  return first;
}

std::string orUnknown(std::string reason) {
  return reason.empty() ? std::string("unknown OpenSSL error") : reason;
}

StatusOr<std::string> readPemFile(const std::string& what, const std::string& path) {
  if (path.empty()) return invalidArgument("tls: " + what + " file not set");
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("tls: " + what + " file " + path + ": " + std::strerror(errno));
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxPemFileBytes) {
      return invalidArgument("tls: " + what + " file " + path + ": larger than 16 MiB");
    }
  }
  if (in.bad()) return invalidArgument("tls: " + what + " file " + path + ": read error");
  return data;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

BioPtr memBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// True when the error at the head of the queue is "no (more) PEM block" — the end of a chain.
bool noMorePem() {
  unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// Loads a PEM chain (leaf first) into ctx; returns the leaf.
StatusOr<X509Ptr> useCertificateChain(SSL_CTX* ctx, const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, readPemFile("certificate", path));
  BioPtr bio = memBio(pem);
  ERR_clear_error();
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    std::string reason = noMorePem() ? "no PEM certificate found" : orUnknown(drainErrors());
    ERR_clear_error();
    return invalidArgument("tls: certificate file " + path + ": " + reason);
  }
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return invalidArgument("tls: certificate file " + path + ": " + orUnknown(drainErrors()));
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (int n = 2;; ++n) {
    X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!ca) {
      if (noMorePem()) {
        ERR_clear_error();
        break;
      }
      return invalidArgument("tls: certificate file " + path + ": certificate " +
                             std::to_string(n) + ": " + orUnknown(drainErrors()));
    }
    if (SSL_CTX_add0_chain_cert(ctx, ca.get()) != 1) {
      return invalidArgument("tls: certificate file " + path + ": certificate " +
                             std::to_string(n) + ": " + orUnknown(drainErrors()));
    }
    (void)ca.release();  // owned by ctx now
  }
  return leaf;
}

// No passphrase prompt on a terminal (the default callback's behaviour): encrypted keys fail.
int noPassphrase(char*, int, int, void* encrypted) {
  *static_cast<bool*>(encrypted) = true;
  return -1;
}

Status usePrivateKey(SSL_CTX* ctx, const std::string& path, X509* leaf,
                     const std::string& cert_path) {
  ASSIGN_OR_RETURN(std::string pem, readPemFile("key", path));
  if (pem.find("PRIVATE KEY-----") == std::string::npos) {
    return invalidArgument("tls: key file " + path + ": no PEM private key found");
  }
  BioPtr bio = memBio(pem);
  ERR_clear_error();
  bool encrypted = false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, &encrypted));
  if (!key) {
    std::string reason = encrypted     ? "encrypted private keys are not supported"
                         : noMorePem() ? "no PEM private key found"
                                       : orUnknown(drainErrors());
    ERR_clear_error();
    return invalidArgument("tls: key file " + path + ": " + reason);
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return invalidArgument("tls: key file " + path + ": does not match the certificate " +
                           cert_path);
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return invalidArgument("tls: key file " + path + ": " + orUnknown(drainErrors()));
  }
  return Status::ok();
}

Status setVersionsAndCiphers(SSL_CTX* ctx, const std::string& min_version,
                             const std::string& ciphers, const std::string& ciphersuites) {
  int v;
  if (min_version == "1.2") {
    v = TLS1_2_VERSION;
  } else if (min_version == "1.3") {
    v = TLS1_3_VERSION;
  } else {
    return invalidArgument("tls: min_version \"" + min_version + "\": must be \"1.2\" or \"1.3\"");
  }
  if (SSL_CTX_set_min_proto_version(ctx, v) != 1) {
    return internalError("tls: min_version: " + orUnknown(drainErrors()));
  }
  const std::string list = ciphers.empty() ? kDefaultTls12Ciphers : ciphers;
  if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
    ERR_clear_error();
    return invalidArgument("tls: ciphers \"" + list + "\": no known TLS 1.2 cipher in the list");
  }
  if (!ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, ciphersuites.c_str()) != 1) {
    ERR_clear_error();
    return invalidArgument("tls: ciphersuites \"" + ciphersuites +
                           "\": not a list of TLS 1.3 suites (e.g. TLS_AES_128_GCM_SHA256)");
  }
  return Status::ok();
}

// ALPN protocol names → the wire format (each prefixed by its length).
StatusOr<std::string> alpnWire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return invalidArgument("tls: alpn protocol \"" + p + "\": must be 1 to 255 bytes");
    }
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

// Server preference: the first of ours the client offers; none → no ALPN (not a failure).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in,
                            inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void commonOptions(SSL_CTX* ctx) {
  // No renegotiation (a client-initiated renegotiation is a CPU-exhaustion lever), no TLS-level
  // compression (CRIME); an idle keep-alive connection holds no 34 KiB read/write buffers.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read(2) takes what the socket holds (several records) instead of a 5-byte
  // record header and then its body — half the reads per request. A driver reads until
  // kWantRead (then nothing complete is buffered), so edge-triggered epoll loses nothing.
  SSL_CTX_set_read_ahead(ctx, 1);
}

std::string nameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string timeText(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string summarize(X509* leaf) {
  std::string s = "subject " + nameText(X509_get_subject_name(leaf)) + ", issuer " +
                  nameText(X509_get_issuer_name(leaf)) + ", notAfter " +
                  timeText(X509_get0_notAfter(leaf));
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) s += ", EXPIRED";
  return s;
}

// Trusted CAs for peer verification from a PEM bundle; returns how many certificates it holds.
Status loadVerifyFile(SSL_CTX* ctx, const std::string& what, const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, readPemFile(what, path));
  BioPtr bio = memBio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  ERR_clear_error();
  for (;;) {
    X509Ptr ca(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!ca) {
      if (noMorePem()) {
        ERR_clear_error();
        break;
      }
      return invalidArgument("tls: " + what + " file " + path + ": certificate " +
                             std::to_string(count + 1) + ": " + orUnknown(drainErrors()));
    }
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      return invalidArgument("tls: " + what + " file " + path + ": " + orUnknown(drainErrors()));
    }
    ++count;
  }
  if (count == 0) {
    return invalidArgument("tls: " + what + " file " + path + ": no PEM certificate found");
  }
  return Status::ok();
}

bool isIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

class ServerContextLoader {
 public:
  static StatusOr<std::shared_ptr<ServerContext>> load(const ServerTlsOptions& o) {
    if (o.require_client_cert && o.client_ca_file.empty()) {
      return invalidArgument("tls: require_client_cert needs client_ca_file");
    }
    ERR_clear_error();
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return internalError("tls: SSL_CTX_new: " + orUnknown(drainErrors()));
    commonOptions(ctx.get());
    RETURN_IF_ERROR(setVersionsAndCiphers(ctx.get(), o.min_version, o.ciphers, o.ciphersuites));
    ASSIGN_OR_RETURN(X509Ptr leaf, useCertificateChain(ctx.get(), o.cert_file));
    RETURN_IF_ERROR(usePrivateKey(ctx.get(), o.key_file, leaf.get(), o.cert_file));
    // Sessions resumed (IDs or tickets) must come from this server's configuration; required by
    // OpenSSL as soon as client certificates are verified.
    static const unsigned char kSessionContext[] = "surge-tls";
    SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
    if (!o.client_ca_file.empty()) {
      RETURN_IF_ERROR(loadVerifyFile(ctx.get(), "client CA", o.client_ca_file));
      // The CA names sent in the CertificateRequest (clients pick a matching certificate).
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
      ERR_clear_error();
      if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
      SSL_CTX_set_verify(
          ctx.get(),
          SSL_VERIFY_PEER | (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
    }
    std::shared_ptr<ServerContext> sc(new ServerContext());
    ASSIGN_OR_RETURN(sc->alpn_wire_, alpnWire(o.alpn));
    if (!sc->alpn_wire_.empty()) {
      SSL_CTX_set_alpn_select_cb(ctx.get(), selectAlpn, &sc->alpn_wire_);
    }
    sc->summary_ = summarize(leaf.get());
    sc->options_ = o;
    sc->ctx_ = ctx.release();
    return sc;
  }
};

StatusOr<std::shared_ptr<ServerContext>> ServerContext::load(const ServerTlsOptions& options) {
  return ServerContextLoader::load(options);
}

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

std::string ServerContext::certificateSummary() const { return summary_; }

struct ServerContextHolder::State {
  mutable std::mutex mu;
  std::shared_ptr<ServerContext> current;
};

ServerContextHolder::ServerContextHolder(ServerTlsOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {}

ServerContextHolder::~ServerContextHolder() = default;

Status ServerContextHolder::load() { return reload(); }

Status ServerContextHolder::reload() {
  auto loaded = ServerContext::load(options_);
  if (!loaded.isOk()) return loaded.status();
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->current = std::move(loaded).value();
  return Status::ok();
}

std::shared_ptr<ServerContext> ServerContextHolder::current() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->current;
}

class ClientContextLoader {
 public:
  static StatusOr<std::shared_ptr<ClientContext>> load(const ClientTlsOptions& o) {
    if (o.cert_file.empty() != o.key_file.empty()) {
      return invalidArgument("tls: client cert_file and key_file go together");
    }
    ERR_clear_error();
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return internalError("tls: SSL_CTX_new: " + orUnknown(drainErrors()));
    commonOptions(ctx.get());
    RETURN_IF_ERROR(setVersionsAndCiphers(ctx.get(), o.min_version, o.ciphers, o.ciphersuites));
    if (o.verify) {
      if (!o.ca_file.empty()) {
        RETURN_IF_ERROR(loadVerifyFile(ctx.get(), "CA", o.ca_file));
      } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        return internalError("tls: the system's trust store: " + orUnknown(drainErrors()));
      }
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    }
    if (!o.cert_file.empty()) {
      ASSIGN_OR_RETURN(X509Ptr leaf, useCertificateChain(ctx.get(), o.cert_file));
      RETURN_IF_ERROR(usePrivateKey(ctx.get(), o.key_file, leaf.get(), o.cert_file));
    }
    ASSIGN_OR_RETURN(std::string wire, alpnWire(o.alpn));
    if (!wire.empty() &&
        SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      return internalError("tls: alpn: " + orUnknown(drainErrors()));
    }
    std::shared_ptr<ClientContext> cc(new ClientContext());
    cc->options_ = o;
    cc->ctx_ = ctx.release();
    return cc;
  }
};

StatusOr<std::shared_ptr<ClientContext>> ClientContext::load(const ClientTlsOptions& options) {
  return ClientContextLoader::load(options);
}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

namespace {
// Observes the socket BIO's reads: a read(2) that returned fewer bytes than OpenSSL asked for (with
// read-ahead: its whole buffer) drained the socket, as a short recv does for a plain socket.
long observeReads(BIO* b, int oper, const char*, size_t len, int, long, int ret,
                  size_t* processed) {
  if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
    auto* drained = reinterpret_cast<bool*>(BIO_get_callback_arg(b));
    *drained = ret <= 0 || processed == nullptr || *processed < len;
  }
  return ret;
}
}  // namespace

void Conn::watchReads() {
  BIO* rb = SSL_get_rbio(ssl_);
  if (rb == nullptr) return;
  BIO_set_callback_arg(rb, reinterpret_cast<char*>(&last_read_short_));
  BIO_set_callback_ex(rb, &observeReads);
}

bool Conn::socketDrained() const {
  return !fatal_ && last_read_short_ && SSL_has_pending(ssl_) == 0;
}

Conn::Conn(std::shared_ptr<ServerContext> ctx, int fd) {
  if (!ctx) {
    fatal_ = true;
    last_error_ = "no TLS context loaded";
    return;
  }
  ssl_ = SSL_new(ctx->native());
  ctx_keepalive_ = std::move(ctx);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
    fatal_ = true;
    last_error_ = "SSL_new: " + orUnknown(drainErrors());
    return;
  }
  SSL_set_accept_state(ssl_);
  watchReads();
}

Conn::Conn(std::shared_ptr<ClientContext> ctx, int fd, std::string sni) {
  if (!ctx) {
    fatal_ = true;
    last_error_ = "no TLS context loaded";
    return;
  }
  ssl_ = SSL_new(ctx->native());
  const bool verify = ctx->options().verify;
  ctx_keepalive_ = std::move(ctx);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
    fatal_ = true;
    last_error_ = "SSL_new: " + orUnknown(drainErrors());
    return;
  }
  SSL_set_connect_state(ssl_);
  const bool ip = isIpLiteral(sni);
  bool ok = true;
  if (!sni.empty() && !ip) ok = SSL_set_tlsext_host_name(ssl_, sni.c_str()) == 1;
  if (verify) {
    if (sni.empty()) {
      fatal_ = true;
      last_error_ = "verifying the server needs its name (sni)";
      return;
    }
    ok = ok && (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), sni.c_str()) == 1
                   : SSL_set1_host(ssl_, sni.c_str()) == 1);
  }
  if (!ok) {
    fatal_ = true;
    last_error_ = "server name \"" + sni + "\": " + orUnknown(drainErrors());
  }
}

Conn::~Conn() { SSL_free(ssl_); }

Io Conn::fail(int ret, const char* during) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      ERR_clear_error();
      return Io::kEof;
    case SSL_ERROR_SYSCALL: {
      fatal_ = true;
      std::string queued = drainErrors();
      if (!queued.empty()) {
        last_error_ = queued;
      } else if (saved_errno != 0) {
        last_error_ = std::string(during) + ": " + std::strerror(saved_errno);
      } else {
        last_error_ = std::string("peer closed the connection during the ") + during;
      }
      return Io::kError;
    }
    case SSL_ERROR_SSL: {
      fatal_ = true;
      const unsigned long e = ERR_peek_error();
      const int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
      if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        if (handshake_done_) {
          // HTTP frames its own messages: a truncation is seen there; browsers and load
          // balancers often close without close_notify.
          last_error_ = "peer closed the connection without close_notify";
          return Io::kEof;
        }
        last_error_ = "peer closed the connection during the handshake";
        return Io::kError;
      }
      last_error_ = orUnknown(drainErrors());
      if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long v = SSL_get_verify_result(ssl_);
        if (v != X509_V_OK) last_error_ += std::string(": ") + X509_verify_cert_error_string(v);
      } else if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST) {
        last_error_ += " (plain HTTP sent to a TLS port)";
      } else if (reason == SSL_R_WRONG_VERSION_NUMBER) {
        last_error_ += " (not TLS)";
      }
      return Io::kError;
    }
    default:
      fatal_ = true;
      last_error_ = std::string(during) + ": " + orUnknown(drainErrors());
      return Io::kError;
  }
}

Io Conn::handshake() {
  if (handshake_done_) return Io::kOk;
  if (fatal_) return Io::kError;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    return Io::kOk;
  }
  const Io io = fail(r, "handshake");
  if (io == Io::kEof) {  // a close_notify before the handshake ended
    fatal_ = true;
    last_error_ = "peer closed the connection during the handshake";
    return Io::kError;
  }
  return io;
}

// One SSL_read_ex / SSL_write_ex with the shared bookkeeping: a success also ends the handshake,
// a failure is classified by fail() and named after what it was doing.
template <typename Op>
size_t Conn::transfer(size_t n, Io* io, const char* what, Op op) {
  if (fatal_) {
    *io = Io::kError;
    return 0;
  }
  if (n == 0) {
    *io = Io::kOk;
    return 0;
  }
  ERR_clear_error();
  errno = 0;
  size_t done = 0;
  const int r = op(&done);
  if (r == 1) {
    handshake_done_ = true;
    *io = Io::kOk;
    return done;
  }
  const char* during = handshake_done_ ? what : "handshake";
  if (!handshake_done_ && SSL_is_init_finished(ssl_)) handshake_done_ = true;
  *io = fail(r, during);
  return 0;
}

size_t Conn::read(char* buf, size_t n, Io* io) {
  return transfer(n, io, "read", [&](size_t* got) { return SSL_read_ex(ssl_, buf, n, got); });
}

size_t Conn::write(const char* buf, size_t n, Io* io) {
  return transfer(n, io, "write", [&](size_t* wrote) { return SSL_write_ex(ssl_, buf, n, wrote); });
}

std::string_view Conn::alpn() const {
  if (ssl_ == nullptr) return {};
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), len};
}

std::string_view Conn::version() const {
  if (!handshake_done_) return {};
  return SSL_get_version(ssl_);
}

std::string_view Conn::cipher() const {
  if (!handshake_done_) return {};
  const char* name = SSL_get_cipher_name(ssl_);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

std::string Conn::peerSubject() const {
  if (!handshake_done_ || SSL_get_verify_result(ssl_) != X509_V_OK) return "";
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer == nullptr) return "";
  // Verified only when this side asked for verification (a client certificate with a client CA
  // configured, or a client with verify on).
  if ((SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) == 0) return "";
  return nameText(X509_get_subject_name(peer));
}

void Conn::shutdown() {
  if (fatal_ || shutdown_sent_ || !handshake_done_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);  // sends close_notify if the socket takes it; never waits for the reply
  ERR_clear_error();
}

size_t Conn::pending() const {
  if (fatal_) return 0;
  const int n = SSL_pending(ssl_);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace surge::tls
