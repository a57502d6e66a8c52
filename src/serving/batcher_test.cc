// The batcher driver with real threads: rows go back to the right requests under concurrency,
// instances run in parallel, queue limits, timeouts (REJECT and DELAY), warm-up before ready,
// load failures, draining. A gate in the fake backend holds instances still, so queue states are
// built deterministically (tests wait for events, never for time to pass).
#include "serving/batcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/random.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using runtime::DataType;
using runtime::Tensor;

struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int executing = 0;
  int executed = 0;
  std::vector<int64_t> batch_rows;  // every execute, in order
  std::vector<float> first_values;  // x[0] of every execute
  std::set<int> instances_seen;
  int max_parallel = 0;
  bool fail = false;
  bool bad_shape = false;
  ManualClock* clock = nullptr;  // when set, every execute advances it by execute_time
  Duration execute_time{0};

  void close() {
    std::lock_guard<std::mutex> l(mu);
    open = false;
  }
  void release() {
    {
      std::lock_guard<std::mutex> l(mu);
      open = true;
    }
    cv.notify_all();
  }
  // Waits until `n` executes are blocked inside the backend (or running).
  bool waitExecuting(int n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, 10s, [&] { return executing >= n; });
  }
};

class FakeInstance final : public runtime::ModelInstance {
 public:
  FakeInstance(Gate& gate, int index) : gate_(gate), index_(index) {}
  StatusOr<std::vector<Tensor>> execute(runtime::ExecuteRequest& req) override {
    {
      std::unique_lock<std::mutex> l(gate_.mu);
      ++gate_.executing;
      gate_.max_parallel = std::max(gate_.max_parallel, gate_.executing);
      gate_.batch_rows.push_back(req.batch_size);
      gate_.first_values.push_back(req.inputs[0].dataAs<float>()[0]);
      gate_.instances_seen.insert(index_);
      gate_.cv.notify_all();
      gate_.cv.wait(l, [&] { return gate_.open; });
      --gate_.executing;
      ++gate_.executed;
      if (gate_.clock != nullptr) gate_.clock->advance(gate_.execute_time);
      if (gate_.fail) return internalError("boom");
    }
    int64_t rows = req.batch_size;
    Tensor y(DataType::kFp32, {gate_.bad_shape ? rows + 1 : rows, 1});
    Tensor z(DataType::kInt32, {rows, 1});
    for (int64_t r = 0; r < rows; ++r) {
      y.dataAs<float>()[r] = req.inputs[0].dataAs<float>()[r] * 2;
      z.dataAs<int32_t>()[r] = index_;
    }
    std::vector<Tensor> out;
    out.push_back(std::move(y));
    out.push_back(std::move(z));
    return out;
  }

 private:
  Gate& gate_;
  int index_;
};

runtime::ModelSpec fakeSpec(int max_batch_size = 8) {
  runtime::ModelSpec s;
  s.name = "fake";
  s.version = 1;
  s.max_batch_size = max_batch_size;
  s.inputs = {{"x", DataType::kFp32, {1}, {}, false}};
  s.outputs = {{"y", DataType::kFp32, {1}, {}, false}, {"z", DataType::kInt32, {1}, {}, false}};
  return s;
}

std::vector<runtime::InstanceSpec> instances(int n) {
  std::vector<runtime::InstanceSpec> out;
  for (int i = 0; i < n; ++i) out.push_back({"fake_" + std::to_string(i), i});
  return out;
}

// Collects results; wait() blocks until `n` have arrived.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, WorkResult> by_id;

  void add(int id, WorkResult&& r) {
    {
      std::lock_guard<std::mutex> l(mu);
      by_id[id] = std::move(r);
    }
    cv.notify_all();
  }
  bool wait(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, 10s, [&] { return by_id.size() >= n; });
  }
};

std::unique_ptr<InferWork> work(int id, float first, int64_t rows, Results& results,
                                Duration timeout = Duration::zero()) {
  auto w = std::make_unique<InferWork>();
  Tensor x(DataType::kFp32, {rows, 1});
  for (int64_t r = 0; r < rows; ++r) x.dataAs<float>()[r] = first + static_cast<float>(r);
  w->inputs.push_back(std::move(x));
  w->outputs_wanted = {true, true};
  w->rows = rows;
  w->timeout = timeout;
  w->done = [&results, id](WorkResult&& r) { results.add(id, std::move(r)); };
  return w;
}

class BatcherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Batcher> make(BatcherOptions options, int n_instances, Clock& clock,
                                int max_batch_size = 8) {
    auto factory =
        [this](
            const runtime::InstanceSpec& is) -> StatusOr<std::unique_ptr<runtime::ModelInstance>> {
      if (fail_load_) return unavailable("no weights");
      return std::unique_ptr<runtime::ModelInstance>(
          std::make_unique<FakeInstance>(gate_, is.index));
    };
    auto b = std::make_unique<Batcher>(fakeSpec(max_batch_size), std::move(options),
                                       instances(n_instances), factory, clock);
    b->start();
    return b;
  }
  BatcherOptions dynamic(Duration delay = Duration::zero(), std::vector<int64_t> preferred = {}) {
    BatcherOptions o;
    o.policy = {true, 8, std::move(preferred), delay};
    return o;
  }

  Gate gate_;
  bool fail_load_ = false;
};

TEST_F(BatcherTest, EveryRequestGetsItsOwnRowsUnderConcurrency) {
  auto b = make(dynamic(1ms), 3, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  Results results;
  constexpr int kThreads = 6, kPerThread = 60;
  std::map<int, std::pair<float, int64_t>> sent;
  std::mutex sent_mu;
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      Random rnd(100 + static_cast<uint64_t>(t));
      for (int i = 0; i < kPerThread; ++i) {
        int id = t * 1000 + i;
        float first = static_cast<float>(id * 10);
        int64_t rows = 1 + static_cast<int64_t>(rnd.uniform(3));
        {
          std::lock_guard<std::mutex> l(sent_mu);
          sent[id] = {first, rows};
        }
        ASSERT_TRUE(b->enqueue(work(id, first, rows, results)).isOk());
      }
    });
  }
  for (auto& c : clients) c.join();
  ASSERT_TRUE(results.wait(kThreads * kPerThread));
  for (const auto& [id, want] : sent) {
    const WorkResult& r = results.by_id.at(id);
    ASSERT_TRUE(r.status.isOk()) << r.status.message();
    const Tensor& y = r.outputs[0];
    ASSERT_EQ(y.shape(), (runtime::Shape{want.second, 1})) << id;
    for (int64_t row = 0; row < want.second; ++row) {
      EXPECT_EQ(y.dataAs<float>()[row], 2 * (want.first + static_cast<float>(row))) << id;
    }
    EXPECT_GE(r.batch_rows, want.second);
  }
  std::lock_guard<std::mutex> l(gate_.mu);
  // Batching happened (fewer executes than requests) and no batch exceeded max_batch_size.
  size_t warmups = 0;  // none configured
  EXPECT_LT(gate_.batch_rows.size() - warmups, static_cast<size_t>(kThreads * kPerThread));
  for (int64_t rows : gate_.batch_rows) EXPECT_LE(rows, 8);
}

