// net/tls: TLS for the gateway's listener (and, optionally, toward upstreams) over OpenSSL 3, as a
// building block for an epoll data path: one Conn per accepted non-blocking socket, driven by
// the readiness the caller observed. No threads, no blocking, no event loop of its own; the
// caller owns the fd (Conn never closes it). Decisions: docs/design/tls.md.
//
//   ServerContext        an immutable loaded SSL_CTX (certificate chain, key, client CA, ALPN,
//                        versions, ciphers). load() errors name the file and OpenSSL's reason.
//   ServerContextHolder  thread-safe current context: reload() loads the same files again and
//                        swaps only on success; a Conn keeps the context it was created with.
//   Conn                 one TLS connection over a non-blocking fd: handshake / read / write return
//                        Io::kWantRead / kWantWrite when the socket would block; the caller waits
//                        for that readiness and calls again.
//   ClientContext        the client side (upstreams): CA bundle or the system's, optional client
//                        certificate, ALPN, SNI + host name verification.
//
// Edge-triggered epoll: after a readiness event keep calling read() until it returns 0 with
// kWantRead (or kEof/kError): OpenSSL may hold decrypted bytes (pending() > 0) and a whole record
// already read from the socket, which no new event will announce. A kWantRead/kWantWrite may be
// asked by either read() or write() (TLS 1.3 key updates, post-handshake messages); wait for the
// readiness the call asked for, not the one its name suggests.
// Thread-safety: contexts are immutable and shareable across threads; a Conn has one owner.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace surge::tls {

struct ServerTlsOptions {
  std::string cert_file;  // PEM chain (leaf first)
  std::string key_file;   // PEM private key (unencrypted)
  std::string
      client_ca_file;  // "" = no client certificates requested; else verify with this CA bundle
  bool require_client_cert = false;  // mTLS: handshake fails without a valid client cert (only with
                                     // client_ca_file)
  // Server preference order; a client offering none of them → no ALPN selected (http/1.1
  // assumed), not a failure.
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string ciphers;       // TLS 1.2 cipher list; "" = ECDHE + AEAD only (kDefaultTls12Ciphers)
  std::string ciphersuites;  // TLS 1.3; "" = OpenSSL default
};

// The TLS 1.2 ciphers used when ServerTlsOptions::ciphers is "" (docs/design/tls.md: Mozilla's
// "intermediate" list without DHE): forward secrecy and AEAD only.
extern const char* const kDefaultTls12Ciphers;

// An immutable loaded context (SSL_CTX). Errors name the file and OpenSSL's reason (e.g.
// "tls: key file /x/key.pem: does not match the certificate /x/cert.pem").
class ServerContext {
 public:
  static StatusOr<std::shared_ptr<ServerContext>> load(const ServerTlsOptions& options);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  const ServerTlsOptions& options() const { return options_; }
  // "subject CN=example, issuer CN=ca, notAfter 2027-12-07 11:00:00 UTC" (+ ", EXPIRED" when it
  // is).
  std::string certificateSummary() const;

 private:
  ServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  ServerTlsOptions options_;
  std::string summary_;
  std::string
      alpn_wire_;  // the ALPN list in wire format (length-prefixed), for the select callback
  friend class ServerContextLoader;
};

// Thread-safe holder: current() for new connections; reload() loads again from the same files
// and swaps only on success (existing connections keep their context).
class ServerContextHolder {
 public:
  explicit ServerContextHolder(ServerTlsOptions options);
  ~ServerContextHolder();
  Status load();                                   // the first load; same as reload()
  Status reload();                                 // on error the current context stays
  std::shared_ptr<ServerContext> current() const;  // null before a successful load()
  const ServerTlsOptions& options() const { return options_; }

 private:
  const ServerTlsOptions options_;
  struct State;
  std::unique_ptr<State> state_;
};

struct ClientTlsOptions {
  std::string ca_file;    // "" = the system's trust store
  std::string cert_file;  // client certificate (mTLS toward the upstream); "" = none
  std::string key_file;
  std::vector<std::string> alpn;  // offered, in preference order; empty = no ALPN
  bool verify = true;             // verify the server's chain and name (sni)
  std::string min_version = "1.2";
  std::string ciphers;       // "" = kDefaultTls12Ciphers
  std::string ciphersuites;  // "" = OpenSSL default
};

class ClientContext {
 public:
  static StatusOr<std::shared_ptr<ClientContext>> load(const ClientTlsOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;
  SSL_CTX* native() const { return ctx_; }
  const ClientTlsOptions& options() const { return options_; }

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  ClientTlsOptions options_;
  friend class ClientContextLoader;
};

enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };
const char* ioName(Io io);  // "ok", "want-read", …

// One TLS connection over a non-blocking fd (SSL_set_fd). No threads, no blocking.
class Conn {
 public:
  Conn(std::shared_ptr<ServerContext> ctx, int fd);  // server side
  // Client side: sni is sent as server name (unless it is an IP literal) and, with
  // ClientTlsOptions::verify, checked against the server's certificate (DNS name or IP).
  Conn(std::shared_ptr<ClientContext> ctx, int fd, std::string sni);
  ~Conn();  // frees the SSL; does not close fd
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Io handshake();  // call until kOk; kWantRead/kWantWrite → wait for that readiness
  // read: >0 bytes, or 0 with *io set (kWantRead/kWantWrite/kEof/kError). write likewise
  // (partial writes allowed: SSL_MODE_ENABLE_PARTIAL_WRITE | ACCEPT_MOVING_WRITE_BUFFER; after
  // kWantWrite call again with at least the bytes not yet written, from any buffer).
  // A peer closing without close_notify after the handshake is kEof (lastError() says so).
  // read/write before handshakeDone() drive the handshake first.
  size_t read(char* buf, size_t n, Io* io);
  size_t write(const char* buf, size_t n, Io* io);
  bool handshakeDone() const { return handshake_done_; }
  std::string_view alpn() const;     // "h2", "http/1.1" or ""
  std::string_view version() const;  // "TLSv1.3" …
  std::string_view cipher() const;   // "TLS_AES_128_GCM_SHA256" …
  std::string peerSubject() const;   // verified peer certificate subject or ""
  // Human-readable reason of the last kError (e.g. "no shared cipher", "unsupported protocol",
  // "peer did not return a certificate") or of a kEof without close_notify; "" otherwise.
  std::string lastError() const { return last_error_; }
  void shutdown();         // best-effort close_notify (non-blocking, once; nothing after an error)
  size_t pending() const;  // SSL_pending: decrypted bytes buffered (read them without a new event)
  // Server side: the last read(2) on the socket came back short and OpenSSL holds no unprocessed
  // byte — an edge-triggered driver can wait for the next readiness event instead of reading
  // again only to get EAGAIN (one system call less per request).
  bool socketDrained() const;
  SSL* native() const { return ssl_; }

 private:
  Io fail(int ret, const char* during);
  std::shared_ptr<const void> ctx_keepalive_;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  bool fatal_ = false;
  bool last_read_short_ = false;  // written by the read BIO's callback
  void watchReads();
  template <typename Op>
  size_t transfer(size_t n, Io* io, const char* what, Op op);
  bool shutdown_sent_ = false;
  std::string last_error_;
};

}  // namespace surge::tls
