#include "gateway/cluster.h"

#include <algorithm>

#include "common/logging.h"

namespace surge::gateway {

Cluster::Cluster(ClusterOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock), outlier_(options_.outlier) {
  std::lock_guard lock(mutex_);
  publishLocked();
}

Cluster::~Cluster() = default;

std::shared_ptr<const lb::HostSet> Cluster::snapshot() const {
  return std::atomic_load_explicit(&snapshot_, std::memory_order_acquire);
}

void Cluster::publishLocked() {
  TimePoint now = clock_.now();
  uint64_t v = version_.load(std::memory_order_relaxed) + 1;
  std::vector<lb::HostPtr> candidates;
  candidates.reserve(hosts_.size());
  for (const auto& h : hosts_) {
    if (!h->draining()) candidates.push_back(h);
  }
  published_eligibility_.clear();
  for (const auto& h : hosts_) published_eligibility_.emplace_back(h.get(), h->eligible(now));
  auto set = lb::buildHostSet(candidates, options_.host_set, now, v);
  std::atomic_store_explicit(&snapshot_, std::move(set), std::memory_order_release);
  version_.store(v, std::memory_order_release);
  last_publish_ = now;
}

void Cluster::onResult(lb::Host& host, Outcome outcome, std::optional<Duration> ttfb,
                       TimePoint now) {
  if (ttfb) host.latency().observe(*ttfb, now, options_.latency_tau);
  if (outcome == Outcome::kSuccess) {
    outlier_.onSuccess(host);
    return;
  }
  if (outlier_.onFailure(host, now)) {
    SURGE_LOG(kWarn, "gateway",
              "ejected " + host.address() + " after consecutive failures (outlier detection)");
    std::lock_guard lock(mutex_);
    publishLocked();
  }
}

Status Cluster::addHost(const BackendSpec& spec) {
  if (spec.address.empty()) return invalidArgument("backend address is empty");
  if (spec.weight < 1 || spec.weight > 10000) {
    return invalidArgument("weight of " + spec.address + " must be within 1..10000");
  }
  std::vector<lb::HostPtr> members;
  {
    std::lock_guard lock(mutex_);
    for (const auto& h : hosts_) {
      if (h->address() == spec.address) {
        if (!h->draining()) return alreadyExists("backend " + spec.address + " already exists");
      }
    }
    // A backend re-added while it drains comes back as a new host: drop the draining one now.
    std::erase_if(draining_, [&](const auto& d) { return d.first->address() == spec.address; });
    std::erase_if(hosts_, [&](const lb::HostPtr& h) { return h->address() == spec.address; });
    auto host = std::make_shared<lb::Host>(spec.address, spec.weight, spec.zone);
    host->setHealthy(options_.hosts_start_healthy);
    host->setHealthySince(clock_.now());
    hosts_.push_back(std::move(host));
    std::sort(hosts_.begin(), hosts_.end(), [](const lb::HostPtr& a, const lb::HostPtr& b) {
      return a->address() < b->address();
    });
    publishLocked();
    members = hosts_;
  }
  SURGE_LOG(kInfo, "gateway", "added backend " + spec.address);
  notifyMembership(std::move(members));
  return Status::ok();
}

Status Cluster::removeHost(const std::string& address, bool drain) {
  std::vector<lb::HostPtr> members;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(hosts_.begin(), hosts_.end(),
                           [&](const lb::HostPtr& h) { return h->address() == address; });
    if (it == hosts_.end()) return notFound("no backend " + address);
    lb::HostPtr host = *it;
    if (drain && host->inFlight() > 0) {
      if (!host->draining()) {
        host->setDraining(true);
        draining_.emplace_back(host, clock_.now() + options_.drain_timeout);
        SURGE_LOG(kInfo, "gateway",
                  "draining backend " + address + " (" + std::to_string(host->inFlight()) +
                      " in flight)");
      }
      publishLocked();
      return Status::ok();
    }
    host->setDraining(true);
    hosts_.erase(it);
    std::erase_if(draining_, [&](const auto& d) { return d.first == host; });
    publishLocked();
    members = hosts_;
  }
  SURGE_LOG(kInfo, "gateway", "removed backend " + address);
  notifyMembership(std::move(members));
  return Status::ok();
}