TEST_F(BatcherTest, InstancesExecuteInParallel) {
  BatcherOptions o = dynamic();
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 3, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(1, 1, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  ASSERT_TRUE(b->enqueue(work(2, 2, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(2));
  ASSERT_TRUE(b->enqueue(work(3, 3, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(3));  // three batches held at once: three instances busy
  EXPECT_EQ(b->executing(), 3u);
  gate_.release();
  ASSERT_TRUE(results.wait(3));
  std::set<int32_t> by;
  for (auto& [id, r] : results.by_id) by.insert(r.outputs[1].dataAs<int32_t>()[0]);
  EXPECT_EQ(by, (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(gate_.max_parallel, 3);
}

TEST_F(BatcherTest, BackPressureFormsBatches) {
  BatcherOptions o = dynamic();  // no delay: batches form only while the instance is busy
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(b->enqueue(work(i, static_cast<float>(i), 1, results)).isOk());
  EXPECT_EQ(b->queueLength(), 5u);
  gate_.release();
  ASSERT_TRUE(results.wait(6));
  std::lock_guard<std::mutex> l(gate_.mu);
  EXPECT_EQ(gate_.batch_rows, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(gate_.first_values, (std::vector<float>{0, 1}));  // FIFO
}

TEST_F(BatcherTest, QueueFullIsRejectedAtOnce) {
  BatcherOptions o = dynamic();
  o.queue.max_queue_size = 2;
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));  // executing: no longer counts against the queue
  ASSERT_TRUE(b->enqueue(work(1, 1, 1, results)).isOk());
  ASSERT_TRUE(b->enqueue(work(2, 2, 1, results)).isOk());
  Status full = b->enqueue(work(3, 3, 1, results));
  EXPECT_EQ(full.code(), StatusCode::kUnavailable);
  EXPECT_EQ(full.message(), "Exceeds maximum queue size");
  gate_.release();
  ASSERT_TRUE(results.wait(3));
  EXPECT_EQ(results.by_id.count(3), 0u);  // never answered through done
}

TEST_F(BatcherTest, TimedOutRequestsAreRejected) {
  ManualClock clock;
  BatcherOptions o = dynamic();
  o.queue.default_timeout = 1ms;
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, clock);
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  ASSERT_TRUE(b->enqueue(work(1, 1, 1, results)).isOk());
  clock.advance(1ms);  // request 1 reaches its deadline while the instance is busy
  ASSERT_TRUE(b->enqueue(work(2, 2, 1, results)).isOk());  // fresh
  gate_.release();
  ASSERT_TRUE(results.wait(3));
  EXPECT_TRUE(results.by_id[0].status.isOk());
  EXPECT_EQ(results.by_id[1].status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(results.by_id[1].status.message(), "Request timeout expired");
  EXPECT_TRUE(results.by_id[2].status.isOk());
}

TEST_F(BatcherTest, RequestTimeoutOverrideOnlyWhenAllowed) {
  ManualClock clock;
  BatcherOptions o = dynamic();
  o.warmup_batch_sizes = {};
  o.queue.allow_timeout_override = false;
  auto b = make(std::move(o), 1, clock);
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  ASSERT_TRUE(b->enqueue(work(1, 1, 1, results, 1ms)).isOk());
  clock.advance(5ms);
  gate_.release();
  ASSERT_TRUE(results.wait(2));
  EXPECT_TRUE(results.by_id[1].status.isOk());  // the request's own timeout was ignored
}

TEST_F(BatcherTest, DelayActionMovesExpiredRequestsBehindTheOthers) {
  ManualClock clock;
  BatcherOptions o;
  o.policy = {true, 1, {}, Duration::zero()};  // one request per batch: order is visible
  o.queue.timeout_action = TimeoutAction::kDelay;
  o.queue.allow_timeout_override = true;
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, clock, /*max_batch_size=*/1);
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 10, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  ASSERT_TRUE(b->enqueue(work(1, 20, 1, results, 1ms)).isOk());  // will time out: delayed
  ASSERT_TRUE(b->enqueue(work(2, 30, 1, results)).isOk());
  clock.advance(2ms);
  gate_.release();
  ASSERT_TRUE(results.wait(3));
  for (auto& [id, r] : results.by_id) EXPECT_TRUE(r.status.isOk()) << id;
  std::lock_guard<std::mutex> l(gate_.mu);
  EXPECT_EQ(gate_.first_values, (std::vector<float>{10, 30, 20}));
}

TEST_F(BatcherTest, WarmUpRunsEveryPreferredSizeOnEveryInstanceBeforeReady) {
  gate_.close();
  BatcherOptions o = dynamic(Duration::zero(), {2, 4});
  o.warmup_batch_sizes = {1, 2, 4};
  auto b = make(std::move(o), 2, SteadyClock::instance());
  ASSERT_TRUE(gate_.waitExecuting(2));  // both instances are in their first warm-up batch
  EXPECT_FALSE(b->ready());
  gate_.release();
  ASSERT_TRUE(b->waitLoaded(10s));
  EXPECT_TRUE(b->ready());
  std::lock_guard<std::mutex> l(gate_.mu);
  std::multiset<int64_t> sizes(gate_.batch_rows.begin(), gate_.batch_rows.end());
  EXPECT_EQ(sizes, (std::multiset<int64_t>{1, 1, 2, 2, 4, 4}));
  EXPECT_EQ(gate_.instances_seen, (std::set<int>{0, 1}));
}

TEST_F(BatcherTest, LoadFailureIsReportedAndRefusesWork) {
  fail_load_ = true;
  auto b = make(dynamic(), 2, SteadyClock::instance());
  EXPECT_FALSE(b->waitLoaded(10s));
  EXPECT_FALSE(b->ready());
  EXPECT_NE(b->loadStatus().message().find("no weights"), std::string::npos);
  Results results;
  EXPECT_EQ(b->enqueue(work(0, 0, 1, results)).code(), StatusCode::kUnavailable);
}

TEST_F(BatcherTest, BackendErrorFailsEveryRequestOfTheBatch) {
  BatcherOptions o = dynamic();
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  ASSERT_TRUE(b->enqueue(work(1, 1, 1, results)).isOk());
  ASSERT_TRUE(b->enqueue(work(2, 2, 1, results)).isOk());
  {
    std::lock_guard<std::mutex> l(gate_.mu);
    gate_.fail = true;
  }
  gate_.release();
  ASSERT_TRUE(results.wait(3));
  for (auto& [id, r] : results.by_id) {
    EXPECT_EQ(r.status.code(), StatusCode::kInternal) << id;
    EXPECT_NE(r.status.message().find("boom"), std::string::npos);
  }
}

TEST_F(BatcherTest, WrongOutputShapeFromTheBackendIsAnError) {
  BatcherOptions o = dynamic();
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  {
    std::lock_guard<std::mutex> l(gate_.mu);
    gate_.bad_shape = true;
  }
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 2, results)).isOk());
  ASSERT_TRUE(results.wait(1));
  EXPECT_EQ(results.by_id[0].status.code(), StatusCode::kInternal);
  EXPECT_NE(results.by_id[0].status.message().find("for a batch of 2"), std::string::npos);
}

TEST_F(BatcherTest, DrainRunsQueuedWorkWithoutWaitingForTheDelay) {
  ManualClock clock;  // frozen: the 1 s batch delay can only end by draining
  BatcherOptions o = dynamic(1s);
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, clock);
  ASSERT_TRUE(b->waitLoaded(10s));
  Results results;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(b->enqueue(work(i, static_cast<float>(i), 1, results)).isOk());
  EXPECT_EQ(b->queueLength(), 3u);
  b->drainAndStop();
  ASSERT_TRUE(results.wait(3));
  for (auto& [id, r] : results.by_id) EXPECT_TRUE(r.status.isOk()) << id;
  EXPECT_EQ(b->enqueue(work(9, 9, 1, results)).code(), StatusCode::kUnavailable);
  std::lock_guard<std::mutex> l(gate_.mu);
  EXPECT_EQ(gate_.batch_rows, (std::vector<int64_t>{3}));
}

TEST_F(BatcherTest, UnwantedOutputsAreLeftEmpty) {
  BatcherOptions o = dynamic();
  o.warmup_batch_sizes = {};
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  Results results;
  auto w = work(0, 4, 1, results);
  w->outputs_wanted = {false, true};
  ASSERT_TRUE(b->enqueue(std::move(w)).isOk());
  ASSERT_TRUE(results.wait(1));
  EXPECT_EQ(results.by_id[0].outputs[0].dtype(), DataType::kInvalid);
  EXPECT_EQ(results.by_id[0].outputs[1].elementCount(), 1);
}

// Triton's phases: queue (enqueue → the batch starts), compute input (stacking), compute infer
// (execute), compute output (slicing); every request of a batch carries its batch's times, and
// on_batch sees them before any request of the batch is answered.
TEST_F(BatcherTest, ReportsQueueAndComputePhasesPerRequestAndPerBatch) {
  ManualClock clock;
  gate_.clock = &clock;
  gate_.execute_time = 7ms;
  std::mutex mu;
  std::vector<BatchStats> batches;
  std::vector<size_t> answered_before;  // results already delivered when on_batch ran
  Results results;
  BatcherOptions o = dynamic();
  o.on_batch = [&](const BatchStats& b) {
    std::lock_guard<std::mutex> l(mu);
    batches.push_back(b);
    std::lock_guard<std::mutex> r(results.mu);
    answered_before.push_back(results.by_id.size());
  };
  auto b = make(std::move(o), 1, clock);
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(b->enqueue(work(i, static_cast<float>(i), 2, results)).isOk());
  }
  clock.advance(2ms);  // batch 0 is held 2 ms, then executes for 7 ms
  gate_.release();
  ASSERT_TRUE(results.wait(4));
  b->drainAndStop();

  const WorkResult& first = results.by_id.at(0);
  EXPECT_EQ(first.queue_time, 0ms);
  EXPECT_EQ(first.compute_input_time, 0ms);  // the manual clock does not move while stacking
  EXPECT_EQ(first.compute_time, 9ms);
  EXPECT_EQ(first.compute_output_time, 0ms);
  EXPECT_EQ(first.batch_rows, 1);
  for (int i = 1; i <= 3; ++i) {
    const WorkResult& r = results.by_id.at(i);
    ASSERT_TRUE(r.status.isOk()) << r.status.message();
    EXPECT_EQ(r.queue_time, 9ms) << i;  // queued at batch 0's start, run at its end
    EXPECT_EQ(r.compute_time, 7ms) << i;
    EXPECT_EQ(r.batch_rows, 6) << i;
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].rows, 1);
  EXPECT_EQ(batches[0].requests, 1u);
  EXPECT_EQ(batches[0].compute_time, 9ms);
  EXPECT_EQ(batches[1].rows, 6);
  EXPECT_EQ(batches[1].requests, 3u);
  EXPECT_EQ(batches[1].compute_time, 7ms);
  EXPECT_TRUE(batches[1].ok);
  EXPECT_EQ(answered_before, (std::vector<size_t>{0, 1}));
}

