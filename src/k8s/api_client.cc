#include "k8s/api_client.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/node.h"
#include "net/http_client.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

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

// The shared client's options for this API server: TLS, auth, timeouts.
net::ClientOptions clientOptions(const ApiConfig& c) {
  net::ClientOptions o;
  o.connect_timeout = c.connect_timeout;
  o.timeout = c.timeout;
  o.max_body_bytes = 1ull << 30;  // whole lists (EndpointSlices, Pods) of a large namespace
  o.ca_file = c.ca_file;
  o.ca_pem = c.ca_data;
  o.insecure_skip_verify = c.insecure_skip_tls_verify;
  o.client_cert_file = c.client_cert_file;
  o.client_cert_pem = c.client_cert_data;
  o.client_key_file = c.client_key_file;
  o.client_key_pem = c.client_key_data;
  o.bearer_token = c.bearer_token;
  o.bearer_token_file = c.token_file;  // re-read on every request
  o.user_agent = "surge/k8s";
  return o;
}

net::ClientRequest apiRequest(const ApiConfig& c, const std::string& method,
                              const std::string& path) {
  net::ClientRequest r;
  r.method = method;
  r.url = c.server;
  while (!r.url.empty() && r.url.back() == '/') r.url.pop_back();
  r.url += path;
  r.headers.emplace_back("Accept", "application/json");
  return r;
}

// A failure of the client: "GET /path: cannot reach the API server https://...: connect: ...".
Status transportError(const ApiConfig& c, const net::ClientRequest& r, const std::string& path,
                      const Status& s) {
  std::string detail = s.message();
  const std::string prefix = r.method + " " + r.url + ": ";
  if (detail.compare(0, prefix.size(), prefix) == 0) detail.erase(0, prefix.size());
  if (s.code() != StatusCode::kUnavailable && s.code() != StatusCode::kDeadlineExceeded) {
    return {s.code(), r.method + " " + path + ": " + detail};
  }
  return {s.code(), r.method + " " + path + ": cannot reach the API server " + c.server + ": " +
                        detail};
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

ApiClient::ApiClient(ApiConfig config) : config_(std::move(config)) {}

StatusOr<ApiResponse> ApiClient::request(const std::string& method, const std::string& path,
                                         const std::string& body,
                                         const std::string& content_type) {
  net::ClientRequest r = apiRequest(config_, method, path);
  if (method != "GET" && method != "DELETE") {
    r.body = body;
    r.content_type = content_type;
  }
  auto resp = net::httpCall(r, clientOptions(config_));
  if (!resp.isOk()) return transportError(config_, r, path, resp.status());
  return ApiResponse{resp->status, std::move(resp->body)};
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
  net::ClientRequest r = apiRequest(config_, "GET", path);
  net::ClientOptions o = clientOptions(config_);
  o.timeout = Duration(0);  // the caller bounds the watch with ?timeoutSeconds=
  // A dead connection is noticed by TCP keepalive (the server sends bookmarks/data otherwise).
  o.tcp_keepalive = true;
  std::string buffer;
  Status parse_error;
  auto on_data = [&](std::string_view data) {
    buffer.append(data);
    size_t start = 0;
    for (;;) {
      size_t nl = buffer.find('\n', start);
      if (nl == std::string::npos) break;
      std::string line = buffer.substr(start, nl - start);
      start = nl + 1;
      if (trim(line).empty()) continue;
      json event = json::parse(line, nullptr, false);
      if (event.is_discarded() || !event.is_object()) {
        parse_error = internalError("watch stream: not a JSON event: " + line.substr(0, 200));
        return false;
      }
      if (!on_event(event)) return false;
    }
    buffer.erase(0, start);
    return true;
  };
  auto resp = net::httpStream(r, o, on_data, stop);
  if (!parse_error.isOk()) return parse_error;
  if (!resp.isOk()) return transportError(config_, r, path, resp.status());
  if (resp->stopped) return Status::ok();
  if (resp->status < 200 || resp->status >= 300) {
    return apiError("GET", path, ApiResponse{resp->status, resp->body});
  }
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