Status Cluster::setWeight(const std::string& address, uint32_t weight) {
  if (weight < 1 || weight > 10000) return invalidArgument("weight must be within 1..10000");
  std::lock_guard lock(mutex_);
  for (const auto& h : hosts_) {
    if (h->address() == address) {
      h->setWeight(weight);
      publishLocked();
      return Status::ok();
    }
  }
  return notFound("no backend " + address);
}

lb::HostPtr Cluster::find(const std::string& address) const {
  std::lock_guard lock(mutex_);
  for (const auto& h : hosts_) {
    if (h->address() == address) return h;
  }
  return nullptr;
}

std::vector<lb::HostPtr> Cluster::hosts() const {
  std::lock_guard lock(mutex_);
  return hosts_;
}

void Cluster::onHealthChanged(const lb::HostPtr& host, bool healthy) {
  if (healthy) host->setHealthySince(clock_.now());
  std::lock_guard lock(mutex_);
  publishLocked();
}

void Cluster::tick() {
  TimePoint now = clock_.now();
  std::vector<lb::HostPtr> members;
  bool membership_changed = false;
  {
    std::lock_guard lock(mutex_);
    for (auto it = draining_.begin(); it != draining_.end();) {
      const lb::HostPtr& host = it->first;
      bool done = host->inFlight() <= 0;
      if (done || now >= it->second) {
        SURGE_LOG(kInfo, "gateway",
                  "removed backend " + host->address() +
                      (done ? " (drained)"
                            : " (drain timeout, " + std::to_string(host->inFlight()) +
                                  " still in flight)"));
        std::erase(hosts_, host);
        it = draining_.erase(it);
        membership_changed = true;
      } else {
        ++it;
      }
    }
    // An ejection that expired, or a slow-start ramp, changes the eligible set without any event.
    if (membership_changed) publishLocked();  // before reading published_eligibility_ below
    bool republish = false;
    for (const auto& [host, was_eligible] : published_eligibility_) {
      if (host->eligible(now) != was_eligible) republish = true;
    }
    // While a slow-start ramp runs, republish periodically; once more when the last ramp ended,
    // so ramped hosts reach their full weight.
    bool ramping = lb::anyHostRamping(hosts_, options_.host_set, now);
    if ((ramping && now - last_publish_ >= options_.ramp_republish_interval) ||
        (ramping_ && !ramping)) {
      republish = true;
    }
    ramping_ = ramping;
    if (republish) publishLocked();
    if (membership_changed) members = hosts_;
  }
  if (membership_changed) notifyMembership(std::move(members));
}

int64_t Cluster::inFlight() const {
  std::lock_guard lock(mutex_);
  int64_t total = 0;
  for (const auto& h : hosts_) total += h->inFlight();
  return total;
}

void Cluster::setMembershipListener(std::function<void(std::vector<lb::HostPtr>)> fn) {
  std::vector<lb::HostPtr> members;
  {
    std::lock_guard lock(mutex_);
    membership_listener_ = std::move(fn);
    members = hosts_;
  }
  notifyMembership(std::move(members));
}

void Cluster::notifyMembership(std::vector<lb::HostPtr> members) {
  std::function<void(std::vector<lb::HostPtr>)> fn;
  {
    std::lock_guard lock(mutex_);
    fn = membership_listener_;
  }
  outlier_.setHosts(members);
  if (fn) fn(std::move(members));
}

namespace {
const char* const kBackendGauges[] = {
    "surge_gateway_backend_healthy",  "surge_gateway_backend_ejected",
    "surge_gateway_backend_draining", "surge_gateway_backend_in_flight",
    "surge_gateway_backend_weight",   "surge_gateway_backend_latency_ewma_seconds"};
}  // namespace

