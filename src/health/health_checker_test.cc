#include "health/health_checker.h"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace surge::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

// A tiny HTTP/1.1 upstream on 127.0.0.1, port 0.
class TestServer {
 public:
  enum class Mode {
    kRespond,      // reads the request, answers `status`, closes
    kHang,         // accepts, reads the request, never answers
    kCloseAtOnce,  // accepts and closes without a byte
    kGarbage,      // answers something that is not HTTP
  };

  TestServer(asio::io_context& io, Mode mode, int status = 200)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        mode_(mode),
        status_(status) {
    asio::co_spawn(io, acceptLoop(), asio::detached);
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  void setStatus(int status) { status_.store(status); }
  int accepted() const { return accepted_.load(); }
  std::string lastRequest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_request_;
  }

 private:
  asio::awaitable<void> acceptLoop() {
    for (;;) {
      error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      accepted_.fetch_add(1);
      asio::co_spawn(acceptor_.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    if (mode_ == Mode::kCloseAtOnce) co_return;
    error_code ec;
    std::string buffer;
    const size_t n =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_request_ = buffer.substr(0, n);
    }
    if (mode_ == Mode::kHang) {
      char byte;
      while (!ec) {  // until the checker gives up and closes
        co_await socket.async_read_some(asio::buffer(&byte, 1),
                                        asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return;
    }
    const std::string response =
        mode_ == Mode::kGarbage ? std::string("SSH-2.0-OpenSSH\r\n\r\n")
                                : "HTTP/1.1 " + std::to_string(status_.load()) +
                                      " Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(response),
                               asio::redirect_error(asio::use_awaitable, ec));
  }

  tcp::acceptor acceptor_;
  const Mode mode_;
  std::atomic<int> status_;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::string last_request_;
};

// A port nobody listens on: bound once, then closed.
std::string closedPortAddress() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return "127.0.0.1:" + std::to_string(port);
}

ActiveHealthOptions fastOptions() {
  ActiveHealthOptions o;
  o.interval = milliseconds(50);
  o.timeout = milliseconds(100);
  o.jitter = 0.1;
  return o;
}

lb::HostPtr makeHost(const std::string& address) {
  return std::make_shared<lb::Host>(address, 1, "");
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_thread_ = std::thread([this] { server_io_.run(); });
    for (int i = 0; i < 2; ++i) checker_threads_.emplace_back([this] { checker_io_.run(); });
  }

  void TearDown() override {
    server_work_.reset();
    checker_work_.reset();
    server_io_.stop();
    checker_io_.stop();
    server_thread_.join();
    for (auto& t : checker_threads_) t.join();
  }

  TestServer& addServer(TestServer::Mode mode, int status = 200) {
    servers_.push_back(std::make_unique<TestServer>(server_io_, mode, status));
    return *servers_.back();
  }

  HealthChecker::TransitionCallback recorder() {
    return [this](const lb::HostPtr& host, bool healthy) {
      std::lock_guard<std::mutex> lock(mutex_);
      transitions_.emplace_back(host->address(), healthy);
      cv_.notify_all();
    };
  }

