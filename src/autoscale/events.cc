#include "autoscale/events.h"

#include <cstdio>
#include <ctime>

namespace surge::autoscale {

AutoscaleEvent EventLog::add(AutoscaleEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (event.type == "Warning" && !events_.empty()) {
    AutoscaleEvent& last = events_.back();
    if (last.type == event.type && last.reason == event.reason && last.message == event.message) {
      last.count++;
      last.time = event.time;
      last.unix_ms = event.unix_ms;
      last.from = event.from;
      last.to = event.to;
      last.metrics = std::move(event.metrics);
      return last;
    }
  }
  event.sequence = next_sequence_++;
  event.count = 1;
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
  return events_.back();
}

std::vector<AutoscaleEvent> EventLog::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {events_.begin(), events_.end()};
}

uint64_t EventLog::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_sequence_ - 1;
}

std::string formatUnixMs(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string formatEvent(const AutoscaleEvent& e) {
  std::string s = e.type + " " + e.reason + " " + std::to_string(e.from) + " -> " +
                  std::to_string(e.to) + ": " + e.message;
  if (!e.metrics.empty()) {
    s += "; metrics: ";
    for (size_t i = 0; i < e.metrics.size(); ++i) {
      if (i > 0) s += "; ";
      s += e.metrics[i];
    }
  }
  if (e.count > 1) s += " (x" + std::to_string(e.count) + ")";
  return s;
}

}  // namespace surge::autoscale
