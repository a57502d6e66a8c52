// Batch policy: Triton's dynamic batcher decision (triton-inference-server/core
// dynamic_batch_scheduler.cc, GetDynamicBatch), as a pure function of the queue and the time.
// Called whenever a model instance is free:
//   1. Walk the queue in FIFO order. A request past its deadline is reported as expired (REJECT:
//      the driver answers 503; DELAY: the driver moves it behind everything else) and skipped.
//   2. Take requests while the rows stay <= max_batch_size and their shape key (the non-batch
//      dims of every input) matches the first one's; remember the largest preferred size reached.
//   3. delay exceeded = flush || (max_queue_delay > 0 && now - oldest enqueue >= max_queue_delay).
//   4. Dispatch the largest preferred size reached unless the delay is exceeded; otherwise dispatch
//      everything walked if the max batch size or a shape boundary stopped the walk, if it reached
//      the largest preferred size, if the delay is exceeded or if there is no delay; otherwise wait
//      until the delay expires (or the nearest deadline; a new request also wakes the driver).
// Without dynamic_batching (or max_batch_size 0) each request is its own batch.
// Complexity: O(requests in the batch + expired requests skipped), independent of queue length.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "common/clock.h"

namespace surge::serving {

struct BatchPolicyOptions {
  bool dynamic = false;        // dynamic_batching configured (and max_batch_size > 0)
  int64_t max_batch_size = 0;  // rows
  std::vector<int64_t> preferred_batch_sizes;  // ascending; empty = [max_batch_size]
  Duration max_queue_delay{0};
};

struct QueuedItem {
  TimePoint enqueued{};
  TimePoint deadline = TimePoint::max();  // queue timeout; max = none
  int64_t rows = 1;                       // <= max_batch_size (checked when the request arrived)
  uint64_t shape_key = 0;                 // items with different keys never share a batch
};

struct BatchDecision {
  enum class Action { kIdle, kWait, kDispatch };
  Action action = Action::kIdle;
  // kDispatch: the first `count` items of the queue once the expired ones are removed, `rows` rows.
  size_t count = 0;
  int64_t rows = 0;
  // kWait: decide again at this time (or when a request arrives).
  TimePoint wake_at{};
  // Indices (ascending, into the queue as passed) of items past their deadline.
  std::vector<size_t> expired;
};

// `flush`: dispatch whatever can go now, never wait (the server is draining).
BatchDecision decideBatch(const BatchPolicyOptions& options, const std::deque<QueuedItem>& queue,
                          TimePoint now, bool flush = false);

}  // namespace surge::serving
