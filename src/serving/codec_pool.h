// CodecPool: a small, bounded pool of threads for the CPU-heavy parts of a request that must not
// run on an event loop: inflating a compressed body (a 70 KB gzip can inflate to 64 MiB), parsing
// what it inflated to, and compressing a large answer. An event loop that did this work itself
// would stall every other connection it serves — health probes and /metrics included — for as
// long as one body takes.
// Bounded twice: at most `max_jobs` jobs queued or running (trySubmit answers false beyond that,
// and the caller answers 503 or does the cheap thing instead), and at most `max_queued_bytes` of
// input held by queued jobs (each job says how many bytes it holds). Memory is then at most
// threads × the per-job output limit (--max-request-size) plus max_queued_bytes.
// stop(): no new job is accepted, queued jobs are dropped (their destructors run), running ones
// finish; then the threads are joined. Idempotent; the destructor calls it.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace surge::serving {

struct CodecPoolOptions {
  int threads = 2;
  size_t max_jobs = 32;                       // queued + running
  size_t max_queued_bytes = 64 * 1024 * 1024;  // input held by queued jobs
};

class CodecPool {
 public:
  explicit CodecPool(CodecPoolOptions options = {});
  ~CodecPool();
  CodecPool(const CodecPool&) = delete;
  CodecPool& operator=(const CodecPool&) = delete;

  // Queues `job`, which holds `bytes` of input until it runs. False (job not taken) when the
  // pool is full or stopped.
  bool trySubmit(std::function<void()> job, size_t bytes = 0);
  void stop();

  // Jobs queued or running.
  size_t pending() const;

 private:
  struct Job {
    std::function<void()> fn;
    size_t bytes = 0;
  };
  void loop();

  const CodecPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t running_ = 0;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace surge::serving
