// Clock: injected time (Envoy's TimeSource, Seastar's manual_clock). Policies take a Clock& or a
// TimePoint; tests use ManualClock and never sleep to wait for a decision.
// Thread-safety: SteadyClock is stateless; ManualClock is safe to read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace surge {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time. Never goes backwards.
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  // A process-wide instance.
  static SteadyClock& instance();
};

// A clock that moves only when told to. Starts at an arbitrary non-zero epoch.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(1)))
      : ns_(start.time_since_epoch().count()) {}
  TimePoint now() const override {
    return TimePoint(Duration(ns_.load(std::memory_order_acquire)));
  }
  void advance(Duration d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void set(TimePoint t) { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<int64_t> ns_;
};

inline double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline Duration fromSeconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

}  // namespace surge
