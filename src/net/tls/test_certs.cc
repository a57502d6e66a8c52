#include "net/tls/test_certs.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace surge::tls::testing {

namespace {

std::string opensslError(const char* what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string("test_certs: ") + what + " failed";
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string("test_certs: ") + what + ": " + buf;
}

EVP_PKEY* newKey(bool rsa) {
  return rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

std::string toPem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

std::string toPem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

bool addExt(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// An unsigned certificate for key's public half, named cn, issued by issuer (null: self).
X509* makeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, int64_t not_before_s,
               int64_t not_after_s) {
  X509* x = X509_new();
  if (x == nullptr) return nullptr;
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), static_cast<long>(not_before_s));
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(not_after_s));
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("surge tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return x;
}

}  // namespace

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa() : impl_(std::make_unique<Impl>()) {}
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;
TestCa::~TestCa() = default;

StatusOr<TestCa> TestCa::create(const std::string& common_name) {
  TestCa ca;
  ca.impl_->key = newKey(false);
  if (ca.impl_->key == nullptr) return internalError(opensslError("CA key"));
  X509* x = makeCert(ca.impl_->key, common_name, nullptr, -3600, 365 * 24 * 3600);
  if (x == nullptr) return internalError(opensslError("CA certificate"));
  ca.impl_->cert = x;
  if (!addExt(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
      !addExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !addExt(x, x, NID_subject_key_identifier, "hash") ||
      !addExt(x, x, NID_authority_key_identifier, "keyid:always")) {
    return internalError(opensslError("CA extensions"));
  }
  if (X509_sign(x, ca.impl_->key, EVP_sha256()) == 0) {
    return internalError(opensslError("CA signature"));
  }
  ca.pem_ = {toPem(x), toPem(ca.impl_->key)};
  return ca;
}

StatusOr<Pem> TestCa::issue(const LeafSpec& spec) const {
  EVP_PKEY* key = newKey(spec.rsa);
  if (key == nullptr) return internalError(opensslError("leaf key"));
  X509* x = makeCert(key, spec.common_name, impl_->cert, spec.not_before_s, spec.not_after_s);
  if (x == nullptr) {
    EVP_PKEY_free(key);
    return internalError(opensslError("leaf certificate"));
  }
  std::string san;
  for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : spec.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  std::string eku;
  if (spec.server) eku += "serverAuth";
  if (spec.client) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
  bool ok = addExt(x, impl_->cert, NID_basic_constraints, "critical,CA:FALSE") &&
            addExt(x, impl_->cert, NID_key_usage,
                   spec.rsa ? "critical,digitalSignature,keyEncipherment"
                            : "critical,digitalSignature") &&
            addExt(x, impl_->cert, NID_subject_key_identifier, "hash") &&
            addExt(x, impl_->cert, NID_authority_key_identifier, "keyid:always");
  if (ok && !san.empty()) ok = addExt(x, impl_->cert, NID_subject_alt_name, san);
  if (ok && !eku.empty()) ok = addExt(x, impl_->cert, NID_ext_key_usage, eku);
  if (ok) ok = X509_sign(x, impl_->key, EVP_sha256()) != 0;
  if (!ok) {
    X509_free(x);
    EVP_PKEY_free(key);
    return internalError(opensslError("leaf extensions or signature"));
  }
  Pem pem{toPem(x), toPem(key)};
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

Status writeFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return internalError("test_certs: " + path + ": " + std::strerror(errno));
  out << contents;
  out.close();
  if (!out) return internalError("test_certs: " + path + ": write failed");
  return Status::ok();
}

StatusOr<TestPki> makeTestPki(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return internalError("test_certs: " + dir + ": " + ec.message());
  ASSIGN_OR_RETURN(TestCa ca, TestCa::create("surge test CA"));
  ASSIGN_OR_RETURN(TestCa other, TestCa::create("surge other CA"));

  LeafSpec server;
  server.common_name = "surge-test-server";
  server.dns = {"localhost"};
  server.ips = {"127.0.0.1", "::1"};
  LeafSpec client;
  client.common_name = "surge-test-client";
  client.server = false;
  client.client = true;
  LeafSpec expired = server;
  expired.common_name = "surge-test-expired";
  expired.not_before_s = -2 * 24 * 3600;
  expired.not_after_s = -24 * 3600;
  LeafSpec stranger = server;
  stranger.common_name = "surge-test-other";
  stranger.client = true;

  ASSIGN_OR_RETURN(Pem server_pem, ca.issue(server));
  ASSIGN_OR_RETURN(Pem client_pem, ca.issue(client));
  ASSIGN_OR_RETURN(Pem expired_pem, ca.issue(expired));
  ASSIGN_OR_RETURN(Pem other_pem, other.issue(stranger));

  TestPki pki;
  pki.dir = dir;
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  pki.ca_cert = path("ca.pem");
  pki.server_cert = path("server.pem");
  pki.server_key = path("server.key");
  pki.client_cert = path("client.pem");
  pki.client_key = path("client.key");
  pki.expired_cert = path("expired.pem");
  pki.expired_key = path("expired.key");
  pki.other_ca_cert = path("other-ca.pem");
  pki.other_cert = path("other.pem");
  pki.other_key = path("other.key");
  RETURN_IF_ERROR(writeFile(pki.ca_cert, ca.pem().cert));
  RETURN_IF_ERROR(writeFile(pki.server_cert, server_pem.cert));
  RETURN_IF_ERROR(writeFile(pki.server_key, server_pem.key));
  RETURN_IF_ERROR(writeFile(pki.client_cert, client_pem.cert));
  RETURN_IF_ERROR(writeFile(pki.client_key, client_pem.key));
  RETURN_IF_ERROR(writeFile(pki.expired_cert, expired_pem.cert));
  RETURN_IF_ERROR(writeFile(pki.expired_key, expired_pem.key));
  RETURN_IF_ERROR(writeFile(pki.other_ca_cert, other.pem().cert));
  RETURN_IF_ERROR(writeFile(pki.other_cert, other_pem.cert));
  RETURN_IF_ERROR(writeFile(pki.other_key, other_pem.key));
  return pki;
}

}  // namespace surge::tls::testing
