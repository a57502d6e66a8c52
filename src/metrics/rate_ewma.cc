#include "metrics/rate_ewma.h"

#include <cmath>

#include "common/status.h"

namespace surge::metrics {

RateEwma::RateEwma(Duration window) : window_(window) { SURGE_CHECK(window.count() > 0); }

void RateEwma::update(double total, TimePoint now) {
  if (!has_baseline_) {
    has_baseline_ = true;
    total_ = total;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  double dt = toSeconds(now - last_);
  double delta = total >= total_ ? total - total_ : total;  // went down: the process restarted
  double instant = delta / dt;
  if (!has_rate_) {
    rate_ = instant;
    has_rate_ = true;
  } else {
    double alpha = 1 - std::exp(-dt / toSeconds(window_));
    rate_ += alpha * (instant - rate_);
  }
  total_ = total;
  last_ = now;
}

double RateEwma::rateAt(TimePoint now) const {
  if (!has_rate_ || now <= last_) return rate_;
  return rate_ * std::exp(-toSeconds(now - last_) / toSeconds(window_));
}

void RateEwma::reset() {
  has_baseline_ = false;
  has_rate_ = false;
  total_ = 0;
  last_ = TimePoint{};
  rate_ = 0;
}

}  // namespace surge::metrics
