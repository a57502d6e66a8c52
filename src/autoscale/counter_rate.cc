#include "autoscale/counter_rate.h"

#include <cmath>
#include <limits>

namespace surge::autoscale {

int64_t toMilli(double value) {
  if (!std::isfinite(value) || value <= 0) return 0;
  double m = std::round(value * 1000.0);
  if (m >= 9.2e18) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(m);
}

std::optional<PodSample> CounterRates::observe(const std::string& key, double value,
                                               TimePoint now) {
  auto it = last_.find(key);
  if (it == last_.end()) {
    last_.emplace(key, Point{value, now});
    return std::nullopt;
  }
  Point& prev = it->second;
  if (now <= prev.at) return std::nullopt;
  Duration window = now - prev.at;
  double delta = value >= prev.value ? value - prev.value : value;  // reset: counted from 0
  prev = Point{value, now};
  PodSample s;
  s.value_milli = toMilli(delta / toSeconds(window));
  s.timestamp = now;
  s.window = window;
  return s;
}

void CounterRates::retain(const std::set<std::string>& keep) {
  for (auto it = last_.begin(); it != last_.end();) {
    if (keep.count(it->first) == 0) {
      it = last_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace surge::autoscale
