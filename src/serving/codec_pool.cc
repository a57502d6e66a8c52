#include "serving/codec_pool.h"

#include <algorithm>

namespace surge::serving {

CodecPool::CodecPool(CodecPoolOptions options) : options_(options) {
  int n = std::max(1, options_.threads);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { loop(); });
}

CodecPool::~CodecPool() { stop(); }

bool CodecPool::trySubmit(std::function<void()> job, size_t bytes) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() + running_ >= options_.max_jobs) return false;
  // One job larger than the byte budget is still taken when nothing else is queued: a body the
  // HTTP layer accepted (under --max-request-size) is never refused for its size alone.
  if (!queue_.empty() && queued_bytes_ + bytes > options_.max_queued_bytes) return false;
  queue_.push_back({std::move(job), bytes});
  queued_bytes_ += bytes;
  cv_.notify_one();
  return true;
}

size_t CodecPool::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void CodecPool::stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
    queued_bytes_ = 0;
    cv_.notify_all();
  }
  dropped.clear();  // outside the lock: a job's captures may take locks of their own
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

void CodecPool::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= job.bytes;
      ++running_;
    }
    try {
      job.fn();
    } catch (...) {
      // A job answers its own errors (guarded()); nothing may unwind out of the pool thread.
    }
    job.fn = nullptr;  // captures released before the job counts as done
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace surge::serving
