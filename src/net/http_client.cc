#include "net/http_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace surge::net {
namespace {

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return std::string(s);
}

// Readable regular file, or why not ("No such file or directory").
Status checkReadable(const std::string& path, const std::string& field, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return failedPrecondition(what + ": cannot read " + field + " " + path + ": " +
                              std::strerror(errno));
  }
  return Status::ok();
}

// libcurl 7.88 opens its sockets without close-on-exec; processes surge spawns (replicas) must
// not inherit them.
int setCloseOnExec(void*, curl_socket_t fd, curlsocktype) {
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return CURL_SOCKOPT_OK;
}

struct Transfer {
  ClientResponse response;
  uint64_t max_body = 0;
  bool over_limit = false;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::atomic<bool>* stop = nullptr;
  bool stopped = false;
  // https: the TLS layer began (its SSL_CTX callback ran), so the TCP connect had succeeded.
  // CURLINFO_CONNECT_TIME stays 0 until the whole connection (TCP + TLS) is up, so it cannot
  // tell a silent TLS handshake from a TCP connect that never completes.
  bool tls_started = false;
};

// CURLOPT_SSL_CTX_FUNCTION: called when the TLS handshake is about to start (after TCP connect).
CURLcode onTlsStart(CURL*, void*, void* user) {
  static_cast<Transfer*>(user)->tls_started = true;
  return CURLE_OK;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {  // a new response head (after a 1xx): start over
    t->response.headers.clear();
    t->response.content_type.clear();
    size_t sp = line.find(' ');
    int code = 0;
    if (sp != std::string_view::npos) {
      std::from_chars(line.data() + sp + 1, line.data() + line.size(), code);
    }
    t->response.status = code;
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return size * n;  // blank line, folding
  std::string name(line.substr(0, colon));
  std::string value = trim(line.substr(colon + 1));
  if (equalsNoCase(name, "content-type")) t->response.content_type = value;
  t->response.headers.emplace_back(std::move(name), std::move(value));
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  if (t->on_data && t->response.status >= 200 && t->response.status < 300) {
    if (!(*t->on_data)(chunk)) {
      t->stopped = true;
      return 0;
    }
    return chunk.size();
  }
  if (t->response.body.size() + chunk.size() > t->max_body) {
    t->over_limit = true;
    return 0;  // CURLE_WRITE_ERROR: the transfer ends here
  }
  t->response.body.append(chunk);
  return chunk.size();
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->stop && t->stop->load(std::memory_order_acquire)) {
    t->stopped = true;
    return 1;
  }
  return 0;
}

class Easy {
 public:
  Easy() : h_(curl_easy_init()) {}
  ~Easy() {
    if (headers_) curl_slist_free_all(headers_);
    if (h_) curl_easy_cleanup(h_);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
  CURL* get() const { return h_; }
  void addHeader(const std::string& line) { headers_ = curl_slist_append(headers_, line.c_str()); }
  curl_slist* headers() const { return headers_; }

 private:
  CURL* h_;
  curl_slist* headers_ = nullptr;
};

long toMillis(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms <= 0 && d.count() > 0 ? 1L : static_cast<long>(ms);
}

void setBlob(CURL* h, CURLoption opt, const std::string& pem) {
  curl_blob b{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(h, opt, &b);
}

// Applies request + options to `e`. The strings referenced by curl (url, body) live in the
// caller's frame for the whole transfer.
Status setup(Easy& e, const Url& url, const std::string& url_text, const ClientRequest& req,
             const ClientOptions& o, const std::string& what, Transfer& t) {
  CURL* h = e.get();
  if (!h) return internalError(what + ": curl_easy_init failed");
  curl_easy_setopt(h, CURLOPT_URL, url_text.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, &setCloseOnExec);
  curl_easy_setopt(h, CURLOPT_PROXY, o.proxy.c_str());  // "" = no proxy, even from the env
  curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, toMillis(o.connect_timeout));
  if (o.timeout.count() > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, toMillis(o.timeout));
  if (o.tcp_keepalive) curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!o.user_agent.empty()) curl_easy_setopt(h, CURLOPT_USERAGENT, o.user_agent.c_str());
  if (!t.on_data && o.max_body_bytes > 0) {
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_body_bytes));
  }

  // Method and body.
  bool has_body = !req.body.empty() || req.method == "POST" || req.method == "PUT" ||
                  req.method == "PATCH";
  if (req.method == "GET" && !has_body) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    // libcurl would add "Content-Type: application/x-www-form-urlencoded" and, for large bodies,
    // "Expect: 100-continue"; neither is wanted.
    e.addHeader("Content-Type:" + (req.content_type.empty() ? "" : " " + req.content_type));
    e.addHeader("Expect:");
  }

  // Auth and headers.
  std::string token = o.bearer_token;
  if (!o.bearer_token_file.empty()) {
    std::ifstream in(o.bearer_token_file, std::ios::binary);
    if (!in) {
      return failedPrecondition(what + ": cannot read bearer_token_file " + o.bearer_token_file +
                                ": " + std::strerror(errno));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    token = trim(ss.str());
  }
  if (!token.empty()) e.addHeader("Authorization: Bearer " + token);
  if (!o.username.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, o.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, o.password.c_str());
  }
  for (const auto& [k, v] : o.headers) e.addHeader(k + ": " + v);
  for (const auto& [k, v] : req.headers) e.addHeader(k + ": " + v);
  if (e.headers()) curl_easy_setopt(h, CURLOPT_HTTPHEADER, e.headers());

  // TLS.
  if (url.scheme == "https") {
    // Only to notice that the handshake began; ignored (no error) by a non-OpenSSL libcurl.
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, onTlsStart);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &t);
    if (o.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!o.ca_file.empty()) {
      RETURN_IF_ERROR(checkReadable(o.ca_file, "ca_file", what));
      curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str());
    }
    if (!o.ca_pem.empty()) setBlob(h, CURLOPT_CAINFO_BLOB, o.ca_pem);
    if (!o.client_cert_file.empty()) {
      RETURN_IF_ERROR(checkReadable(o.client_cert_file, "cert_file", what));
      curl_easy_setopt(h, CURLOPT_SSLCERT, o.client_cert_file.c_str());
    }
    if (!o.client_cert_pem.empty()) {
      setBlob(h, CURLOPT_SSLCERT_BLOB, o.client_cert_pem);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!o.client_key_file.empty()) {
      RETURN_IF_ERROR(checkReadable(o.client_key_file, "key_file", what));
      curl_easy_setopt(h, CURLOPT_SSLKEY, o.client_key_file.c_str());
    }
    if (!o.client_key_pem.empty()) {
      setBlob(h, CURLOPT_SSLKEY_BLOB, o.client_key_pem);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
  }

  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (t.stop) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  }
  return Status::ok();
}

