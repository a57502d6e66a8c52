#include "k8s/api_client.h"

#include <fcntl.h>

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "config/node.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

StatusOr<std::string> readFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failedPrecondition("cannot read " + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

std::string resolvePath(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

const char* reasonOf(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Error";
  }
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// Per-request curl handle with the config's TLS and auth applied.
class Easy {
 public:
  explicit Easy(const ApiConfig& c) : c_(c) {
    globalInit();
    h_ = curl_easy_init();
  }
  ~Easy() {
    if (headers_) curl_slist_free_all(headers_);
    if (h_) curl_easy_cleanup(h_);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;

  // libcurl 7.88 opens its sockets without close-on-exec; replicas spawned by surge up must not
  // inherit them.
  static int setCloseOnExec(void*, curl_socket_t fd, curlsocktype) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return CURL_SOCKOPT_OK;
  }

  Status setup(const std::string& method, const std::string& path, const std::string* body,
               const std::string& content_type, bool streaming) {
    if (!h_) return internalError("curl_easy_init failed");
    url_ = c_.server;
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
    url_ += path;
    curl_easy_setopt(h_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_SOCKOPTFUNCTION, &setCloseOnExec);
    curl_easy_setopt(h_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(c_.connect_timeout.count() / 1000000));
    if (!streaming) {
      curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, static_cast<long>(c_.timeout.count() / 1000000));
    }
    curl_easy_setopt(h_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (method == "GET") {
      curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (body) {
      curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
      headers_ = curl_slist_append(headers_, ("Content-Type: " + content_type).c_str());
    }
    headers_ = curl_slist_append(headers_, "Accept: application/json");
    std::string token = c_.bearer_token;
    if (!c_.token_file.empty()) {
      auto t = readFile(c_.token_file, "service-account token");
      if (!t.isOk()) return t.status();
      token = trim(*t);
    }
    if (!token.empty()) {
      headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + token).c_str());
    }
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(h_, CURLOPT_USERAGENT, "surge/k8s");
    // TLS.
    if (c_.insecure_skip_tls_verify) {
      curl_easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!c_.ca_file.empty()) curl_easy_setopt(h_, CURLOPT_CAINFO, c_.ca_file.c_str());
    if (!c_.ca_data.empty()) {
      curl_blob b{const_cast<char*>(c_.ca_data.data()), c_.ca_data.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h_, CURLOPT_CAINFO_BLOB, &b);
    }
    if (!c_.client_cert_file.empty()) {
      curl_easy_setopt(h_, CURLOPT_SSLCERT, c_.client_cert_file.c_str());
    }
    if (!c_.client_cert_data.empty()) {
      curl_blob b{const_cast<char*>(c_.client_cert_data.data()), c_.client_cert_data.size(),
                  CURL_BLOB_COPY};
      curl_easy_setopt(h_, CURLOPT_SSLCERT_BLOB, &b);
      curl_easy_setopt(h_, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!c_.client_key_file.empty()) {
      curl_easy_setopt(h_, CURLOPT_SSLKEY, c_.client_key_file.c_str());
    }
    if (!c_.client_key_data.empty()) {
      curl_blob b{const_cast<char*>(c_.client_key_data.data()), c_.client_key_data.size(),
                  CURL_BLOB_COPY};
      curl_easy_setopt(h_, CURLOPT_SSLKEY_BLOB, &b);
      curl_easy_setopt(h_, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return Status::ok();
  }

  CURL* handle() { return h_; }
  const std::string& url() const { return url_; }

  Status transportError(CURLcode rc, const std::string& method, const std::string& path) {
    std::string m = method + " " + path + ": cannot reach the API server " + c_.server + ": " +
                    curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) return {StatusCode::kDeadlineExceeded, m};
    return unavailable(m);
  }

 private:
  const ApiConfig& c_;
  CURL* h_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string url_;
};

struct StreamState {
  std::string buffer;
  std::string error_body;  // body of a non-2xx answer
  const std::function<bool(const json&)>* on_event = nullptr;
  const std::atomic<bool>* stop = nullptr;
  Status status;
  bool stopped = false;
  CURL* h = nullptr;
};

size_t onStream(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<StreamState*>(user);
  long code = 0;
  curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) {
    s->error_body.append(data, size * n);
    return size * n;
  }
  s->buffer.append(data, size * n);
  size_t start = 0;
  for (;;) {
    size_t nl = s->buffer.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = s->buffer.substr(start, nl - start);
    start = nl + 1;
    if (trim(line).empty()) continue;
    json event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      s->status = internalError("watch stream: not a JSON event: " + line.substr(0, 200));
      return 0;
    }
    if (!(*s->on_event)(event)) {
      s->stopped = true;
      return 0;
    }
  }
  s->buffer.erase(0, start);
  return size * n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* s = static_cast<StreamState*>(user);
  if (s->stop && s->stop->load(std::memory_order_acquire)) {
    s->stopped = true;
    return 1;
  }
  return 0;
}

StatusOr<std::string> nodeStr(const config::Node& n, std::string_view key) {
  return n.getString(key, "");
}

}  // namespace

