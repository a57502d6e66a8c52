// Test support: a small blocking HTTP/1.1 client over POSIX sockets (one request per connection,
// Connection: close), plus raw-socket helpers for malformed and slow clients.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace surge::testing {

struct HttpResult {
  int status = 0;                              // 0 = no response (connect failed, reset, timeout)
  std::string error;                           // why status is 0
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;                            // de-chunked
  double seconds = 0;                          // total time
};

HttpResult httpRequest(int port, const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = "",
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
inline HttpResult httpGet(int port, const std::string& target,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  return httpRequest(port, "GET", target, {}, "", timeout);
}

// Connects to 127.0.0.1:port; returns the fd or -1.
int connectTo(int port);
// Sends raw bytes on a connected socket; false on error.
bool sendAll(int fd, const std::string& data);
// Reads until the peer closes or `timeout`; returns what arrived.
std::string readAll(int fd, std::chrono::milliseconds timeout);

}  // namespace surge::testing