  // Waits (bounded) until pred() holds; re-evaluated on every transition and every 5 ms.
  bool waitFor(const std::function<bool()>& pred, milliseconds timeout = milliseconds(2000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, milliseconds(5));
    }
    return true;
  }

  // Posts one task per checker thread; each waits (bounded) until both run, so both threads have
  // finished every handler queued before. False if that did not happen within 2 s.
  bool bothCheckerThreadsPassed() {
    struct State {
      std::mutex m;
      std::condition_variable cv;
      int arrived = 0;
      int done = 0;
    };
    auto st = std::make_shared<State>();  // outlives a timed-out wait below
    for (int i = 0; i < 2; ++i) {
      asio::post(checker_io_, [st] {
        std::unique_lock<std::mutex> lock(st->m);
        ++st->arrived;
        st->cv.notify_all();
        st->cv.wait_for(lock, std::chrono::seconds(2), [&] { return st->arrived == 2; });
        ++st->done;
        st->cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(st->m);
    st->cv.wait_for(lock, std::chrono::seconds(3), [&] { return st->done == 2; });
    return st->arrived == 2 && st->done == 2;
  }

  std::vector<std::pair<std::string, bool>> transitions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return transitions_;
  }
  size_t transitionCountLocked() const { return transitions_.size(); }

  asio::io_context server_io_;
  asio::io_context checker_io_;
  asio::executor_work_guard<asio::io_context::executor_type> server_work_ =
      asio::make_work_guard(server_io_);
  asio::executor_work_guard<asio::io_context::executor_type> checker_work_ =
      asio::make_work_guard(checker_io_);
  std::thread server_thread_;
  std::vector<std::thread> checker_threads_;
  std::vector<std::unique_ptr<TestServer>> servers_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, bool>> transitions_;  // guarded by mutex_
};

uint64_t probesOf(const HealthChecker& checker, const lb::Host& host) {
  auto stats = checker.hostStats(host);
  return stats ? stats->probes : 0;
}

TEST_F(HealthCheckerTest, MarksEachKindOfHostRight) {
  TestServer& ok = addServer(TestServer::Mode::kRespond, 200);
  TestServer& failing = addServer(TestServer::Mode::kRespond, 503);
  TestServer& hung = addServer(TestServer::Mode::kHang);
  auto ok_host = makeHost(ok.address());
  auto failing_host = makeHost(failing.address());
  auto hung_host = makeHost(hung.address());
  auto closed_host = makeHost(closedPortAddress());

  HealthChecker checker(checker_io_, fastOptions(), recorder(), SteadyClock::instance(), 1);
  checker.setHosts({ok_host, failing_host, hung_host, closed_host});
  // Three fall transitions: 503 and refused after ~3 intervals, the hung one after ~3 timeouts.
  ASSERT_TRUE(waitFor([&] { return transitionCountLocked() >= 3; }));
  ASSERT_TRUE(waitFor([&] { return probesOf(checker, *ok_host) >= 3; }));

  EXPECT_TRUE(ok_host->healthy());
  EXPECT_FALSE(failing_host->healthy());
  EXPECT_FALSE(hung_host->healthy());
  EXPECT_FALSE(closed_host->healthy());
  for (const auto& [address, healthy] : transitions()) {
    EXPECT_FALSE(healthy) << address;
    EXPECT_NE(address, ok_host->address());
  }

  const auto ok_stats = checker.hostStats(*ok_host);
  ASSERT_TRUE(ok_stats.has_value());
  EXPECT_EQ(ok_stats->failures, 0u);
  EXPECT_EQ(ok_stats->last_result, ProbeResult::kPass);
  EXPECT_EQ(checker.hostStats(*failing_host)->last_result, ProbeResult::kBadStatus);
  EXPECT_EQ(checker.hostStats(*failing_host)->last_detail, "status 503");
  EXPECT_EQ(checker.hostStats(*hung_host)->last_result, ProbeResult::kTimeout);
  EXPECT_EQ(checker.hostStats(*closed_host)->last_result, ProbeResult::kConnectError);
  EXPECT_EQ(checker.hostStats(*closed_host)->last_detail, "connect refused");

  const HealthCheckerStats stats = checker.stats();
  EXPECT_EQ(stats.became_unhealthy, 3u);
  EXPECT_EQ(stats.became_healthy, 0u);
  EXPECT_GE(stats.probesOf(ProbeResult::kPass), 3u);
  EXPECT_GE(stats.probesOf(ProbeResult::kBadStatus), 3u);
  EXPECT_GE(stats.probesOf(ProbeResult::kTimeout), 3u);
  EXPECT_GE(stats.probesOf(ProbeResult::kConnectError), 3u);

  EXPECT_EQ(ok.lastRequest(), "GET /v2/health/ready HTTP/1.1\r\nHost: " + ok.address() +
                                  "\r\nConnection: close\r\nUser-Agent: surge-health\r\n\r\n");
}

TEST_F(HealthCheckerTest, HostRecoversAfterRisePasses) {
  TestServer& server = addServer(TestServer::Mode::kRespond, 503);
  auto host = makeHost(server.address());
  ManualClock clock;
  HealthChecker checker(checker_io_, fastOptions(), recorder(), clock, 2);
  checker.setHosts({host});
  ASSERT_TRUE(waitFor([&] { return transitionCountLocked() >= 1; }));
  EXPECT_FALSE(host->healthy());
  EXPECT_FALSE(host->eligible(clock.now()));
  clock.advance(std::chrono::seconds(5));
  server.setStatus(204);
  ASSERT_TRUE(waitFor([&] { return transitionCountLocked() >= 2; }));
  EXPECT_TRUE(host->healthy());
  EXPECT_EQ(host->healthySince(), clock.now());
  const std::vector<std::pair<std::string, bool>> want = {{host->address(), false},
                                                          {host->address(), true}};
  EXPECT_EQ(transitions(), want);
  EXPECT_EQ(checker.hostStats(*host)->consecutive_passes, 2);
}

TEST_F(HealthCheckerTest, InitiallyUnhealthyHostWaitsForRise) {
  TestServer& server = addServer(TestServer::Mode::kRespond, 200);
  auto host = makeHost(server.address());
  ActiveHealthOptions options = fastOptions();
  options.initially_healthy = false;
  HealthChecker checker(checker_io_, options, recorder(), SteadyClock::instance(), 3);
  checker.setHosts({host});
  EXPECT_FALSE(host->healthy());  // set before the first probe can run
  ASSERT_TRUE(waitFor([&] { return transitionCountLocked() >= 1; }));
  EXPECT_TRUE(host->healthy());
  EXPECT_GE(checker.hostStats(*host)->passes, 2u);
  EXPECT_EQ(checker.stats().became_healthy, 1u);
}

TEST_F(HealthCheckerTest, BadAnswersFail) {
  TestServer& closer = addServer(TestServer::Mode::kCloseAtOnce);
  TestServer& garbage = addServer(TestServer::Mode::kGarbage);
  auto closer_host = makeHost(closer.address());
  auto garbage_host = makeHost(garbage.address());
  HealthChecker checker(checker_io_, fastOptions(), recorder(), SteadyClock::instance(), 4);
  checker.setHosts({closer_host, garbage_host});
  ASSERT_TRUE(waitFor([&] { return transitionCountLocked() >= 2; }));
  EXPECT_FALSE(closer_host->healthy());
  EXPECT_FALSE(garbage_host->healthy());
  EXPECT_EQ(checker.hostStats(*closer_host)->last_result, ProbeResult::kIoError);
  EXPECT_EQ(checker.hostStats(*garbage_host)->last_result, ProbeResult::kBadResponse);
}

// The hung host holds each of its probes for the whole 400 ms timeout; the healthy host must
// still be probed every ~50 ms meanwhile. A checker that probed hosts one after another would
// manage about two probes of the healthy host per second.
TEST_F(HealthCheckerTest, HungHostDoesNotDelayOthers) {
  TestServer& ok = addServer(TestServer::Mode::kRespond, 200);
  TestServer& hung = addServer(TestServer::Mode::kHang);
  auto ok_host = makeHost(ok.address());
  auto hung_host = makeHost(hung.address());
  ActiveHealthOptions options = fastOptions();
  options.timeout = milliseconds(400);
  HealthChecker checker(checker_io_, options, recorder(), SteadyClock::instance(), 5);
  checker.setHosts({hung_host, ok_host});
  ASSERT_TRUE(waitFor([&] { return hung.accepted() >= 1; }));  // a probe is hanging now
  const uint64_t before = probesOf(checker, *ok_host);
  // Ten probes of the healthy host within one second (~20 expected at 50 ms; the bound leaves
  // room for a loaded machine and sanitizers); one after another it would manage about two.
  EXPECT_TRUE(waitFor([&] { return probesOf(checker, *ok_host) - before >= 10; },
                      milliseconds(1000)))
      << "probes of the healthy host in 1 s: " << probesOf(checker, *ok_host) - before;
  EXPECT_LE(probesOf(checker, *hung_host), 3u);  // its probes really hang for 400 ms each
  EXPECT_TRUE(ok_host->healthy());
}

TEST_F(HealthCheckerTest, RemovedHostIsNoLongerProbed) {
  TestServer& a = addServer(TestServer::Mode::kRespond, 200);
  TestServer& b = addServer(TestServer::Mode::kRespond, 200);
  auto host_a = makeHost(a.address());
  auto host_b = makeHost(b.address());
  HealthChecker checker(checker_io_, fastOptions(), recorder(), SteadyClock::instance(), 6);
  checker.setHosts({host_a, host_b});
  ASSERT_TRUE(waitFor([&] { return a.accepted() >= 2 && b.accepted() >= 2; }));
  checker.setHosts({host_b});
  EXPECT_FALSE(checker.hostStats(*host_a).has_value());
  // The kept host is the clock: once it has been probed again, a probe of `a` that was already
  // connecting has landed; then over three more probes of `b`, `a` gets none.
  int b_after = b.accepted();
  ASSERT_TRUE(waitFor([&] { return b.accepted() >= b_after + 1; }));
  const int a_after = a.accepted();
  b_after = b.accepted();
  ASSERT_TRUE(waitFor([&] { return b.accepted() >= b_after + 3; }))  // the kept host is probed
      << "b probed " << b.accepted() - b_after << " times";
  EXPECT_EQ(a.accepted(), a_after);
}

TEST_F(HealthCheckerTest, StopSilencesEverything) {
  TestServer& failing = addServer(TestServer::Mode::kRespond, 500);
  TestServer& hung = addServer(TestServer::Mode::kHang);
  auto failing_host = makeHost(failing.address());
  auto hung_host = makeHost(hung.address());
  auto checker = std::make_unique<HealthChecker>(checker_io_, fastOptions(), recorder(),
                                                 SteadyClock::instance(), 7);
  checker->setHosts({failing_host, hung_host});
  ASSERT_TRUE(waitFor([&] { return failing.accepted() >= 1 && hung.accepted() >= 1; }));
  checker->stop();
  const size_t transitions_at_stop = transitions().size();
  const int accepted_at_stop = failing.accepted();
  checker->setHosts({failing_host});  // a no-op once stopped
  // A second checker on another host is the clock: while it is probed six times (six intervals),
  // the stopped one must stay silent.
  TestServer& witness = addServer(TestServer::Mode::kRespond, 200);
  HealthChecker clock_checker(checker_io_, fastOptions(), nullptr, SteadyClock::instance(), 9);
  clock_checker.setHosts({makeHost(witness.address())});
  ASSERT_TRUE(waitFor([&] { return witness.accepted() >= 6; }));
  clock_checker.stop();
  EXPECT_EQ(transitions().size(), transitions_at_stop);
  EXPECT_LE(failing.accepted(), accepted_at_stop + 1);  // at most one probe already connecting
  // Destroying the checker while its coroutines are still unwinding is safe.
  checker.reset();
}

TEST_F(HealthCheckerTest, DestroyWithProbesInFlight) {
  TestServer& hung = addServer(TestServer::Mode::kHang);
  auto host = makeHost(hung.address());
  ActiveHealthOptions options = fastOptions();
  options.timeout = std::chrono::seconds(10);
  {
    HealthChecker checker(checker_io_, options, recorder(), SteadyClock::instance(), 8);
    checker.setHosts({host});
    ASSERT_TRUE(waitFor([&] { return hung.accepted() >= 1; }));
  }
  // The cancelled probe unwinds on the io_context threads after the checker is gone: once both
  // threads are inside tasks posted after that, every handler queued before has run.
  ASSERT_TRUE(bothCheckerThreadsPassed());
  EXPECT_TRUE(transitions().empty());
  EXPECT_TRUE(host->healthy());
}

}  // namespace
}  // namespace surge::health
