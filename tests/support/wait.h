// Test support: waiting without fixed sleeps. A test that waits for something polls a predicate
// until it holds or a deadline passes, and fails with a message naming what it waited for; it
// never sleeps a fixed time and then asserts (docs/design/testing.md). Header-only.
// Thread-safety: free functions; the predicate runs on the calling thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace surge::testing {

// Polls `predicate` every `poll` until it returns true or `timeout` has passed (checked once more
// at the deadline). Use as ASSERT_TRUE(waitUntil(...)) << "context": on failure the message says
// how long it waited and for what (`what`, when given).
template <typename Predicate>
::testing::AssertionResult waitUntil(Predicate&& predicate, std::chrono::milliseconds timeout,
                                     std::chrono::milliseconds poll = std::chrono::milliseconds(20),
                                     const std::string& what = "") {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(poll);
  }
  if (predicate()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << (what.empty() ? std::string("condition") : what) << " not met within "
         << timeout.count() << " ms";
}

}  // namespace surge::testing
