#include "gateway/upstream_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "support/wait.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;
using surge::testing::waitUntil;

// A loopback listener; connects complete through the backlog without accept().
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int acceptOne() { return ::accept(fd_, nullptr, nullptr); }

 private:
  int fd_;
  uint16_t port_;
};

class Owner : public UpstreamOwner {
 public:
  void onUpstreamIo(UpstreamConn*, uint32_t) override { ++events; }
  int events = 0;
};

class UpstreamPoolTest : public ::testing::Test {
 protected:
  UpstreamPoolTest() : epoll_(::epoll_create1(EPOLL_CLOEXEC), /*owns=*/true) {}

  lb::HostSet setOf(std::vector<lb::HostPtr> hosts) {
    lb::HostSet s;
    s.hosts = std::move(hosts);
    s.weights.assign(s.hosts.size(), 1);
    return s;
  }
  // Delivers pending epoll events to their targets.
  void poll() {
    epoll_event ev[16];
    int n = ::epoll_wait(epoll_.fd(), ev, 16, 0);
    for (int i = 0; i < n; ++i) {
      if (IoTarget* t = epoll_.target(ev[i].data.u64)) t->onIo(ev[i].events);
    }
  }

  EpollSet epoll_;
  Listener listener_;
  Owner owner_;
  TimePoint t0_ = TimePoint(std::chrono::hours(1));
};

TEST_F(UpstreamPoolTest, ReusesTheWarmestIdleConnectionFirst) {
  UpstreamPool pool(epoll_, UpstreamPoolOptions{60s, 4096});
  auto host = std::make_shared<lb::Host>(listener_.address(), 1, "");
  pool.onSnapshot(setOf({host}));
  HostPool* p = pool.forHost(host.get());
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->resolved);
  int err = 0;
  UpstreamConn* a = pool.connect(p, &owner_, &err);
  UpstreamConn* b = pool.connect(p, &owner_, &err);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(pool.openCount(), 2);
  pool.putIdle(a, t0_);
  pool.putIdle(b, t0_ + 1s);
  EXPECT_EQ(pool.idleCount(), 2u);
  EXPECT_EQ(pool.takeIdle(p, &owner_), b);  // LIFO
  EXPECT_EQ(pool.takeIdle(p, &owner_), a);
  EXPECT_EQ(pool.takeIdle(p, &owner_), nullptr);
  pool.destroy(a);
  pool.destroy(b);
  pool.reap();
  EXPECT_EQ(pool.openCount(), 0);
}

TEST_F(UpstreamPoolTest, IdleTimeoutClosesTheOldestOnly) {
  UpstreamPool pool(epoll_, UpstreamPoolOptions{10s, 4096});
  auto host = std::make_shared<lb::Host>(listener_.address(), 1, "");
  pool.onSnapshot(setOf({host}));
  HostPool* p = pool.forHost(host.get());
  int err = 0;
  UpstreamConn* old_conn = pool.connect(p, &owner_, &err);
  UpstreamConn* new_conn = pool.connect(p, &owner_, &err);
  pool.putIdle(old_conn, t0_);
  pool.putIdle(new_conn, t0_ + 8s);
  pool.sweep(t0_ + 11s);
  pool.reap();
  EXPECT_EQ(pool.idleCount(), 1u);
  EXPECT_EQ(pool.takeIdle(p, &owner_), new_conn);
  pool.destroy(new_conn);
  pool.reap();
}

TEST_F(UpstreamPoolTest, BackendClosingAnIdleConnectionRemovesIt) {
  UpstreamPool pool(epoll_, UpstreamPoolOptions{60s, 4096});
  auto host = std::make_shared<lb::Host>(listener_.address(), 1, "");
  pool.onSnapshot(setOf({host}));
  HostPool* p = pool.forHost(host.get());
  int err = 0;
  UpstreamConn* c = pool.connect(p, &owner_, &err);
  ASSERT_NE(c, nullptr);
  int server_side = listener_.acceptOne();
  ASSERT_GE(server_side, 0);
  poll();  // connect/writable events go to the owner
  pool.putIdle(c, t0_);
  poll();  // a stale writable edge must not close it
  EXPECT_EQ(pool.idleCount(), 1u);
  ::close(server_side);  // the backend's keep-alive timeout
  EXPECT_TRUE(waitUntil(
      [&] {
        poll();
        return pool.idleCount() == 0;
      },
      2s, 1ms, "the closed idle connection removed"));
  pool.reap();
  EXPECT_EQ(pool.openCount(), 0);
}

