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

void Cluster::onResult(lb::Host& host, Outcome outcome, std::optional<Duration> ttfb, TimePoint now) {
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
    std::sort(hosts_.begin(), hosts_.end(),
              [](const lb::HostPtr& a, const lb::HostPtr& b) { return a->address() < b->address(); });
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
        SURGE_LOG(kInfo, "gateway", "draining backend " + address + " (" +
                                        std::to_string(host->inFlight()) + " in flight)");
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
                      (done ? " (drained)" : " (drain timeout, " + std::to_string(host->inFlight()) +
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

}  // namespace surge::gateway