Status transportError(CURL* h, CURLcode rc, const char* errbuf, const Url& url,
                      const ClientOptions& o, const Transfer& t, const std::string& what) {
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  while (!detail.empty() && detail.back() == '\n') detail.pop_back();
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  curl_off_t connected_us = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected_us);
  switch (rc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (t.over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
        return {StatusCode::kResourceExhausted,
                what + ": response body over " + std::to_string(o.max_body_bytes) + " bytes"};
      }
      return unavailable(what + ": " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
      return unavailable(what + ": cannot resolve '" + url.host + "'");
    case CURLE_COULDNT_CONNECT:
      return unavailable(what + ": connect: " +
                         (os_errno != 0 ? std::string(std::strerror(static_cast<int>(os_errno)))
                                        : detail));
    case CURLE_OUT_OF_MEMORY:
#if LIBCURL_VERSION_NUM >= 0x080600
    case CURLE_TOO_LARGE:
#endif
      // libcurl 7.88 reports a response header line over its limit (100 KiB) as "Out of memory"
      // (8.6 and later: CURLE_TOO_LARGE): the server answered, with headers too large to read.
      if (rc != CURLE_OUT_OF_MEMORY || (connected_us > 0 && t.response.body.empty())) {
        return {StatusCode::kResourceExhausted, what + ": response headers too large"};
      }
      return unavailable(what + ": " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      if (connected_us == 0 && t.response.status == 0 && t.tls_started) {
        // TCP connected, TLS never completed: typically https to a plain-http port.
        Duration limit = o.connect_timeout;
        if (o.timeout.count() > 0) limit = std::min(limit, o.timeout);
        return {StatusCode::kDeadlineExceeded,
                what + ": TLS handshake: no answer within " + formatDuration(limit) +
                    " (is the server speaking https?)"};
      }
      if (connected_us == 0 && t.response.status == 0) {
        return {StatusCode::kDeadlineExceeded,
                what + ": connect: timed out after " + formatDuration(o.connect_timeout)};
      }
      return {StatusCode::kDeadlineExceeded,
              what + ": no response within " + formatDuration(o.timeout)};
    case CURLE_GOT_NOTHING:
      return unavailable(what + ": connection closed without a response");
    case CURLE_PARTIAL_FILE:
      return unavailable(what + ": connection closed before a complete response");
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return unavailable(what + ": malformed response (" + detail + ")");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return unavailable(what + ": TLS: " + detail);
    default:
      return unavailable(what + ": " + detail);
  }
}

StatusOr<ClientResponse> perform(const ClientRequest& req, const ClientOptions& o,
                                 const std::function<bool(std::string_view)>* on_data,
                                 const std::atomic<bool>* stop) {
  globalInit();
  const std::string what = req.method + " " + req.url;
  ASSIGN_OR_RETURN(Url url, parseUrl(req.url));
  const std::string url_text = url.str();
  Transfer t;
  t.max_body = o.max_body_bytes > 0 ? o.max_body_bytes : UINT64_MAX;
  t.on_data = on_data;
  t.stop = stop;
  Easy e;
  RETURN_IF_ERROR(setup(e, url, url_text, req, o, what, t));
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(e.get(), CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(e.get());
  if (t.stopped) {
    t.response.stopped = true;
    return std::move(t.response);
  }
  if (rc != CURLE_OK) return transportError(e.get(), rc, errbuf, url, o, t, what);
  long code = 0;
  curl_easy_getinfo(e.get(), CURLINFO_RESPONSE_CODE, &code);
  t.response.status = static_cast<int>(code);
  return std::move(t.response);
}

}  // namespace

std::string formatDuration(Duration d) {
  double s = toSeconds(d);
  char buf[32];
  if (s >= 1 && s == static_cast<double>(static_cast<int64_t>(s))) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%gms", s * 1e3);
  }
  return buf;
}

// ---- calls --------------------------------------------------------------------------------------

ClientOptions ClientOptions::withTimeout(Duration t) {
  ClientOptions o;
  o.connect_timeout = t;
  o.timeout = t;
  return o;
}

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsNoCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

StatusOr<ClientResponse> httpCall(const ClientRequest& request, const ClientOptions& options) {
  return perform(request, options, nullptr, nullptr);
}

StatusOr<ClientResponse> httpGet(std::string_view url, const ClientOptions& options) {
  ClientRequest r;
  r.url = std::string(url);
  return perform(r, options, nullptr, nullptr);
}

StatusOr<ClientResponse> httpStream(const ClientRequest& request, const ClientOptions& options,
                                    const std::function<bool(std::string_view)>& on_data,
                                    const std::atomic<bool>* stop) {
  return perform(request, options, &on_data, stop);
}

}  // namespace surge::net
