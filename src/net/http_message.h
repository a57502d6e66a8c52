// Buffered HTTP/1.1 request and response, for control-plane handlers (admin API, demo upstream,
// and later the model server). The proxy data path does not use these: it streams.
// Thread-safety: value types.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace surge::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/backends/127.0.0.1:8001?drain=true" as received
  std::string path;    // target before '?', percent-decoded
  std::string query;   // target after '?', raw
  Headers headers;     // names as received
  std::string body;
  std::string remote_address;  // "127.0.0.1:53412"

  // Case-insensitive header lookup (first match).
  std::optional<std::string_view> header(std::string_view name) const;
  // Value of query parameter `name` (percent-decoded), if present.
  std::optional<std::string> queryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;  // Content-Length is added by the server; Content-Type if set here
  std::string body;

  // {"error": message} with Content-Type application/json.
  static HttpResponse jsonError(int status, std::string_view message);
  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body, std::string content_type = "text/plain");
};

// A handler answers one request. Called on the server's I/O thread: must not block for long.
using Handler = std::function<HttpResponse(const HttpRequest&)>;

// "Not Found" for 404, etc.
std::string_view reasonPhrase(int status);

}  // namespace surge::net
