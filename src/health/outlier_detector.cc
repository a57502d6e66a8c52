#include "health/outlier_detector.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace surge::health {

struct OutlierDetector::Entry {
  std::atomic<uint32_t> consecutive{0};
  std::atomic<uint64_t> ejections{0};
  // Guarded by the detector's mutex_.
  int times_ejected = 0;
  TimePoint last_until{};
};

// Immutable once published: hosts sorted by address in memory, entries parallel to them.
struct OutlierDetector::Index {
  std::vector<const lb::Host*> keys;
  std::vector<std::shared_ptr<Entry>> entries;

  Entry* find(const lb::Host* host) const {
    auto it = std::lower_bound(keys.begin(), keys.end(), host);
    if (it == keys.end() || *it != host) return nullptr;
    return entries[static_cast<size_t>(it - keys.begin())].get();
  }
};

// Per-thread cache of a detector's index (a tiny RCU): readers compare one atomic version and
// take the mutex only after setHosts. A cached index owns only Entry objects, never hosts.
struct OutlierDetector::TlsSlot {
  uint64_t detector_id = 0;  // 0 = free; ids start at 1
  uint64_t version = 0;
  std::shared_ptr<const Index> index;
};

namespace {
std::atomic<uint64_t> g_next_detector_id{1};
}  // namespace

OutlierDetector::OutlierDetector(OutlierOptions options, EjectCallback on_eject)
    : options_(std::move(options)),
      on_eject_(std::move(on_eject)),
      id_(g_next_detector_id.fetch_add(1, std::memory_order_relaxed)),
      index_(std::make_shared<const Index>()) {}

OutlierDetector::~OutlierDetector() = default;

void OutlierDetector::setHosts(std::vector<lb::HostPtr> hosts) {
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  hosts.erase(std::remove(hosts.begin(), hosts.end(), nullptr), hosts.end());
  std::lock_guard<std::mutex> lock(mutex_);
  auto index = std::make_shared<Index>();
  index->keys.reserve(hosts.size());
  index->entries.reserve(hosts.size());
  for (const auto& host : hosts) {
    const lb::Host* key = host.get();
    auto it = std::lower_bound(index_->keys.begin(), index_->keys.end(), key);
    index->keys.push_back(key);
    if (it != index_->keys.end() && *it == key) {
      index->entries.push_back(index_->entries[static_cast<size_t>(it - index_->keys.begin())]);
    } else {
      index->entries.push_back(std::make_shared<Entry>());
    }
  }
  hosts_ = std::move(hosts);
  index_ = std::move(index);
  version_.fetch_add(1, std::memory_order_release);
}

OutlierDetector::Entry* OutlierDetector::find(const lb::Host& host) const {
  thread_local std::array<TlsSlot, 4> slots;
  thread_local size_t next_victim = 0;
  const uint64_t version = version_.load(std::memory_order_acquire);
  TlsSlot* slot = nullptr;
  for (auto& s : slots) {
    if (s.detector_id == id_) {
      slot = &s;
      break;
    }
  }
  if (slot == nullptr) {
    slot = &slots[next_victim++ % slots.size()];
    slot->detector_id = id_;
    slot->index = nullptr;
  }
  if (slot->index == nullptr || slot->version != version) {
    std::lock_guard<std::mutex> lock(mutex_);
    slot->index = index_;
    slot->version = version_.load(std::memory_order_relaxed);
  }
  return slot->index->find(&host);
}

void OutlierDetector::onSuccess(const lb::Host& host) {
  if (!options_.enabled) return;
  Entry* entry = find(host);
  if (entry != nullptr && entry->consecutive.load(std::memory_order_relaxed) != 0) {
    entry->consecutive.store(0, std::memory_order_relaxed);
  }
}

