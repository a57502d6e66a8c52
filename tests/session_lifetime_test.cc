// The gateway's event loop must never dispatch to a freed session, even when the kernel reports
// events for a socket the gateway has closed. That happens whenever another descriptor still
// refers to the socket (a forked child that inherited it, a dup): the epoll registration belongs
// to the open file description and outlives close(). This test creates exactly that situation in
// process: it duplicates every socket of the process (the gateway's session sockets included)
// while the gateway closes idle sessions under load, then makes the closed sockets readable.
// Before the fix (no EPOLL_CTL_DEL, epoll data.ptr = the Session) the worker called onIo() on
// freed sessions: a crash (SIGSEGV) in a normal build, heap-use-after-free under ASan.
// In-process: an in-process upstream (net::HttpServer) and Gateway on 127.0.0.1 port 0.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "gateway/cluster.h"
#include "gateway/gateway.h"
#include "metrics/registry.h"
#include "net/asio.h"
#include "net/http_server.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;
using surge::testing::connectTo;
using surge::testing::readFor;
using surge::testing::sendAll;
using surge::testing::waitUntil;

// dup()s every socket descriptor of this process; returns the copies.
std::vector<int> dupAllSockets() {
  std::vector<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int dir_fd = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dir_fd) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) fds.push_back(fd);
  }
  ::closedir(d);
  std::vector<int> copies;
  for (int fd : fds) {
    int c = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (c >= 0) copies.push_back(c);
  }
  return copies;
}

std::string request() { return "GET / HTTP/1.1\r\nHost: t\r\n\r\n"; }

// Socket inodes of this process's descriptors (a socket dup()ed twice counts twice).
std::multiset<unsigned long> socketInodes() {
  std::multiset<unsigned long> inodes;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return inodes;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char link[64] = {};
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
    unsigned long inode = 0;
    if (n > 0 && std::sscanf(link, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
  }
  ::closedir(d);
  return inodes;
}

// Inodes of the server side of the established connections to `server_port`, by client port
// (IPv4 /proc/net/tcp, read once). Established only: loopback reuses a client port while an older
// connection's server side still lingers (CLOSE_WAIT, kept by a dup of an earlier round), and
// mapping the port to that socket would wait for a session that is not this round's.
std::map<unsigned, unsigned long> serverSideInodes(int server_port) {
  std::map<unsigned, unsigned long> out;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    unsigned la, lp, ra, rp, st, tx, rx, tr, tm, retr, uid, timeout;
    unsigned long inode = 0;
    int sl;
    if (std::sscanf(line.c_str(), " %d: %x:%x %x:%x %x %x:%x %x:%x %x %u %u %lu", &sl, &la, &lp,
                    &ra, &rp, &st, &tx, &rx, &tr, &tm, &retr, &uid, &timeout, &inode) == 14 &&
        static_cast<int>(lp) == server_port && inode != 0 && st == 0x01 /* ESTABLISHED */) {
      out[rp] = inode;
    }
  }
  return out;
}

unsigned localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