TEST_F(BatcherTest, StackingAndSlicingAreTimedApartFromExecution) {
  std::mutex mu;
  std::vector<BatchStats> batches;
  BatcherOptions o = dynamic();
  o.on_batch = [&](const BatchStats& b) {
    std::lock_guard<std::mutex> l(mu);
    batches.push_back(b);
  };
  auto b = make(std::move(o), 1, SteadyClock::instance());
  ASSERT_TRUE(b->waitLoaded(10s));
  gate_.close();
  Results results;
  ASSERT_TRUE(b->enqueue(work(0, 0, 1, results)).isOk());
  ASSERT_TRUE(gate_.waitExecuting(1));
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(b->enqueue(work(i, static_cast<float>(i), 2, results)).isOk());
  }
  gate_.release();
  ASSERT_TRUE(results.wait(5));
  b->drainAndStop();
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(batches.size(), 2u);
  // Four requests stacked into one batch of 8 rows, then sliced back: both take time.
  EXPECT_EQ(batches[1].rows, 8);
  EXPECT_GT(batches[1].compute_input_time, 0ns);
  EXPECT_GT(batches[1].compute_output_time, 0ns);
  EXPECT_GT(batches[1].compute_time, 0ns);
  for (int i = 1; i <= 4; ++i) {
    const WorkResult& r = results.by_id.at(i);
    EXPECT_EQ(r.compute_input_time, batches[1].compute_input_time);
    EXPECT_EQ(r.compute_time, batches[1].compute_time);
    EXPECT_EQ(r.compute_output_time, batches[1].compute_output_time);
  }
}

TEST(BatcherOptionsFor, FollowsTheConfig) {
  ModelConfig c;
  c.spec = fakeSpec(16);
  EXPECT_FALSE(batcherOptionsFor(c).policy.dynamic);
  EXPECT_EQ(batcherOptionsFor(c).warmup_batch_sizes, (std::vector<int64_t>{1, 16}));
  DynamicBatchingConfig d;
  d.preferred_batch_sizes = {4, 8};
  d.max_queue_delay = 100us;
  d.queue_policy.max_queue_size = 7;
  c.dynamic_batching = d;
  BatcherOptions o = batcherOptionsFor(c);
  EXPECT_TRUE(o.policy.dynamic);
  EXPECT_EQ(o.policy.max_batch_size, 16);
  EXPECT_EQ(o.policy.max_queue_delay, 100us);
  EXPECT_EQ(o.queue.max_queue_size, 7u);
  EXPECT_EQ(o.warmup_batch_sizes, (std::vector<int64_t>{1, 4, 8}));
}

}  // namespace
}  // namespace surge::serving
