#include "k8s/endpoint_set.h"

#include <algorithm>

namespace surge::k8s {
namespace {

using nlohmann::json;

bool flag(const json& conditions, const char* key, bool if_absent) {
  if (!conditions.is_object()) return if_absent;
  auto it = conditions.find(key);
  if (it == conditions.end() || !it->is_boolean()) return if_absent;
  return it->get<bool>();
}

std::string hostPort(const std::string& address, int port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

}  // namespace

std::vector<DesiredHost> desiredFromSlices(const std::vector<json>& slices, int port) {
  std::map<std::string, DesiredHost> by_address;
  for (const json& slice : slices) {
    if (!slice.is_object() || !slice.contains("endpoints") || !slice["endpoints"].is_array()) {
      continue;  // a slice with no endpoints (endpoints: null) contributes nothing
    }
    if (slice.contains("addressType") && slice["addressType"] == "FQDN") continue;
    for (const json& ep : slice["endpoints"]) {
      if (!ep.is_object() || !ep.contains("addresses") || !ep["addresses"].is_array()) continue;
      const json& cond = ep.contains("conditions") ? ep["conditions"] : json();
      bool terminating = flag(cond, "terminating", false);
      bool ready = flag(cond, "ready", true);
      if (!terminating && !ready) continue;  // not ready: not a backend
      std::string zone = ep.contains("zone") && ep["zone"].is_string() ? ep["zone"].get<std::string>()
                                                                       : "";
      // Kubernetes uses only the first address of an endpoint (the others are ignored).
      if (ep["addresses"].empty() || !ep["addresses"][0].is_string()) continue;
      DesiredHost h{hostPort(ep["addresses"][0].get<std::string>(), port), zone, terminating};
      auto [it, inserted] = by_address.emplace(h.address, h);
      if (!inserted && it->second.draining && !h.draining) it->second = h;
    }
  }
  std::vector<DesiredHost> out;
  out.reserve(by_address.size());
  for (auto& [addr, h] : by_address) out.push_back(std::move(h));
  return out;
}

void SliceCache::replace(const std::vector<json>& items) {
  slices_.clear();
  for (const json& s : items) {
    if (s.contains("metadata") && s["metadata"].contains("name") &&
        s["metadata"]["name"].is_string()) {
      slices_[s["metadata"]["name"].get<std::string>()] = s;
    }
  }
}

Status SliceCache::apply(const json& event) {
  if (!event.is_object() || !event.contains("type") || !event["type"].is_string()) {
    return invalidArgument("watch event without a type");
  }
  std::string type = event["type"];
  if (type == "BOOKMARK") return Status::ok();
  if (!event.contains("object") || !event["object"].is_object()) {
    return invalidArgument("watch event " + type + " without an object");
  }
  const json& obj = event["object"];
  if (!obj.contains("metadata") || !obj["metadata"].contains("name") ||
      !obj["metadata"]["name"].is_string()) {
    return invalidArgument("watch event " + type + ": object without metadata.name");
  }
  std::string name = obj["metadata"]["name"];
  if (type == "ADDED" || type == "MODIFIED") {
    slices_[name] = obj;
  } else if (type == "DELETED") {
    slices_.erase(name);
  } else {
    return invalidArgument("unexpected watch event type " + type);
  }
  return Status::ok();
}

std::vector<DesiredHost> SliceCache::desired(int port) const {
  std::vector<json> all;
  all.reserve(slices_.size());
  for (const auto& [name, s] : slices_) all.push_back(s);
  return desiredFromSlices(all, port);
}

HostActions diffHosts(const std::vector<CurrentHost>& current,
                      const std::vector<DesiredHost>& desired) {
  HostActions a;
  std::map<std::string, bool> cur;  // address → draining
  for (const auto& c : current) cur[c.address] = c.draining;
  std::map<std::string, const DesiredHost*> want;
  for (const auto& d : desired) want[d.address] = &d;
  for (const auto& d : desired) {
    auto it = cur.find(d.address);
    if (d.draining) {
      if (it != cur.end() && !it->second) a.drain.push_back(d.address);
    } else if (it == cur.end() || it->second) {
      a.add.push_back(d);  // new, or back from draining
    }
  }
  for (const auto& c : current) {
    if (!c.draining && !want.count(c.address)) a.remove.push_back(c.address);
  }
  return a;
}

Duration backoffDelay(const BackoffPolicy& policy, int attempt, Random& random) {
  Duration d = policy.initial;
  for (int i = 0; i < attempt && d < policy.max; ++i) d *= 2;
  d = std::min(d, policy.max);
  auto half = d.count() / 2;
  return Duration(half + static_cast<int64_t>(random.uniform(static_cast<uint64_t>(half) + 1)));
}

}  // namespace surge::k8s