TEST_F(UpstreamPoolTest, HostsLeavingTheSnapshotAreRetiredOnceUnused) {
  UpstreamPool pool(epoll_, UpstreamPoolOptions{60s, 4096});
  auto h1 = std::make_shared<lb::Host>(listener_.address(), 1, "");
  auto h2 = std::make_shared<lb::Host>("127.0.0.1:1", 1, "");
  pool.onSnapshot(setOf({h1, h2}));
  HostPool* p1 = pool.forHost(h1.get());
  int err = 0;
  UpstreamConn* idle = pool.connect(p1, &owner_, &err);
  UpstreamConn* busy = pool.connect(p1, &owner_, &err);
  pool.putIdle(idle, t0_);
  pool.acquire(p1);  // a session still uses the entry
  std::weak_ptr<lb::Host> weak = h1;
  pool.onSnapshot(setOf({h2}));  // h1 left the cluster
  h1.reset();
  pool.reap();
  EXPECT_EQ(pool.idleCount(), 0u);                      // its idle connection was closed at once
  ASSERT_NE(pool.forHost(weak.lock().get()), nullptr);  // still held: in use
  pool.putIdle(busy, t0_);                              // not reusable any more: closed
  pool.releaseUser(p1);
  pool.reap();
  EXPECT_TRUE(weak.expired());  // entry retired, Host released
  EXPECT_NE(pool.forHost(h2.get()), nullptr);
}

TEST_F(UpstreamPoolTest, DestroyedConnectionsLeaveTheEpollSet) {
  UpstreamPool pool(epoll_, UpstreamPoolOptions{60s, 4096});
  auto host = std::make_shared<lb::Host>(listener_.address(), 1, "");
  pool.onSnapshot(setOf({host}));
  int err = 0;
  UpstreamConn* c = pool.connect(pool.forHost(host.get()), &owner_, &err);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(epoll_.size(), 1u);
  int copy = ::dup(c->fd);  // another reference to the socket (as a forked child would hold)
  pool.destroy(c);
  pool.reap();
  EXPECT_EQ(epoll_.size(), 0u);
  int server_side = listener_.acceptOne();
  ASSERT_GE(server_side, 0);
  ::close(server_side);  // the socket (still open through `copy`) becomes readable
  // Witness: the socket is readable now (the FIN arrived), so a registration still in the epoll
  // set would have an event ready.
  pollfd readable{copy, POLLIN | POLLRDHUP, 0};
  ASSERT_EQ(::poll(&readable, 1, 2000), 1) << "the backend's FIN never arrived";
  epoll_event ev[4];
  EXPECT_EQ(::epoll_wait(epoll_.fd(), ev, 4, 50), 0);  // deregistered: no event at all
  ::close(copy);
}

// ---- EpollSet ----------------------------------------------------------------------------------

struct CountingTarget : IoTarget {
  void onIo(uint32_t) override { ++calls; }
  int calls = 0;
};

TEST(EpollSetTest, HandlesOfRemovedTargetsAreStaleEvenWhenTheSlotIsReused) {
  EpollSet set(::epoll_create1(EPOLL_CLOEXEC), true);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  CountingTarget a, b;
  uint64_t ha = set.add(sv[0], EPOLLIN, &a);
  ASSERT_NE(ha, EpollSet::kNoHandle);
  EXPECT_EQ(set.target(ha), &a);
  set.remove(sv[0], ha);
  EXPECT_EQ(set.target(ha), nullptr);
  uint64_t hb = set.add(sv[0], EPOLLIN, &b);  // same slot, next generation
  EXPECT_EQ(static_cast<uint32_t>(hb), static_cast<uint32_t>(ha));
  EXPECT_NE(hb, ha);
  EXPECT_EQ(set.target(ha), nullptr);
  EXPECT_EQ(set.target(hb), &b);
  set.remove(sv[0], hb);
  set.remove(sv[0], hb);  // idempotent: does not free the slot twice
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(set.target(12345), nullptr);  // never issued
  ::close(sv[0]);
  ::close(sv[1]);
}

// The kernel behaviour the handles guard against: close() does not remove a registration while
// another descriptor refers to the same socket, and its events keep arriving.
TEST(EpollSetTest, AStaleKernelEventIsDroppedNotDispatched) {
  EpollSet set(::epoll_create1(EPOLL_CLOEXEC), true);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  CountingTarget a;
  uint64_t h = set.add(sv[0], EPOLLIN | EPOLLET, &a);
  int copy = ::dup(sv[0]);
  // Forget the target without EPOLL_CTL_DEL (fd -1), then close: the registration survives.
  set.remove(-1, h);
  ::close(sv[0]);
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  epoll_event ev[4];
  int n = ::epoll_wait(set.fd(), ev, 4, 100);
  ASSERT_EQ(n, 1);  // the stale event does arrive...
  EXPECT_EQ(ev[0].data.u64, h);
  EXPECT_EQ(set.target(ev[0].data.u64), nullptr);  // ...and is not dispatched
  EXPECT_EQ(a.calls, 0);
  ::close(copy);
  ::close(sv[1]);
}

}  // namespace
}  // namespace surge::gateway
