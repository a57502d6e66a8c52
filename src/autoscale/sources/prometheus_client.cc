#include "autoscale/sources/prometheus_client.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace surge::autoscale {
namespace {

using nlohmann::json;

Status malformed(const std::string& why) {
  return unavailable("prometheus: malformed response: " + why);
}

StatusOr<double> parseValueString(const json& v) {
  if (!v.is_string()) return malformed("sample value is not a string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return malformed("sample value '" + s + "'");
  return d;
}

// [ <unix seconds>, "<value>" ]
StatusOr<PromSample> parsePair(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number()) {
    return malformed("expected [timestamp, \"value\"], found " + pair.dump());
  }
  PromSample s;
  s.timestamp = pair[0].get<double>();
  ASSIGN_OR_RETURN(s.value, parseValueString(pair[1]));
  return s;
}

StatusOr<std::string> readSecret(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return failedPrecondition("cannot read " + field + " " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status applyPrometheusAuth(const PrometheusAuth& auth, net::ClientOptions& o) {
  o.bearer_token = auth.bearer_token;
  o.bearer_token_file = auth.bearer_token_file;
  o.username = auth.username;
  o.password = auth.password;
  if (!auth.password_file.empty()) {
    ASSIGN_OR_RETURN(o.password, readSecret(auth.password_file, "password_file"));
  }
  o.ca_file = auth.ca_file;
  o.client_cert_file = auth.cert_file;
  o.client_key_file = auth.key_file;
  o.insecure_skip_verify = o.insecure_skip_verify || auth.insecure_skip_verify;
  for (const auto& h : auth.headers) o.headers.push_back(h);
  if (!auth.custom_auth_header.empty()) {
    std::string value = auth.custom_auth_value;
    if (!auth.custom_auth_value_file.empty()) {
      ASSIGN_OR_RETURN(value, readSecret(auth.custom_auth_value_file, "custom_auth_value_file"));
    }
    o.headers.emplace_back(auth.custom_auth_header, value);
  }
  return Status::ok();
}

StatusOr<PromResult> parsePrometheusResponse(std::string_view body, int http_status) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::string head(body.substr(0, 200));
    if (http_status != 200) {
      return unavailable("prometheus: HTTP " + std::to_string(http_status) + ": " + head);
    }
    return malformed("not a JSON object: " + head);
  }
  std::string status = doc.value("status", "");
  if (status == "error") {
    std::string type = doc.value("errorType", "error");
    std::string message = doc.value("error", "(no message)");
    Status s = (type == "bad_data" || http_status == 400 || http_status == 422)
                   ? invalidArgument("prometheus: " + type + ": " + message)
                   : unavailable("prometheus: " + type + ": " + message);
    return s;
  }
  if (status != "success") {
    if (http_status != 200) {
      return unavailable("prometheus: HTTP " + std::to_string(http_status));
    }
    return malformed("status '" + status + "'");
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) return malformed("no data object");
  PromResult out;
  out.result_type = data->value("resultType", "");
  auto result = data->find("result");
  if (result == data->end()) return malformed("no data.result");
  if (out.result_type == "scalar") {
    ASSIGN_OR_RETURN(PromSample s, parsePair(*result));
    out.samples.push_back(std::move(s));
    return out;
  }
  if (out.result_type != "vector") {
    return invalidArgument("prometheus: result type '" + out.result_type +
                           "' is not supported (the query must return an instant vector or a "
                           "scalar)");
  }
  if (!result->is_array()) return malformed("data.result is not an array");
  for (const auto& item : *result) {
    if (!item.is_object()) return malformed("vector element is not an object");
    auto value = item.find("value");
    if (value == item.end()) return malformed("vector element without a value");
    ASSIGN_OR_RETURN(PromSample s, parsePair(*value));
    auto metric = item.find("metric");
    if (metric != item.end() && metric->is_object()) {
      for (const auto& [k, v] : metric->items()) {
        if (v.is_string()) s.labels[k] = v.get<std::string>();
      }
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

PrometheusClient::PrometheusClient(std::string server_address, net::ClientOptions http)
    : server_(std::move(server_address)), http_(http) {
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

std::string PrometheusClient::queryUrl(std::string_view promql) const {
  return server_ + "/api/v1/query?query=" + net::queryEscape(promql);
}

StatusOr<PromResult> PrometheusClient::query(std::string_view promql) const {
  std::string url = queryUrl(promql);
  auto fetched = net::httpGet(url, http_);
  if (!fetched.isOk()) {
    return Status(fetched.status().code(),
                  "prometheus " + server_ + ": " + fetched.status().message());
  }
  return parsePrometheusResponse(fetched->body, fetched->status);
}

}  // namespace surge::autoscale
