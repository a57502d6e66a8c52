#include "serving/batch_policy.h"

#include <algorithm>

namespace surge::serving {

BatchDecision decideBatch(const BatchPolicyOptions& options, const std::deque<QueuedItem>& queue,
                          TimePoint now, bool flush) {
  BatchDecision d;
  bool batching = options.dynamic && options.max_batch_size > 0;
  int64_t largest_preferred = options.preferred_batch_sizes.empty()
                                  ? options.max_batch_size
                                  : options.preferred_batch_sizes.back();
  size_t count = 0;
  int64_t rows = 0;
  size_t best_count = 0;
  int64_t best_rows = 0;
  bool stopped = false;  // by max_batch_size or a shape boundary
  uint64_t key = 0;
  TimePoint oldest{};
  TimePoint nearest_deadline = TimePoint::max();
  for (size_t i = 0; i < queue.size(); ++i) {
    const QueuedItem& it = queue[i];
    if (it.deadline <= now) {
      d.expired.push_back(i);
      continue;
    }
    if (count == 0) {
      key = it.shape_key;
      oldest = it.enqueued;
    } else if (it.shape_key != key || rows + it.rows > options.max_batch_size) {
      stopped = true;
      break;
    }
    ++count;
    rows += it.rows;
    nearest_deadline = std::min(nearest_deadline, it.deadline);
    if (!batching) {
      stopped = true;
      break;
    }
    if (std::binary_search(options.preferred_batch_sizes.begin(),
                           options.preferred_batch_sizes.end(), rows)) {
      best_count = count;
      best_rows = rows;
    }
    if (rows >= options.max_batch_size) {
      stopped = true;
      break;
    }
  }
  if (count == 0) return d;  // empty, or everything walked had expired

  auto dispatch = [&](size_t n, int64_t r) {
    d.action = BatchDecision::Action::kDispatch;
    d.count = n;
    d.rows = r;
    return d;
  };
  if (!batching) return dispatch(count, rows);
  Duration delay = options.max_queue_delay;
  bool delay_exceeded = flush || (delay > Duration::zero() && now - oldest >= delay);
  if (best_count > 0 && !delay_exceeded) return dispatch(best_count, best_rows);
  if (stopped || rows >= largest_preferred || delay_exceeded || delay <= Duration::zero()) {
    return dispatch(count, rows);
  }
  d.action = BatchDecision::Action::kWait;
  d.wake_at = std::min(oldest + delay, nearest_deadline);
  return d;
}

}  // namespace surge::serving