std::string urlEncode(std::string_view v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StatusOr<std::string> decodeBase64(std::string_view text) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') break;
    int v = val(c);
    if (v < 0) return invalidArgument("not base64 (bad character)");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Status apiError(const std::string& method, const std::string& path, const ApiResponse& r) {
  std::string message;
  std::string reason = reasonOf(r.http_code);
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) message = j["message"];
    if (j.contains("reason") && j["reason"].is_string()) reason = j["reason"];
  }
  if (message.empty()) message = r.body.substr(0, 200);
  std::string m = method + " " + path + ": HTTP " + std::to_string(r.http_code) + " (" + reason +
                  ")" + (message.empty() ? "" : ": " + message);
  switch (r.http_code) {
    case 401:
      return failedPrecondition(m + " [unauthorized: check the token or client certificate]");
    case 403:
      return failedPrecondition(m + " [forbidden: check the RBAC rules of the service account]");
    case 404: return notFound(m);
    case 409: return failedPrecondition(m + " [conflict]");
    case 410: return {StatusCode::kOutOfRange, m + " [gone]"};
    case 429: return unavailable(m);
    default:
      if (r.http_code >= 500) return unavailable(m);
      return invalidArgument(m);
  }
}

int httpCodeOf(const Status& status) {
  const std::string& m = status.message();
  size_t p = m.find(": HTTP ");
  if (p == std::string::npos) return 0;
  return std::atoi(m.c_str() + p + 7);
}

ApiClient::ApiClient(ApiConfig config) : config_(std::move(config)) { globalInit(); }

