// Test-only PKI made at test time with OpenSSL's C API (no openssl command line, no committed
// keys): a CA, leaf certificates it signs (server: 127.0.0.1 / ::1 / localhost; client), an expired
// one, and a second CA nobody trusts. Library target surge_tls_test_certs, for net/tls's tests
// and for integration tests that need a TLS listener or client.
//
//   auto pki = surge::tls::testing::makeTestPki(dir);   // writes the PEM files below into dir
//   opts.cert_file = pki->server_cert; opts.key_file = pki->server_key;
//   opts.client_ca_file = pki->ca_cert;
//
// Keys are EC P-256 (generated in well under a millisecond; RSA on request). Certificates are
// X.509 v3 with SubjectAltName, key usage and extended key usage as a real CA issues them.
// Thread-safety: none needed (values and files).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace surge::tls::testing {

struct Pem {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (PKCS#8, unencrypted)
};

struct LeafSpec {
  std::string common_name = "surge-test";
  std::vector<std::string> dns;  // SubjectAltName DNS entries
  std::vector<std::string> ips;  // SubjectAltName IP entries
  bool server = true;            // extendedKeyUsage serverAuth
  bool client = false;           // extendedKeyUsage clientAuth
  int64_t not_before_s = -3600;  // validity, relative to now
  int64_t not_after_s = 7 * 24 * 3600;
  bool rsa = false;  // RSA 2048 instead of EC P-256
};

// A self-signed CA that issues leaves.
class TestCa {
 public:
  static StatusOr<TestCa> create(const std::string& common_name);
  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;
  ~TestCa();

  const Pem& pem() const { return pem_; }
  StatusOr<Pem> issue(const LeafSpec& spec) const;

 private:
  TestCa();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Pem pem_;
};

// The usual set, as files in dir (created if missing).
struct TestPki {
  std::string dir;
  std::string ca_cert;                   // ca.pem: trusted CA ("surge test CA")
  std::string server_cert, server_key;   // server.pem/server.key: CN=surge-test-server,
                                         // SAN localhost, 127.0.0.1, ::1; signed by the CA
  std::string client_cert, client_key;   // client.pem/client.key: CN=surge-test-client, clientAuth
  std::string expired_cert, expired_key; // expired.pem/.key: like server, notAfter in the past
  std::string other_ca_cert;             // other-ca.pem: an untrusted CA ("surge other CA")
  std::string other_cert, other_key;     // other.pem/.key: client+server cert of the other CA
};
StatusOr<TestPki> makeTestPki(const std::string& dir);

// Writes contents to path (replacing it); error names the path.
Status writeFile(const std::string& path, const std::string& contents);

}  // namespace surge::tls::testing
