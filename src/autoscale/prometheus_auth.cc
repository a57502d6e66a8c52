#include "autoscale/prometheus_auth.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace surge::autoscale {
namespace {

// A file path field: must be readable now.
Status readableFile(const config::Node& parent, std::string_view key, std::string* out) {
  ASSIGN_OR_RETURN(*out, parent.getString(key, ""));
  if (out->empty()) {
    if (parent.has(key)) return parent[key].error("must not be empty");
    return Status::ok();
  }
  std::ifstream in(*out, std::ios::binary);
  if (!in) return parent[key].error("cannot read " + *out + ": " + std::strerror(errno));
  return Status::ok();
}

bool validHeaderName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok) return false;
  }
  return true;
}

bool validHeaderValue(std::string_view v) {
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

Status checkHeader(const config::Node& at, const std::string& name, const std::string& value) {
  if (!validHeaderName(name)) return at.error("'" + name + "' is not a valid header name");
  if (!validHeaderValue(value)) return at.error("header '" + name + "': bad character in value");
  return Status::ok();
}

}  // namespace

StatusOr<PrometheusAuth> parsePrometheusAuth(const config::Node& n) {
  if (!n.isMap()) return n.error("expected a map (an authentication block)");
  RETURN_IF_ERROR(n.checkKeys({"bearer_token", "bearer_token_file", "username", "password",
                               "password_file", "ca_file", "cert_file", "key_file",
                               "custom_auth_header", "custom_auth_value", "custom_auth_value_file",
                               "insecure_skip_verify", "headers"}));
  PrometheusAuth a;
  a.location = n.location();
  ASSIGN_OR_RETURN(a.bearer_token, n.getString("bearer_token", ""));
  RETURN_IF_ERROR(readableFile(n, "bearer_token_file", &a.bearer_token_file));
  if (!a.bearer_token.empty() && !a.bearer_token_file.empty()) {
    return n["bearer_token_file"].error("give bearer_token or bearer_token_file, not both");
  }
  ASSIGN_OR_RETURN(a.username, n.getString("username", ""));
  ASSIGN_OR_RETURN(a.password, n.getString("password", ""));
  RETURN_IF_ERROR(readableFile(n, "password_file", &a.password_file));
  if (!a.password.empty() && !a.password_file.empty()) {
    return n["password_file"].error("give password or password_file, not both");
  }
  if (a.username.empty() && (!a.password.empty() || !a.password_file.empty())) {
    return (n.has("password") ? n["password"] : n["password_file"])
        .error("a password needs a username (basic auth)");
  }
  if (a.username.find(':') != std::string::npos) {
    return n["username"].error("must not contain ':' (basic auth)");
  }
  RETURN_IF_ERROR(readableFile(n, "ca_file", &a.ca_file));
  RETURN_IF_ERROR(readableFile(n, "cert_file", &a.cert_file));
  RETURN_IF_ERROR(readableFile(n, "key_file", &a.key_file));
  if (a.cert_file.empty() != a.key_file.empty()) {
    return (a.cert_file.empty() ? n["key_file"] : n["cert_file"])
        .error("cert_file and key_file must be given together (TLS client certificate)");
  }
  ASSIGN_OR_RETURN(a.custom_auth_header, n.getString("custom_auth_header", ""));
  ASSIGN_OR_RETURN(a.custom_auth_value, n.getString("custom_auth_value", ""));
  RETURN_IF_ERROR(readableFile(n, "custom_auth_value_file", &a.custom_auth_value_file));
  bool has_value = n.has("custom_auth_value") || !a.custom_auth_value_file.empty();
  if (!a.custom_auth_header.empty()) {
    RETURN_IF_ERROR(checkHeader(n["custom_auth_header"], a.custom_auth_header,
                                a.custom_auth_value));
    if (!has_value) {
      return n["custom_auth_header"].error(
          "needs custom_auth_value or custom_auth_value_file (the header's value)");
    }
    if (n.has("custom_auth_value") && !a.custom_auth_value_file.empty()) {
      return n["custom_auth_value_file"].error(
          "give custom_auth_value or custom_auth_value_file, not both");
    }
  } else if (has_value) {
    return (n.has("custom_auth_value") ? n["custom_auth_value"] : n["custom_auth_value_file"])
        .error("needs custom_auth_header (the header's name)");
  }
  ASSIGN_OR_RETURN(a.insecure_skip_verify, n.getBool("insecure_skip_verify", false));
  config::Node h = n["headers"];
  if (!h.isNull()) {
    if (!h.isMap()) return h.error("expected a map of header names to values");
    for (const auto& [name, value_node] : h.entries()) {
      ASSIGN_OR_RETURN(std::string value, value_node.asString());
      RETURN_IF_ERROR(checkHeader(value_node, name, value));
      a.headers.emplace_back(name, std::move(value));
    }
  }
  return a;
}

StatusOr<TriggerAuthentications> parseTriggerAuthentications(const config::Node& n) {
  TriggerAuthentications out;
  if (n.isNull()) return out;
  if (!n.isMap()) return n.error("expected a map of names to authentication blocks");
  config::ErrorList errors;
  for (const auto& [name, block] : n.entries()) {
    auto a = parsePrometheusAuth(block);
    if (errors.add(a.status())) out[name] = std::move(a).value();
  }
  if (!errors.empty()) return errors.toStatus();
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> parseCommaPairs(const config::Node& n,
                                                                           std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  ASSIGN_OR_RETURN(std::string text, n.asString());
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return n.error("expected " + std::string(what) +
                     "=value pairs separated by commas, found '" + item + "'");
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

StatusOr<net::HeaderList> parseCustomHeaders(const config::Node& n) {
  ASSIGN_OR_RETURN(auto pairs, parseCommaPairs(n, "Name"));
  net::HeaderList out;
  for (auto& [name, value] : pairs) {
    RETURN_IF_ERROR(checkHeader(n, name, value));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace surge::autoscale