StatusOr<ApiResponse> ApiClient::request(const std::string& method, const std::string& path,
                                         const std::string& body,
                                         const std::string& content_type) {
  Easy e(config_);
  bool has_body = method != "GET" && method != "DELETE";
  RETURN_IF_ERROR(e.setup(method, path, has_body ? &body : nullptr, content_type, false));
  ApiResponse r;
  curl_easy_setopt(e.handle(), CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(e.handle(), CURLOPT_WRITEDATA, &r.body);
  CURLcode rc = curl_easy_perform(e.handle());
  if (rc != CURLE_OK) return e.transportError(rc, method, path);
  long code = 0;
  curl_easy_getinfo(e.handle(), CURLINFO_RESPONSE_CODE, &code);
  r.http_code = static_cast<int>(code);
  return r;
}

namespace {
StatusOr<json> jsonOf(const std::string& method, const std::string& path,
                      StatusOr<ApiResponse> r) {
  if (!r.isOk()) return r.status();
  if (r->http_code < 200 || r->http_code >= 300) return apiError(method, path, *r);
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return internalError(method + " " + path + ": the answer is not JSON");
  return j;
}
}  // namespace

StatusOr<json> ApiClient::get(const std::string& path) {
  return jsonOf("GET", path, request("GET", path));
}

StatusOr<json> ApiClient::put(const std::string& path, const json& body) {
  return jsonOf("PUT", path, request("PUT", path, body.dump()));
}

StatusOr<json> ApiClient::patch(const std::string& path, const json& body,
                                const std::string& content_type) {
  return jsonOf("PATCH", path, request("PATCH", path, body.dump(), content_type));
}

Status ApiClient::stream(const std::string& path, const std::function<bool(const json&)>& on_event,
                         const std::atomic<bool>* stop) {
  Easy e(config_);
  RETURN_IF_ERROR(e.setup("GET", path, nullptr, "", true));
  StreamState s;
  s.on_event = &on_event;
  s.stop = stop;
  s.h = e.handle();
  curl_easy_setopt(e.handle(), CURLOPT_WRITEFUNCTION, onStream);
  curl_easy_setopt(e.handle(), CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(e.handle(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e.handle(), CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(e.handle(), CURLOPT_XFERINFODATA, &s);
  // A dead connection is noticed by TCP keepalive (the server sends bookmarks/data otherwise).
  curl_easy_setopt(e.handle(), CURLOPT_TCP_KEEPALIVE, 1L);
  CURLcode rc = curl_easy_perform(e.handle());
  if (s.stopped) return Status::ok();
  if (!s.status.isOk()) return s.status;
  long code = 0;
  curl_easy_getinfo(e.handle(), CURLINFO_RESPONSE_CODE, &code);
  if (code != 0 && (code < 200 || code >= 300)) {
    return apiError("GET", path, ApiResponse{static_cast<int>(code), s.error_body});
  }
  if (rc != CURLE_OK) return e.transportError(rc, "GET", path);
  return Status::ok();
}

// ---- configuration ------------------------------------------------------------------------------

StatusOr<ApiConfig> loadInClusterConfig(
    const InClusterPaths& paths,
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  auto getenv_ = [&](const std::string& k) -> std::optional<std::string> {
    if (env) return env(k);
    const char* v = std::getenv(k.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  auto host = getenv_("KUBERNETES_SERVICE_HOST");
  auto port = getenv_("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return failedPrecondition(
        "not running in a Kubernetes cluster (KUBERNETES_SERVICE_HOST/PORT are not set); "
        "give a kubeconfig");
  }
  ApiConfig c;
  std::string h = *host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + *port;
  {
    std::ifstream t(paths.token_file);
    if (!t) return failedPrecondition("in-cluster: cannot read the service-account token " +
                                      paths.token_file);
  }
  c.token_file = paths.token_file;
  c.ca_file = paths.ca_file;
  auto ns = readFile(paths.namespace_file, "namespace file");
  if (ns.isOk()) c.default_namespace = trim(*ns);
  c.source = "in-cluster";
  return c;
}

std::string defaultKubeconfigPath() {
  if (const char* k = std::getenv("KUBECONFIG"); k && *k) {
    std::string s(k);
    return s.substr(0, s.find(':'));
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.kube/config";
  }
  return "";
}

StatusOr<ApiConfig> parseKubeconfig(std::string_view yaml, const std::string& source_name,
                                    const std::string& base_dir, const std::string& context) {
  ASSIGN_OR_RETURN(config::Node root, config::Node::loadString(yaml, source_name));
  if (!root.isMap()) return root.error("a kubeconfig must be a YAML map");
  std::string ctx_name = context;
  if (ctx_name.empty()) {
    ASSIGN_OR_RETURN(ctx_name, root.getString("current-context", ""));
  }
  if (ctx_name.empty()) return root.error("no current-context (and no context given)");
  auto findNamed = [&](const char* list, const std::string& name,
                       const char* inner) -> StatusOr<config::Node> {
    config::Node l = root[list];
    if (!l.isSequence()) return l.error(std::string("'") + list + "' must be a list");
    for (const config::Node& item : l.items()) {
      auto n = item.getString("name", "");
      if (n.isOk() && *n == name) {
        config::Node v = item[inner];
        if (!v.isMap()) return item.error(std::string("'") + inner + "' must be a map");
        return v;
      }
    }
    return l.error(std::string("no ") + inner + " named '" + name + "'");
  };
  ASSIGN_OR_RETURN(config::Node ctx, findNamed("contexts", ctx_name, "context"));
  std::string cluster_name, user_name;
  ASSIGN_OR_RETURN(cluster_name, nodeStr(ctx, "cluster"));
  ASSIGN_OR_RETURN(user_name, nodeStr(ctx, "user"));
  if (cluster_name.empty()) return ctx.error("context '" + ctx_name + "' names no cluster");
  ApiConfig c;
  ASSIGN_OR_RETURN(c.default_namespace, nodeStr(ctx, "namespace"));
  ASSIGN_OR_RETURN(config::Node cl, findNamed("clusters", cluster_name, "cluster"));
  ASSIGN_OR_RETURN(c.server, nodeStr(cl, "server"));
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    return (cl.has("server") ? cl["server"] : cl).error("server must be an https:// URL");
  }
  std::string ca;
  ASSIGN_OR_RETURN(ca, nodeStr(cl, "certificate-authority"));
  c.ca_file = resolvePath(base_dir, ca);
  std::string ca_data;
  ASSIGN_OR_RETURN(ca_data, nodeStr(cl, "certificate-authority-data"));
  if (!ca_data.empty()) {
    auto d = decodeBase64(ca_data);
    if (!d.isOk()) return cl["certificate-authority-data"].error(d.status().message());
    c.ca_data = *d;
  }
  ASSIGN_OR_RETURN(c.insecure_skip_tls_verify, cl.getBool("insecure-skip-tls-verify", false));
  if (!user_name.empty()) {
    ASSIGN_OR_RETURN(config::Node u, findNamed("users", user_name, "user"));
    if (u.has("exec") || u.has("auth-provider")) {
      return (u.has("exec") ? u["exec"] : u["auth-provider"])
          .error("exec and auth-provider credentials are not supported; use a token or a client "
                 "certificate (e.g. a service-account token)");
    }
    ASSIGN_OR_RETURN(c.bearer_token, nodeStr(u, "token"));
    std::string token_file;
    ASSIGN_OR_RETURN(token_file, nodeStr(u, "tokenFile"));
    c.token_file = resolvePath(base_dir, token_file);
    std::string f;
    ASSIGN_OR_RETURN(f, nodeStr(u, "client-certificate"));
    c.client_cert_file = resolvePath(base_dir, f);
    ASSIGN_OR_RETURN(f, nodeStr(u, "client-key"));
    c.client_key_file = resolvePath(base_dir, f);
    for (auto [key, out] : {std::pair<const char*, std::string*>{"client-certificate-data",
                                                                 &c.client_cert_data},
                            {"client-key-data", &c.client_key_data}}) {
      ASSIGN_OR_RETURN(f, nodeStr(u, key));
      if (f.empty()) continue;
      auto d = decodeBase64(f);
      if (!d.isOk()) return u[key].error(d.status().message());
      *out = *d;
    }
    bool has_cert = !c.client_cert_file.empty() || !c.client_cert_data.empty();
    bool has_key = !c.client_key_file.empty() || !c.client_key_data.empty();
    if (has_cert != has_key) {
      return u.error("client-certificate and client-key must be given together");
    }
  }
  c.source = source_name + " (context " + ctx_name + ")";
  return c;
}

StatusOr<ApiConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  auto text = readFile(path, "kubeconfig");
  if (!text.isOk()) return text.status();
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return parseKubeconfig(*text, path, dir, context);
}

StatusOr<ApiConfig> resolveApiConfig(const std::string& kubeconfig, const std::string& in_cluster,
                                     const InClusterPaths& paths) {
  if (in_cluster == "true") return loadInClusterConfig(paths);
  if (in_cluster == "auto" && kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST")) {
    return loadInClusterConfig(paths);
  }
  std::string path = kubeconfig.empty() ? defaultKubeconfigPath() : kubeconfig;
  if (path.empty()) {
    return failedPrecondition("no Kubernetes API: not in a cluster and no kubeconfig "
                              "(--kubeconfig, KUBECONFIG or ~/.kube/config)");
  }
  return loadKubeconfig(path);
}

}  // namespace surge::k8s
