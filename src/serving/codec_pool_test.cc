#include "serving/codec_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace surge::serving {
namespace {

using namespace std::chrono_literals;

TEST(CodecPool, RunsJobsOnItsOwnThreads) {
  CodecPool pool({.threads = 2, .max_jobs = 8, .max_queued_bytes = 1024});
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(pool.trySubmit([&] { ran.set_value(std::this_thread::get_id()); }));
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(CodecPool, RefusesBeyondMaxJobsAndTakesMoreOnceOneEnds) {
  CodecPool pool({.threads = 1, .max_jobs = 2, .max_queued_bytes = 1 << 20});
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> done{0};
  auto blocked = [gate, &done] {
    gate.wait();
    done.fetch_add(1);
  };
  ASSERT_TRUE(pool.trySubmit(blocked));   // running
  ASSERT_TRUE(pool.trySubmit(blocked));   // queued
  EXPECT_FALSE(pool.trySubmit(blocked));  // full: the caller answers 503
  EXPECT_EQ(pool.pending(), 2u);
  release.set_value();
  for (int i = 0; i < 500 && pool.pending() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done.load(), 2);
  EXPECT_TRUE(pool.trySubmit([] {}));
}

TEST(CodecPool, BoundsTheBytesHeldByQueuedJobs) {
  CodecPool pool({.threads = 1, .max_jobs = 100, .max_queued_bytes = 1000});
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.trySubmit(
      [gate, &started] {
        started.set_value();
        gate.wait();
      },
      10));  // running: its bytes no longer count
  started.get_future().wait();
  // A job over the budget is taken when the queue is empty (a body the server accepted is
  // never refused for its size alone), but nothing may queue behind it.
  EXPECT_TRUE(pool.trySubmit([] {}, 5000));
  EXPECT_FALSE(pool.trySubmit([] {}, 1));
  release.set_value();
}

TEST(CodecPool, StopDropsQueuedJobsFinishesRunningOnesAndRefusesNewOnes) {
  auto pool = std::make_unique<CodecPool>(CodecPoolOptions{.threads = 1, .max_jobs = 4});
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<bool> running_finished{false};
  auto token = std::make_shared<int>(0);  // held by the queued job: freed when it is dropped
  std::weak_ptr<int> watch = token;
  ASSERT_TRUE(pool->trySubmit([&, gate] {
    started.set_value();
    gate.wait();
    running_finished = true;
  }));
  started.get_future().wait();
  std::atomic<bool> queued_ran{false};
  ASSERT_TRUE(pool->trySubmit([&queued_ran, t = std::move(token)] { queued_ran = true; }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    release.set_value();
  });
  pool->stop();
  releaser.join();
  EXPECT_TRUE(running_finished.load());
  EXPECT_FALSE(queued_ran.load());
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(pool->trySubmit([] {}));
  pool->stop();  // idempotent
}

TEST(CodecPool, AJobThatThrowsDoesNotTakeThePoolDown) {
  CodecPool pool({.threads = 1, .max_jobs = 4});
  ASSERT_TRUE(pool.trySubmit([] { throw std::runtime_error("boom"); }));
  std::promise<void> ran;
  ASSERT_TRUE(pool.trySubmit([&] { ran.set_value(); }));
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace surge::serving