void Cluster::registerMetrics(metrics::Registry& registry) {
  using metrics::Sample;
  // One collector per family; each walks the host list (a copy under the mutex).
  auto per_host = [this](double (*value)(const lb::Host&, TimePoint)) {
    return [this, value](std::vector<Sample>& out) {
      TimePoint now = clock_.now();
      for (const auto& h : hosts()) out.push_back(Sample{{h->address()}, value(*h, now)});
    };
  };
  registry.gaugeCallback(
      kBackendGauges[0], "1 if the backend passes active health checks", {"backend"},
      per_host([](const lb::Host& h, TimePoint) { return h.healthy() ? 1.0 : 0.0; }));
  registry.gaugeCallback(
      kBackendGauges[1], "1 while the backend is ejected by outlier detection", {"backend"},
      per_host([](const lb::Host& h, TimePoint now) { return h.ejected(now) ? 1.0 : 0.0; }));
  registry.gaugeCallback(
      kBackendGauges[2], "1 while the backend drains (no new requests)", {"backend"},
      per_host([](const lb::Host& h, TimePoint) { return h.draining() ? 1.0 : 0.0; }));
  registry.gaugeCallback(
      kBackendGauges[3], "Requests in flight to the backend, all workers", {"backend"},
      per_host([](const lb::Host& h, TimePoint) { return static_cast<double>(h.inFlight()); }));
  registry.gaugeCallback(
      kBackendGauges[4], "Configured weight of the backend", {"backend"},
      per_host([](const lb::Host& h, TimePoint) { return static_cast<double>(h.weight()); }));
  registry.gaugeCallback(kBackendGauges[5],
                         "Peak-EWMA time to first byte of the backend (0 before any sample)",
                         {"backend"}, per_host([](const lb::Host& h, TimePoint) {
                           return h.latency().estimateNanos(Duration(0)) / 1e9;
                         }));
  registry.gaugeCallback("surge_gateway_backends", "Backends by state", {"state"},
                         [this](std::vector<Sample>& out) {
                           TimePoint now = clock_.now();
                           double healthy = 0, unhealthy = 0, ejected = 0, draining = 0;
                           for (const auto& h : hosts()) {
                             if (h->draining())
                               draining++;
                             else if (!h->healthy())
                               unhealthy++;
                             else if (h->ejected(now))
                               ejected++;
                             else
                               healthy++;
                           }
                           out.push_back(Sample{{"healthy"}, healthy});
                           out.push_back(Sample{{"unhealthy"}, unhealthy});
                           out.push_back(Sample{{"ejected"}, ejected});
                           out.push_back(Sample{{"draining"}, draining});
                         });
  registry.gaugeCallback("surge_gateway_panic", "1 while the gateway balances in panic mode", {},
                         [this](std::vector<Sample>& out) {
                           out.push_back(Sample{{}, snapshot()->panic ? 1.0 : 0.0});
                         });
  registry.counterCallback(
      "surge_gateway_backend_requests_total",
      "Requests sent to the backend since it was added (the autoscaler's per-replica rate)",
      {"backend"}, [this](std::vector<Sample>& out) {
        for (const auto& h : hosts()) {
          out.push_back(Sample{{h->address()}, static_cast<double>(h->requestsTotal())});
        }
      });
  registry.counterCallback(
      "surge_gateway_ejections_total", "Outlier ejections of the backend since it was added",
      {"backend"}, [this](std::vector<Sample>& out) {
        for (const auto& h : hosts()) {
          out.push_back(Sample{{h->address()}, static_cast<double>(outlier_.ejectionsTotal(*h))});
        }
      });
}

void Cluster::unregisterMetrics(metrics::Registry& registry) {
  for (const char* name : kBackendGauges) registry.removeCallback(name);
  registry.removeCallback("surge_gateway_backends");
  registry.removeCallback("surge_gateway_panic");
  registry.removeCallback("surge_gateway_ejections_total");
  registry.removeCallback("surge_gateway_backend_requests_total");
}

}  // namespace surge::gateway
