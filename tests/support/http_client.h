// Test support: a small blocking HTTP/1.1 client over POSIX sockets (one request per connection,
// Connection: close) that parses the response; the raw-socket helpers for malformed and slow
// clients (connectTo, sendAll, readFor) are in socket_client.h, included here.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/socket_client.h"

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

}  // namespace surge::testing