bool OutlierDetector::onFailure(lb::Host& host, TimePoint now) {
  if (!options_.enabled) return false;
  Entry* entry = find(host);
  if (entry == nullptr || host.ejected(now)) return false;
  const uint32_t threshold = static_cast<uint32_t>(std::max(1, options_.consecutive_failures));
  if (entry->consecutive.fetch_add(1, std::memory_order_relaxed) + 1 < threshold) return false;

  lb::HostPtr ejected_host;
  TimePoint until;
  int times = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Re-check under the lock: another worker may have ejected it, or it may have been removed.
    if (host.ejected(now) || index_->find(&host) != entry) return false;
    if (entry->consecutive.load(std::memory_order_relaxed) < threshold) return false;
    size_t ejected = 0;
    for (const auto& h : hosts_) ejected += h->ejected(now) ? 1 : 0;
    if (ejected >= maxEjectedLocked()) {
      // Keep the streak (bounded) so the next failure tries again once a slot frees up.
      entry->consecutive.store(threshold, std::memory_order_relaxed);
      ejections_overflow_total_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Cap the multiplier where the ejection time saturates, so decay starts from there.
    int max_times = 1;
    if (options_.base_ejection_time > Duration::zero()) {
      max_times = static_cast<int>(std::max<int64_t>(
          1, (options_.max_ejection_time.count() + options_.base_ejection_time.count() - 1) /
                 options_.base_ejection_time.count()));
    }
    times = std::min(decayedTimes(*entry, now) + 1, max_times);
    const Duration duration =
        std::min(options_.base_ejection_time * times, options_.max_ejection_time);
    until = now + duration;
    entry->times_ejected = times;
    entry->last_until = until;
    entry->consecutive.store(0, std::memory_order_relaxed);
    entry->ejections.fetch_add(1, std::memory_order_relaxed);
    ejections_total_.fetch_add(1, std::memory_order_relaxed);
    host.setEjectedUntil(until);
    if (on_eject_) {
      auto it =
          std::lower_bound(hosts_.begin(), hosts_.end(), &host,
                           [](const lb::HostPtr& a, const lb::Host* b) { return a.get() < b; });
      ejected_host = *it;  // present: index_ and hosts_ hold the same hosts
    }
  }
  // `entry` may be gone after the callback (it may call setHosts): do not touch it below.
  if (on_eject_) on_eject_(ejected_host, until, times);
  return true;
}

int OutlierDetector::decayedTimes(const Entry& entry, TimePoint now) const {
  if (entry.times_ejected == 0 || now < entry.last_until) return entry.times_ejected;
  if (options_.decay_interval <= Duration::zero()) return 0;
  const int64_t periods = (now - entry.last_until) / options_.decay_interval;
  return static_cast<int>(std::max<int64_t>(0, entry.times_ejected - periods));
}

size_t OutlierDetector::maxEjectedLocked() const {
  const size_t n = hosts_.size();
  if (n < 2 || options_.max_ejection_percent <= 0) return 0;
  // The epsilon keeps e.g. 10 hosts × 30% at 3 despite floating-point rounding.
  const double share =
      static_cast<double>(n) * std::min(options_.max_ejection_percent, 100.0) / 100.0;
  return std::max<size_t>(1, static_cast<size_t>(std::floor(share + 1e-9)));
}

size_t OutlierDetector::maxEjected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return maxEjectedLocked();
}

size_t OutlierDetector::ejectedCount(TimePoint now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t ejected = 0;
  for (const auto& h : hosts_) ejected += h->ejected(now) ? 1 : 0;
  return ejected;
}

uint64_t OutlierDetector::ejectionsTotal(const lb::Host& host) const {
  const Entry* entry = find(host);
  return entry == nullptr ? 0 : entry->ejections.load(std::memory_order_relaxed);
}

int OutlierDetector::consecutiveFailures(const lb::Host& host) const {
  const Entry* entry = find(host);
  return entry == nullptr ? 0
                          : static_cast<int>(entry->consecutive.load(std::memory_order_relaxed));
}

int OutlierDetector::timesEjected(const lb::Host& host, TimePoint now) const {
  const Entry* entry = find(host);
  if (entry == nullptr) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  return decayedTimes(*entry, now);
}

}  // namespace surge::health
