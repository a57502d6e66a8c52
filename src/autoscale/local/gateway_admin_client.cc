#include "autoscale/local/gateway_admin_client.h"

#include <nlohmann/json.hpp>

namespace surge::autoscale {

using nlohmann::json;

StatusOr<GatewayAdminClient> GatewayAdminClient::create(const std::string& admin_url,
                                                        const std::string& token,
                                                        Duration timeout) {
  ASSIGN_OR_RETURN(net::Url url, net::parseUrl(admin_url));
  if (url.target != "/") {
    return invalidArgument("the URL '" + admin_url + "' must not have a path");
  }
  GatewayAdminClient c;
  c.url_ = admin_url;
  c.origin_ = url.origin();
  c.options_ = net::ClientOptions::withTimeout(timeout);
  c.options_.bearer_token = token;
  c.options_.user_agent = "surge-autoscaler";
  return c;
}

StatusOr<net::ClientResponse> GatewayAdminClient::call(const std::string& method,
                                                       const std::string& target,
                                                       const std::string& body) {
  net::ClientRequest r;
  r.method = method;
  r.url = origin_ + target;
  r.body = body;
  if (!body.empty()) r.content_type = "application/json";
  return net::httpCall(r, options_);
}

Status GatewayAdminClient::expect(const StatusOr<net::ClientResponse>& reply,
                                  std::initializer_list<int> ok, const std::string& what) const {
  if (!reply.isOk()) return {reply.status().code(), "gateway admin " + what + ": " +
                                                        reply.status().message()};
  for (int s : ok) {
    if (reply->status == s) return Status::ok();
  }
  std::string msg = reply->body;
  json j = json::parse(reply->body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
    msg = j["error"].get<std::string>();
  }
  std::string text = "gateway admin " + what + ": HTTP " + std::to_string(reply->status) + ": " +
                     msg;
  switch (reply->status) {
    case 400:
      return invalidArgument(text);
    case 401:
    case 403:
      return failedPrecondition(text + " (check the gateway token)");
    case 404:
      return notFound(text);
    case 409:
      return alreadyExists(text);
    default:
      return unavailable(text);
  }
}

Status GatewayAdminClient::addBackend(const std::string& address, int32_t weight,
                                      const std::string& zone) {
  json j = {{"address", address}, {"weight", weight}};
  if (!zone.empty()) j["zone"] = zone;
  auto r = call("POST", "/backends", j.dump());
  return expect(r, {201, 409}, "add " + address);
}

StatusOr<bool> GatewayAdminClient::drainBackend(const std::string& address) {
  auto r = call("DELETE", "/backends/" + address + "?drain=true", "");
  RETURN_IF_ERROR(expect(r, {200, 202}, "drain " + address));
  return r->status == 200;
}

Status GatewayAdminClient::removeBackend(const std::string& address) {
  auto r = call("DELETE", "/backends/" + address, "");
  return expect(r, {200}, "remove " + address);
}

Status GatewayAdminClient::setWeight(const std::string& address, int32_t weight) {
  auto r = call("PATCH", "/backends/" + address, json({{"weight", weight}}).dump());
  return expect(r, {200}, "set weight of " + address);
}

namespace {

BackendState backendFromJson(const json& j) {
  BackendState b;
  b.address = j.value("address", "");
  b.weight = j.value("weight", 0);
  b.health = j.value("health", "");
  b.draining = j.value("draining", false);
  b.in_flight = j.value("in_flight", int64_t{0});
  b.requests = j.value("requests", int64_t{0});
  return b;
}

}  // namespace

StatusOr<std::optional<BackendState>> GatewayAdminClient::getBackend(const std::string& address) {
  auto r = call("GET", "/backends/" + address, "");
  if (r.isOk() && r->status == 404) return std::optional<BackendState>();
  RETURN_IF_ERROR(expect(r, {200}, "get " + address));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return unavailable("gateway admin get " + address + ": response is not a JSON object");
  }
  try {
    return std::optional<BackendState>(backendFromJson(j));
  } catch (const json::exception& e) {
    return unavailable("gateway admin get " + address + ": " + e.what());
  }
}

StatusOr<std::vector<BackendState>> GatewayAdminClient::listBackends() {
  auto r = call("GET", "/backends", "");
  RETURN_IF_ERROR(expect(r, {200}, "list"));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("backends") ||
      !j["backends"].is_array()) {
    return unavailable("gateway admin list: response has no 'backends' array");
  }
  std::vector<BackendState> out;
  try {
    for (const auto& b : j["backends"]) out.push_back(backendFromJson(b));
  } catch (const json::exception& e) {
    return unavailable(std::string("gateway admin list: ") + e.what());
  }
  return out;
}

}  // namespace surge::autoscale
