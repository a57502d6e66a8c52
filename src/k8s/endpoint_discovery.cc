#include "k8s/endpoint_discovery.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "common/logging.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

constexpr const char* kLog = "k8s-discovery";

}  // namespace

EndpointSliceWatcher::EndpointSliceWatcher(std::shared_ptr<ApiClient> api,
                                           EndpointSliceWatchOptions options,
                                           HostSetCallback callback)
    : api_(std::move(api)),
      options_(std::move(options)),
      callback_(std::move(callback)),
      random_(options_.seed ? options_.seed : Random::osSeed()) {}

EndpointSliceWatcher::~EndpointSliceWatcher() { stop(); }

void EndpointSliceWatcher::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void EndpointSliceWatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EndpointSliceWatcher::sleepFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

std::string EndpointSliceWatcher::basePath() const {
  return "/apis/discovery.k8s.io/v1/namespaces/" + options_.ns +
         "/endpointslices?labelSelector=" +
         urlEncode("kubernetes.io/service-name=" + options_.service);
}

void EndpointSliceWatcher::run() {
  int attempt = 0;
  while (!stop_) {
    Status s = listAndWatch();
    if (stop_) break;
    if (s.isOk()) {
      attempt = 0;
      continue;
    }
    ++errors_;
    Duration d = backoffDelay(options_.backoff, attempt++, random_);
    SURGE_LOG(kWarn, kLog,
              "service " + options_.ns + "/" + options_.service + ": " + s.message() +
                  "; keeping the last host set, retrying in " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
                  " ms");
    sleepFor(d);
  }
}

Status EndpointSliceWatcher::listAndWatch() {
  // List.
  ++lists_;
  ASSIGN_OR_RETURN(json list, api_->get(basePath()));
  if (!list.contains("items") || !list["items"].is_array()) {
    return internalError("EndpointSliceList without items");
  }
  std::string rv;
  if (list.contains("metadata") && list["metadata"].contains("resourceVersion") &&
      list["metadata"]["resourceVersion"].is_string()) {
    rv = list["metadata"]["resourceVersion"];
  }
  SliceCache cache;
  cache.replace(list["items"].get<std::vector<json>>());
  auto report = [&] {
    auto desired = cache.desired(options_.port);
    if (reported_ && desired == last_) return;
    last_ = desired;
    reported_ = true;
    callback_(desired);
  };
  report();
  // Watch until the server ends the stream (re-watch from the last resourceVersion), a 410
  // (re-list), or an error (back off, re-list).
  while (!stop_) {
    ++watches_;
    std::string path = basePath() + "&watch=1&allowWatchBookmarks=true&resourceVersion=" +
                       urlEncode(rv) +
                       "&timeoutSeconds=" + std::to_string(options_.watch_timeout_seconds);
    bool gone = false;
    Status event_error;
    Status s = api_->stream(
        path,
        [&](const json& event) {
          std::string type = event.value("type", "");
          if (type == "ERROR") {
            int code = 0;
            if (event.contains("object") && event["object"].contains("code") &&
                event["object"]["code"].is_number_integer()) {
              code = event["object"]["code"];
            }
            if (code == 410) {
              gone = true;
            } else {
              event_error = unavailable("watch ERROR event: " + event.dump().substr(0, 300));
            }
            return false;
          }
          if (Status a = cache.apply(event); !a.isOk()) {
            event_error = internalError(a.message());
            return false;
          }
          const json& obj = event.contains("object") ? event["object"] : json();
          if (obj.is_object() && obj.contains("metadata") &&
              obj["metadata"].contains("resourceVersion") &&
              obj["metadata"]["resourceVersion"].is_string()) {
            rv = obj["metadata"]["resourceVersion"];
          }
          if (type != "BOOKMARK") report();
          return true;
        },
        &stop_);
    if (gone || httpCodeOf(s) == 410) {
      SURGE_LOG(kInfo, kLog, "resourceVersion " + rv + " expired (410 Gone): re-listing");
      return Status::ok();  // re-list at once
    }
    RETURN_IF_ERROR(event_error);
    RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

// ---- DNS ----------------------------------------------------------------------------------------

StatusOr<std::vector<DesiredHost>> resolveHosts(const std::string& name, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) return unavailable("resolving " + name + ": " + gai_strerror(rc));
  std::set<std::string> addrs;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (p->ai_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof buf);
      addrs.insert(std::string(buf) + ":" + std::to_string(port));
    } else if (p->ai_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf,
                  sizeof buf);
      addrs.insert("[" + std::string(buf) + "]:" + std::to_string(port));
    }
  }
  ::freeaddrinfo(res);
  std::vector<DesiredHost> out;
  for (const auto& a : addrs) out.push_back(DesiredHost{a, "", false});
  return out;
}

DnsDiscovery::DnsDiscovery(DnsDiscoveryOptions options, HostSetCallback callback)
    : options_(std::move(options)), callback_(std::move(callback)) {}

DnsDiscovery::~DnsDiscovery() { stop(); }

void DnsDiscovery::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void DnsDiscovery::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DnsDiscovery::run() {
  while (!stop_) {
    auto hosts = resolveHosts(options_.name, options_.port);
    ++resolutions_;
    if (!hosts.isOk()) {
      SURGE_LOG(kWarn, kLog, hosts.status().message() + "; keeping the last host set");
    } else if (!reported_ || *hosts != last_) {
      last_ = *hosts;
      reported_ = true;
      callback_(last_);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.interval, [this] { return stop_.load(); });
  }
}

}  // namespace surge::k8s