TEST(SessionLifetime, StaleEventsForClosedSessionsAreNeverDispatched) {
  setLogLevel(LogLevel::kError);
  net::asio::io_context up_io{1};
  auto up = std::make_unique<net::HttpServer>(up_io, [](const net::HttpRequest&) {
    return net::HttpResponse::json(200, "{\"ok\":true}");
  });
  ASSERT_TRUE(up->listen("127.0.0.1:0").isOk());
  std::thread up_thread([&] {
    auto guard = net::asio::make_work_guard(up_io);
    up_io.run();
  });

  Cluster cluster(ClusterOptions{}, SteadyClock::instance());
  ASSERT_TRUE(cluster.addHost(BackendSpec{"127.0.0.1:" + std::to_string(up->port()), 1, ""}).isOk());
  GatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.admin.listen = "";
  options.workers = 1;
  options.balancer.algorithm = "round_robin";
  options.seed = 1;
  options.idle_timeout = 150ms;  // the gateway closes idle sessions itself, under our feet
  metrics::Registry registry;
  Gateway gw(options, cluster, registry);
  ASSERT_TRUE(gw.start().isOk());
  std::thread gw_thread([&] { gw.run(); });
  const uint16_t port = gw.port();

  // Background load: new connections all the time, so freed session memory is reused.
  // Paced (about 1,000 connections/s at most): unpaced, it took a whole core of a 2-core CI
  // machine from the gateway's worker, which then missed the idle-close wait below.
  std::atomic<bool> stop{false};
  std::atomic<int> load_ok{0};
  std::thread load([&] {
    while (!stop.load()) {
      int fd = connectTo(port);
      if (fd < 0) continue;
      if (sendAll(fd, request()) && readFor(fd, 1s, "ok").find("200 OK") != std::string::npos) {
        ++load_ok;
      }
      ::close(fd);
      std::this_thread::sleep_for(1ms);
    }
  });
  // Stops every thread on any exit, a failed ASSERT included (a joinable std::thread destroyed
  // by an early return aborts the test binary instead of reporting the failure).
  struct Teardown {
    std::function<void()> fn;
    ~Teardown() { fn(); }
  } teardown{[&] {
    stop = true;
    if (load.joinable()) load.join();
    gw.requestShutdown();
    if (gw_thread.joinable()) gw_thread.join();
    up_io.stop();
    if (up_thread.joinable()) up_thread.join();
  }};

  constexpr int kRounds = 6;
  constexpr int kClients = 40;
  for (int round = 0; round < kRounds; ++round) {
    // Sessions that answered one request and now sit idle in the gateway.
    std::vector<int> clients;
    for (int i = 0; i < kClients; ++i) {
      int fd = connectTo(port);
      ASSERT_GE(fd, 0);
      ASSERT_TRUE(sendAll(fd, request()));
      ASSERT_NE(readFor(fd, 2s, "ok").find("200 OK"), std::string::npos);
      clients.push_back(fd);
    }
    std::vector<unsigned long> sessions;
    const auto by_client_port = serverSideInodes(port);
    for (int c : clients) {
      auto it = by_client_port.find(localPort(c));
      if (it != by_client_port.end()) sessions.push_back(it->second);
    }
    // Keep every socket of the process alive elsewhere (as a forked replica did).
    std::vector<int> copies = dupAllSockets();
    // The gateway closes the idle sessions (its descriptors; the sockets live on in `copies`):
    // wait until each session socket is held by its copy alone.
    ASSERT_TRUE(waitUntil(
        [&] {
          auto held = socketInodes();
          for (unsigned long inode : sessions) {
            if (held.count(inode) > 1) return false;
          }
          return true;
        },
        20s, 10ms, "the gateway closed its idle sessions (idle timeout 150 ms)"))
        << [&] {  // which sessions stayed open, for the next reader of a failure
             auto held = socketInodes();
             std::string open;
             for (unsigned long inode : sessions) {
               if (held.count(inode) > 1) open += " " + std::to_string(inode);
             }
             return "round " + std::to_string(round) + ": " + std::to_string(sessions.size()) +
                    " sessions, still held twice:" + open + "; gateway sessions now " +
                    std::to_string(serverSideInodes(port).size());
           }();
    // Make every one of those sockets readable, and hang up on half of them: each is an event
    // for a session the gateway has freed.
    for (size_t i = 0; i < clients.size(); ++i) {
      sendAll(clients[i], request());
      if (i % 2 == 0) ::shutdown(clients[i], SHUT_WR);
    }
    // Windows for the worker to receive those events (a use-after-free would crash in them): the
    // check is the absence of a crash, so these are fixed on purpose.
    std::this_thread::sleep_for(50ms);
    for (int fd : clients) ::close(fd);
    std::this_thread::sleep_for(50ms);
    for (int fd : copies) ::close(fd);
  }

  stop = true;
  load.join();
  // Still alive and serving.
  int fd = connectTo(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, request()));
  EXPECT_NE(readFor(fd, 2s, "ok").find("200 OK"), std::string::npos);
  ::close(fd);
  EXPECT_GT(load_ok.load(), 0);
}

}  // namespace
}  // namespace surge::gateway
